"""Asset checks of the goal assets, run in the goals step right after the values are written.

- `account_or_line_exists`: what the goal tracks is still in the company's imported data
  (validate.data_issues against the catalog, the same issues that keep a goal out of the
  computation): the dataset is imported, the account exists
  and is active, the report line has rows. An error (gone, never imported) fails the check
  with severity ERROR; a warning (the account was made inactive or deleted in QuickBooks:
  the goal keeps its history) fails it with severity WARN.
- `ties_out`: for a goal that reads one figure of a report as it is (one account without
  sub-accounts, or one report line; month grain; window `period`; no filter), its latest
  actual equals the figure in marts.pnl_monthly (sum of the month) or
  marts.balance_sheet_monthly (balance at the month end), computed here by a separate query
  that does not share the goals SQL. Other goals have no such check: their values are
  aggregates with no single report figure to compare with.
"""

from __future__ import annotations

import duckdb
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
)

from qb_pipeline.goals.compute import LatestValue
from qb_pipeline.goals.lines import BALANCE_SHEET, PROFIT_AND_LOSS, line_parts
from qb_pipeline.goals.model import GoalDefinition
from qb_pipeline.goals.problems import ERROR, FieldIssue

ACCOUNT_OR_LINE_EXISTS = "account_or_line_exists"
TIES_OUT = "ties_out"

# Amounts are DECIMAL(18,2) in the marts and DOUBLE in goal_values: half a cent is equality.
TOLERANCE = 0.005

# Fields of a goal whose problems mean "what it tracks is not (or no longer) there".
TRACKED_FIELDS = ("organization", "dataset", "basis", "tracks")

# One figure of the month, straight from the marts: the P&L sums the month's amounts of the
# account (or of the line's report groups, signed as QuickBooks adds them); the balance sheet
# reads the balance at the month end (the report's end date: today, for the current month).
PNL_FIGURE_SQL = """
SELECT sum(p.amount * parts.sign)
FROM marts.pnl_monthly AS p
JOIN (SELECT unnest($groups) AS report_group, unnest($signs) AS sign) AS parts
    ON p.report_group = parts.report_group OR $account_id IS NOT NULL
WHERE p.org_id = $org_id
  AND ($realm_id IS NULL OR p.realm_id = $realm_id)
  AND p.basis = $basis
  AND p.month = $period_start
  AND ($account_id IS NULL OR p.account_id = $account_id)
"""

BALANCE_FIGURE_SQL = """
SELECT sum(b.balance * parts.sign)
FROM marts.balance_sheet_monthly AS b
JOIN (SELECT unnest($groups) AS report_group, unnest($signs) AS sign) AS parts
    ON b.report_group = parts.report_group OR $account_id IS NOT NULL
WHERE b.org_id = $org_id
  AND ($realm_id IS NULL OR b.realm_id = $realm_id)
  AND b.basis = $basis
  AND b.month_end BETWEEN $period_start AND $period_end  -- the current month ends today
  AND ($account_id IS NULL OR b.account_id = $account_id)
"""

FIGURE_SQL = {PROFIT_AND_LOSS: PNL_FIGURE_SQL, BALANCE_SHEET: BALANCE_FIGURE_SQL}


def ties_out_applies(goal: GoalDefinition) -> bool:
    """Whether the goal's value is one report figure as it is (see the module docstring)."""
    tracks = goal.tracks
    single_account = tracks.account is not None and not tracks.account.include_subaccounts
    return (
        goal.dataset in FIGURE_SQL
        and (single_account or tracks.line is not None)
        and goal.grain == "month"
        and goal.window == "period"
        and goal.filters is None
    )


def goal_check_specs(key: AssetKey, goals: list[GoalDefinition]) -> list[AssetCheckSpec]:
    """The checks of one goal asset (`goals` share its id, one per organization)."""
    specs = [
        AssetCheckSpec(
            ACCOUNT_OR_LINE_EXISTS,
            asset=key,
            description="The account or report line the goal tracks is still in the "
            "imported data, and the account is active.",
        )
    ]
    if any(ties_out_applies(g) for g in goals):
        specs.append(
            AssetCheckSpec(
                TIES_OUT,
                asset=key,
                description="The latest actual equals the month's figure in the marts "
                "(computed by a separate query).",
            )
        )
    return specs


def existence_result(key: AssetKey, issues: list[FieldIssue]) -> AssetCheckResult:
    """`account_or_line_exists` for one goal, from its data issues (validate.data_issues
    against the organization's catalog)."""
    issues = [issue for issue in issues if issue.field.split(".")[0] in TRACKED_FIELDS]
    errors = any(issue.severity == ERROR for issue in issues)
    return AssetCheckResult(
        asset_key=key,
        check_name=ACCOUNT_OR_LINE_EXISTS,
        passed=not issues,
        severity=AssetCheckSeverity.ERROR if errors else AssetCheckSeverity.WARN,
        metadata={
            "problems": MetadataValue.json([f"{i.field}: {i.message}" for i in issues]),
        },
    )


def report_figure(
    con: duckdb.DuckDBPyConnection,
    goal: GoalDefinition,
    latest: LatestValue,
    realm_id: str | None,
) -> float | None:
    """The marts' figure for the goal's latest period (None when the marts have no row)."""
    account = goal.tracks.account
    if account is not None:
        groups, signs = [""], [1]  # unused: the join keeps every row of the account
    else:
        parts = line_parts(goal.dataset, goal.tracks.line.group)
        groups, signs = list(parts), list(parts.values())
    params = {
        "org_id": goal.organization,
        "realm_id": realm_id,
        "basis": goal.basis,
        "account_id": account.account_id if account is not None else None,
        "groups": groups,
        "signs": signs,
    }
    params["period_start"] = latest.period_start
    if goal.dataset == BALANCE_SHEET:
        params["period_end"] = latest.period_end
    (figure,) = con.execute(FIGURE_SQL[goal.dataset], params).fetchone()
    return float(figure) if figure is not None else None


def ties_out_result(
    con: duckdb.DuckDBPyConnection,
    key: AssetKey,
    goal: GoalDefinition,
    latest: LatestValue | None,
    realm_id: str | None,
) -> AssetCheckResult | None:
    """`ties_out` for one goal, or None when the goal has no such check."""
    if not ties_out_applies(goal):
        return None
    if latest is None:
        return AssetCheckResult(
            asset_key=key,
            check_name=TIES_OUT,
            passed=True,
            metadata={"note": "the goal has no value yet"},
        )
    figure = report_figure(con, goal, latest, realm_id)
    actual = latest.actual
    if actual is None or figure is None:
        # No data on one side: ties out only if the other side is empty (or zero) too.
        passed = abs(actual or figure or 0.0) <= TOLERANCE
    else:
        passed = abs(actual - figure) <= TOLERANCE
    return AssetCheckResult(
        asset_key=key,
        check_name=TIES_OUT,
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "period_start": MetadataValue.text(latest.period_start.isoformat()),
            "goal_actual": MetadataValue.text(_text(actual)),
            "report_figure": MetadataValue.text(_text(figure)),
        },
    )


def _text(value: float | None) -> str:
    return "no data" if value is None else f"{value:.2f}"


__all__ = [
    "ACCOUNT_OR_LINE_EXISTS",
    "TIES_OUT",
    "existence_result",
    "goal_check_specs",
    "ties_out_applies",
    "ties_out_result",
]
