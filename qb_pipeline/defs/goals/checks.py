"""Asset checks of an organization's goal values, run in the goals step right after they are
written, one result per organization (the check specs carry the `organizations` partitions):

- `all_goals_computed`: every active goal of the connected company got values; a goal left
  out (what it tracks is gone from the imported data, a formula that cannot be planned) fails
  the check with ERROR and is named with the reason. Goals waiting for a review after a
  reconnect to another company are listed in the metadata (they are not active).
- `account_or_line_exists`: what each goal tracks is still in the company's imported data
  (validate.data_issues against the catalog, the same issues that keep a goal out of the
  computation). An error (gone, never imported) fails with ERROR; a warning (an account made
  inactive or deleted in QuickBooks: the goal keeps its history) fails with WARN.
- `ties_out`: for each goal that reads one figure of a report as it is (one account without
  sub-accounts, or one report line; month grain; window `period`; no filter), its latest
  actual equals the figure in marts.pnl_monthly (sum of the month) or
  marts.balance_sheet_monthly (balance at the month end), computed by a separate query that
  does not share the goals SQL. Goals of other kinds are aggregates with no single report
  figure to compare with; the metadata counts them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import duckdb
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    PreviewWarning,
)

from qb_pipeline.defs.keys import GOAL_VALUES
from qb_pipeline.defs.partitions import organizations
from qb_pipeline.goals.compute import LatestValue
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.lines import BALANCE_SHEET, PROFIT_AND_LOSS, line_parts
from qb_pipeline.goals.problems import ERROR, FieldIssue

ALL_GOALS_COMPUTED = "all_goals_computed"
ACCOUNT_OR_LINE_EXISTS = "account_or_line_exists"
TIES_OUT = "ties_out"

# Amounts are DECIMAL(18,2) in the marts and DOUBLE in goal_values: half a cent is equality.
TOLERANCE = 0.005

# Fields of a goal whose problems mean "what it tracks is not (or no longer) there".
TRACKED_FIELDS = ("organization", "dataset", "basis", "tracks", "filters")

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

DESCRIPTIONS = {
    ALL_GOALS_COMPUTED: "Every active goal of the organization's connected company got values.",
    ACCOUNT_OR_LINE_EXISTS: "What each goal tracks is still in the imported data, and its "
    "accounts are active.",
    TIES_OUT: "Each goal that reads one report figure as it is equals that figure in the "
    "marts for its latest period (computed by a separate query).",
}


def goal_check_specs() -> list[AssetCheckSpec]:
    """The goal checks, one result per organization partition. Partitioned checks are a
    preview in Dagster 1.13 that warns at every load; the project depends on them knowingly
    (as the health checks do), so that warning is silenced here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        return [
            AssetCheckSpec(name, asset=GOAL_VALUES, partitions_def=organizations, description=text)
            for name, text in DESCRIPTIONS.items()
        ]


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


def all_computed_result(
    active: Sequence[str], skipped: Mapping[str, str], needing_review: Sequence[str]
) -> AssetCheckResult:
    """`all_goals_computed` from the active goal ids and those left out (id -> why)."""
    return AssetCheckResult(
        asset_key=GOAL_VALUES,
        check_name=ALL_GOALS_COMPUTED,
        passed=not skipped,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "active_goals": MetadataValue.int(len(active)),
            "computed": MetadataValue.int(len(active) - len(skipped)),
            "not_computed": MetadataValue.json(dict(skipped)),
            "needs_review": MetadataValue.json(list(needing_review)),
        },
    )


def existence_result(issues: Mapping[str, list[FieldIssue]]) -> AssetCheckResult:
    """`account_or_line_exists` from each goal's data issues (validate.data_issues against
    the organization's catalog)."""
    tracked = {
        goal_id: [i for i in found if i.field.split(".")[0] in TRACKED_FIELDS]
        for goal_id, found in issues.items()
    }
    problems = {
        goal_id: [f"{i.field}: {i.message}" for i in found]
        for goal_id, found in sorted(tracked.items())
        if found
    }
    errors = any(i.severity == ERROR for found in tracked.values() for i in found)
    return AssetCheckResult(
        asset_key=GOAL_VALUES,
        check_name=ACCOUNT_OR_LINE_EXISTS,
        passed=not problems,
        severity=AssetCheckSeverity.ERROR if errors else AssetCheckSeverity.WARN,
        metadata={
            "goals_checked": MetadataValue.int(len(issues)),
            "problems": MetadataValue.json(problems),
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
        "period_start": latest.period_start,
    }
    if goal.dataset == BALANCE_SHEET:
        params["period_end"] = latest.period_end
    (figure,) = con.execute(FIGURE_SQL[goal.dataset], params).fetchone()
    return float(figure) if figure is not None else None


def tie_out(
    con: duckdb.DuckDBPyConnection,
    goal: GoalDefinition,
    latest: LatestValue | None,
    realm_id: str | None,
) -> dict[str, str] | None:
    """Why the goal does not tie out (period, actual, figure), or None when it does or has
    no value yet."""
    if latest is None:
        return None
    figure = report_figure(con, goal, latest, realm_id)
    actual = latest.actual
    if actual is None or figure is None:
        # No data on one side: ties out only if the other side is empty (or zero) too.
        passed = abs(actual or figure or 0.0) <= TOLERANCE
    else:
        passed = abs(actual - figure) <= TOLERANCE
    if passed:
        return None
    return {
        "period_start": latest.period_start.isoformat(),
        "goal_actual": _text(actual),
        "report_figure": _text(figure),
    }


def ties_out_result(
    con: duckdb.DuckDBPyConnection,
    goals: Sequence[GoalDefinition],
    latest: Mapping[str, LatestValue],
    realm_id: str | None,
) -> AssetCheckResult:
    """`ties_out` over the organization's computed goals."""
    applicable = [g for g in goals if ties_out_applies(g)]
    failures = {}
    for goal in applicable:
        failure = tie_out(con, goal, latest.get(goal.id), realm_id)
        if failure is not None:
            failures[goal.id] = failure
    return AssetCheckResult(
        asset_key=GOAL_VALUES,
        check_name=TIES_OUT,
        passed=not failures,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "goals_compared": MetadataValue.int(len(applicable)),
            "goals_without_one_figure": MetadataValue.int(len(goals) - len(applicable)),
            "failures": MetadataValue.json(failures),
        },
    )


def _text(value: float | None) -> str:
    return "no data" if value is None else f"{value:.2f}"


__all__ = [
    "ACCOUNT_OR_LINE_EXISTS",
    "ALL_GOALS_COMPUTED",
    "TIES_OUT",
    "all_computed_result",
    "existence_result",
    "goal_check_specs",
    "report_figure",
    "ties_out_applies",
    "ties_out_result",
]
