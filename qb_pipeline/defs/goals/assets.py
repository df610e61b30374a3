"""The goal assets: every QuickBooks Goal of an organization, computed in one step.

The asset graph has a fixed size, whatever the number of goals or organizations: goals are
data in the goal store (the control DB), read when a run computes them, never assets of their
own, so a goal created a second ago needs no code reload. One `@multi_asset`, partitioned by
organization, writes in one DuckDB transaction:

- `marts/goal_values`: the values of the organization's goals for its connected company, one
  row per goal and period (the BI view over goals.goal_values);
- `marts/goal_value_history`: a row for each goal period whose figures changed;
- `marts/goals`: the organization's goals as the store holds them (names, states, versions).

Its materialization carries what an analytics engineer looks for in the Dagster UI: goals
computed, status counts, the goal ids (and which were left out and why), and the
organization's goal table; its checks (checks.py) judge the same step per organization.

Before computing, the step brings the goals to the connected company (store.reconcile_realm:
a reconnect to another company sends goals that name accounts by id to needs_review). Goals
that cannot be computed against the imported data (what they track is gone) are left out and
named; one organization's goals never affect another's, each is its own partition and run.

Stale data: when the organization's connection is disconnected or needs reauthorization, the
step does not recompute: it flags the last known values `is_stale` with the reason and since
when (the disconnection, else now), and succeeds.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import duckdb
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    multi_asset,
)

from qb_pipeline.connections import IntegrationService
from qb_pipeline.connections.results import DISCONNECTED, REAUTHORIZATION_REQUIRED
from qb_pipeline.defs.goals.checks import (
    all_computed_result,
    existence_result,
    goal_check_specs,
    ties_out_result,
)
from qb_pipeline.defs.keys import (
    GOAL_CATALOG,
    GOAL_VALUE_HISTORY,
    GOAL_VALUES,
    GOALS_GROUP,
    MARTS_GOALS_READ,
)
from qb_pipeline.defs.partitions import organizations
from qb_pipeline.defs.resources import OrganizationWriter, QuickBooksIntegration
from qb_pipeline.defs.step_failures import failures_recorded
from qb_pipeline.goals.budgets import budgets_used
from qb_pipeline.goals.catalog import load_catalog
from qb_pipeline.goals.compute import ComputeResult, compute
from qb_pipeline.goals.problems import ERROR
from qb_pipeline.goals.store import ACTIVE, GoalStore, StoredGoal
from qb_pipeline.goals.validate import data_issues
from qb_pipeline.goals.workspace import goal_workspace
from qb_pipeline.warehouse.postgres import POSTGRES_ERRORS
from qb_pipeline.warehouse.writer import WarehouseBusy

# Kept importable under its old name for the health checks (defs/quickbooks).
GOAL_VALUES_KEY = GOAL_VALUES

# Connection states in which the data cannot be refreshed: goal values go stale.
STALE_STATES = (DISCONNECTED, REAUTHORIZATION_REQUIRED)

# Rows of the goal table shown in a materialization's metadata (all ids are in goal/ids).
TABLE_ROWS = 200

GOAL_VALUES_COLUMNS = {
    "org_id": "Organization (slug) the goal belongs to.",
    "realm_id": "QuickBooks company (realmId) the values were computed from.",
    "goal_id": "The goal's id, unique within the organization.",
    "goal_name": "The goal's name.",
    "period_start": "First day of the period (fiscal for quarters and years).",
    "period_end": "Last day of the period.",
    "actual": "The goal's value for the period (its window); null when there is no data.",
    "target": "The target for the period; null when the goal has none.",
    "status": "on_track, at_risk, off_track, no_target or no_data.",
    "currency": "Home currency of the company for amounts; null for ratios.",
    "is_stale": "True when the organization cannot refresh its data (values kept as they were).",
    "stale_reason": "Why the values are stale: disconnected or reauthorization_required.",
    "stale_since": "When the values went stale.",
    "computed_at": "When the values were computed.",
}
HISTORY_COLUMNS = {
    "org_id": "Organization (slug).",
    "realm_id": "QuickBooks company (realmId).",
    "goal_id": "The goal's id.",
    "as_of": "When the computation that saw these figures ran.",
    "period_start": "First day of the period.",
    "actual": "The period's actual as of then.",
    "target": "The period's target as of then.",
    "status": "The period's status as of then.",
}

ROWS_PER_GOAL_SQL = """
SELECT goal_id, count(*)
FROM goals.goal_values
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
GROUP BY goal_id
"""
HISTORY_ROWS_SQL = "SELECT count(*) FROM goals.goal_value_history WHERE org_id = $org_id"


def _spec(key: AssetKey, description: str, columns: dict[str, str], table: str) -> AssetSpec:
    return AssetSpec(
        key,
        group_name=GOALS_GROUP,
        description=description,
        deps=list(MARTS_GOALS_READ),
        kinds={"duckdb", "sql"},
        metadata={
            "dagster/table_name": table,
            "dagster/column_schema": TableSchema(
                columns=[TableColumn(name=n, description=t) for n, t in columns.items()]
            ),
        },
    )


GOAL_SPECS = [
    _spec(
        GOAL_VALUES,
        "Every QuickBooks Goal value of the organization's connected company, one row per "
        "goal and period (the BI view over goals.goal_values).",
        GOAL_VALUES_COLUMNS,
        "marts.goal_values",
    ),
    _spec(
        GOAL_VALUE_HISTORY,
        "What each goal period's figures were as of each computation that changed them "
        "(append-only; the latest row at or before a moment is the value then).",
        HISTORY_COLUMNS,
        "marts.goal_value_history",
    ),
    _spec(
        GOAL_CATALOG,
        "The organization's goals as the goal store holds them: names, states, versions "
        "and definitions, as of the last computation.",
        {"goal_id": "The goal's id.", "state": "active, archived or needs_review."},
        "marts.goals",
    ),
]


@multi_asset(
    name="goal_values",
    specs=GOAL_SPECS,
    check_specs=goal_check_specs(),
    partitions_def=organizations,
    description="Every QuickBooks Goal of the organization (its partition), from the goal "
    "store, computed in one set-based pass into goals.goal_values, its history and catalog.",
)
def goal_values(
    context: AssetExecutionContext,
    quickbooks: QuickBooksIntegration,
    org_writer: OrganizationWriter,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    # `org_writer` holds the organization's writer lock for the whole run (resources.py).
    yield from run_goals(context, quickbooks, context.partition_key)


def run_goals(
    context: AssetExecutionContext, quickbooks: QuickBooksIntegration, org: str
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Compute (or flag stale) every goal of `org`; yield the results and checks."""
    settings = quickbooks.settings()
    service = IntegrationService(settings)
    store = GoalStore(service.db)
    status = service.status(org)
    realm_id = status.realm_id
    stale_reason = status.status if status.status in STALE_STATES else None
    since = (status.disconnected_at or datetime.now(UTC)) if stale_reason else None
    for change in store.reconcile_realm(org, realm_id):
        context.log.warning(
            f"goal {change.goal.goal_id!r} of {org}: {change.change.replace('_', ' ')} "
            f"({change.goal.state_reason or 'company ' + str(realm_id)})"
        )
    stored = store.list(org)
    active = [s for s in stored if s.state == ACTIVE and s.realm_id == realm_id]
    kept = [s.goal_id for s in stored if s.state != ACTIVE]
    with (
        # Goals run after the import: a failure here leaves the sync's data in place.
        failures_recorded(
            context,
            service,
            status="partial",
            expected=(WarehouseBusy, duckdb.Error, *POSTGRES_ERRORS),
        ),
        goal_workspace(settings, org, quickbooks.lock_wait_seconds) as con,
    ):
        catalog = load_catalog(con, org, realm_id)
        issues = {s.goal_id: data_issues(s.definition, catalog) for s in active}
        skipped = {
            goal_id: "; ".join(f"{i.field}: {i.message}" for i in found if i.severity == ERROR)
            for goal_id, found in issues.items()
            if any(i.severity == ERROR for i in found)
        }
        computable = [s.definition for s in active if s.goal_id not in skipped]
        result = compute(
            con,
            org,
            computable,
            stale_reason,
            since,
            realm_id=realm_id,
            kept_goal_ids=kept,
            stored_goals=stored,
        )
        skipped.update(result.skipped)
        scope = {"org_id": org, "realm_id": realm_id}
        rows = dict(con.execute(ROWS_PER_GOAL_SQL, scope).fetchall())
        (history_rows,) = con.execute(HISTORY_ROWS_SQL, {"org_id": org}).fetchone()
        checks = [
            all_computed_result(
                [s.goal_id for s in active],
                skipped,
                [s.goal_id for s in stored if s.needs_review],
            ),
            existence_result(issues),
            ties_out_result(con, computable, result.latest, realm_id),
        ]
    _log_outcome(context, result, stale_reason, skipped)
    metadata = goal_values_metadata(result, stored, skipped, rows, realm_id)
    # Budget targets read the imported budget: naming it lets an engineer see which
    # budgets a run's targets came from (and which goals a budget change moves); a stale
    # run computes nothing, so it used none.
    used = budgets_used(computable, catalog.budgets) if not result.stale else {}
    metadata["goal/budgets"] = MetadataValue.json(used)
    yield MaterializeResult(asset_key=GOAL_VALUES, metadata=metadata)
    yield MaterializeResult(
        asset_key=GOAL_VALUE_HISTORY,
        metadata={
            "goal/history_rows_appended": MetadataValue.int(result.history_rows),
            "dagster/partition_row_count": MetadataValue.int(int(history_rows)),
        },
    )
    yield MaterializeResult(
        asset_key=GOAL_CATALOG,
        metadata={
            "dagster/partition_row_count": MetadataValue.int(len(stored)),
            **{
                f"goal/{state}": MetadataValue.int(sum(1 for s in stored if s.state == state))
                for state in ("active", "archived", "needs_review")
            },
        },
    )
    selected = context.selected_asset_check_keys
    yield from (c for c in checks if AssetCheckKey(GOAL_VALUES, c.check_name) in selected)


def goal_values_metadata(
    result: ComputeResult,
    stored: Sequence[StoredGoal],
    skipped: dict[str, str],
    rows: dict[str, int],
    realm_id: str | None,
) -> dict[str, MetadataValue]:
    """What the goal values' materialization shows for the organization."""
    return {
        "dagster/partition_row_count": MetadataValue.int(sum(rows.values())),
        "goal/computed": MetadataValue.int(result.goals),
        "goal/not_computed": MetadataValue.json(skipped),
        "goal/status_counts": MetadataValue.json(result.status_counts),
        "goal/pace_status_counts": MetadataValue.json(result.pace_status_counts),
        "goal/ids": MetadataValue.json({s.goal_id: s.state for s in stored}),
        "goal/is_stale": MetadataValue.bool(result.stale),
        "goal/realm_id": MetadataValue.text(realm_id or ""),
        "goal/table": MetadataValue.md(goal_table(result, stored, skipped)),
    }


def goal_table(result: ComputeResult, stored: Sequence[StoredGoal], skipped: dict[str, str]) -> str:
    """The organization's goals and their latest values, as a Markdown table."""
    lines = [
        "| goal | name | state | latest period | actual | target | status | projected | pace |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for goal in list(stored)[:TABLE_ROWS]:
        latest = result.latest.get(goal.goal_id)
        state = "not computed" if goal.goal_id in skipped else goal.state.replace("_", " ")
        if latest is None:
            cells = ["", "", "", "no_data", "", ""]
        else:
            cells = [
                latest.period_start.isoformat(),
                _amount(latest.actual),
                _amount(latest.target),
                latest.status + (" (stale)" if latest.is_stale else ""),
                _amount(latest.projected),
                latest.pace_status or "",
            ]
        name = goal.definition.name.replace("|", "\\|")
        lines.append(f"| `{goal.goal_id}` | {name} | {state} | " + " | ".join(cells) + " |")
    if len(stored) > TABLE_ROWS:
        lines.append(f"\n{len(stored) - TABLE_ROWS} more goals: see goal/ids.")
    return "\n".join(lines)


def _amount(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _log_outcome(
    context: AssetExecutionContext,
    result: ComputeResult,
    stale_reason: str | None,
    skipped: dict[str, str],
) -> None:
    org = result.org_id
    if stale_reason:
        context.log.warning(
            f"{org} is {stale_reason}: kept the last known goal values, flagged stale"
        )
    else:
        context.log.info(
            f"{org}: {result.goals} goals computed, {result.rows:,} values written, "
            f"{result.history_rows:,} history rows appended"
        )
    for goal_id, why in skipped.items():
        context.log.warning(f"goal {goal_id!r} of {org} not computed: {why}")


goal_assets = [goal_values]

__all__ = ["GOAL_SPECS", "GOAL_VALUES_KEY", "goal_assets", "goal_values", "run_goals"]
