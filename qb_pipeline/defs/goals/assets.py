"""Goal assets, generated from the goal files when the code location loads.

One asset per goal id, `goals/<goal_id>` in group `goals`, partitioned by organization like
the data it reads and downstream of the marts it reads. A goal belongs to one organization
(its `organization` field), so an asset's partition is that organization's goal; two
organizations may use the same id and then share the asset, each in its own partition.

All goal assets are one `@multi_asset` (can_subset, every goal spec `skippable`): its step
computes every goal of the partition's organization with one call of goals.compute
(set-based SQL, a fixed number of statements however many goals) and yields a
MaterializeResult only for that organization's selected goals. Other organizations' goals
emit nothing in that partition, so they show as not materialized there rather than as empty
values. The same step also materializes `marts/goal_values`, the BI view over
goals.goal_values, in every partition (an organization without goals has its old values
cleared): the serving copy depends on that asset, not on the skippable goal assets, because
Dagster skips a step when any upstream output it depends on was not emitted.

Goal files are read once, at load: the code location reloads (the UI's "Reload", or a new
`dagster dev`) to pick up new or changed files. The folder is $QBP_GOALS_DIR, else
./goal_models, as for `qb-pipeline goals`. Files with errors are left out here; `qb-pipeline
goals validate` names their problems.

Stale data: when the organization's connection is disconnected or needs reauthorization,
the step does not recompute: it flags the last known values `is_stale` with the reason and
since when (the disconnection, else now), and succeeds.
"""

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    multi_asset,
)

from qb_pipeline.connections import IntegrationService
from qb_pipeline.connections.models import DISCONNECTED, REAUTHORIZATION_REQUIRED
from qb_pipeline.defs.goals import GOALS_GROUP
from qb_pipeline.defs.goals.checks import existence_result, goal_check_specs, ties_out_result
from qb_pipeline.defs.quickbooks import sync_log
from qb_pipeline.defs.quickbooks.partitions import organizations
from qb_pipeline.defs.quickbooks.resources import DUCKDB_WRITER_POOL, QuickBooksIntegration
from qb_pipeline.defs.quickbooks.warehouse_lock import WarehouseBusy, open_writer
from qb_pipeline.goals.catalog import load_catalog, parse_month
from qb_pipeline.goals.compute import ComputeResult, LatestValue, compute
from qb_pipeline.goals.lines import BALANCE_SHEET, CASH_FLOW, PROFIT_AND_LOSS
from qb_pipeline.goals.loader import load_goals
from qb_pipeline.goals.model import GoalDefinition
from qb_pipeline.goals.problems import ERROR
from qb_pipeline.goals.validate import data_issues

GOALS_DIR_ENV = "QBP_GOALS_DIR"
DEFAULT_GOALS_DIR = Path("goal_models")

# Connection states in which the data cannot be refreshed: goal values go stale.
STALE_STATES = (DISCONNECTED, REAUTHORIZATION_REQUIRED)

MART_OF_DATASET = {
    PROFIT_AND_LOSS: AssetKey(["marts", "pnl_monthly"]),
    BALANCE_SHEET: AssetKey(["marts", "balance_sheet_monthly"]),
    CASH_FLOW: AssetKey(["marts", "cash_flow_monthly"]),
}
ACCOUNTS_MART = AssetKey(["marts", "accounts"])  # what account goals are checked against
# What goals filtered by class or department read (besides marts.pnl_monthly).
BY_DIMENSION_MART = AssetKey(["marts", "pnl_monthly_by_dimension"])

# The BI view of every goal value (goals.goal_values), one asset for all goals.
GOAL_VALUES_KEY = AssetKey(["marts", "goal_values"])
GOAL_VALUES_COLUMNS = {
    "org_id": "Organization (slug) the goal belongs to.",
    "goal_id": "The goal's id in goal_models/, unique within the organization.",
    "goal_name": "The goal's name.",
    "period_start": "First day of the period (fiscal for quarters and years).",
    "period_end": "Last day of the period.",
    "actual": "The goal's value for the period (its window); null when there is no data.",
    "target": "The target for the period; null when the goal has none.",
    "status": "on_track, at_risk, off_track, no_target or no_data.",
    "is_stale": "True when the organization cannot refresh its data (values kept as they were).",
    "stale_reason": "Why the values are stale: disconnected or reauthorization_required.",
    "stale_since": "When the values went stale.",
    "computed_at": "When the values were computed.",
}

# The company's fiscal year start as imported (CompanyInfo.FiscalYearStartMonth, a month
# name); read from the raw table because no mart carries it yet.
HAS_FISCAL_COLUMN_SQL = """
SELECT count(*)
FROM information_schema.columns
WHERE table_schema = 'qbo_raw'
  AND table_name = 'company_info'
  AND column_name = 'fiscal_year_start_month'
"""
FISCAL_YEAR_START_SQL = """
SELECT fiscal_year_start_month
FROM qbo_raw.company_info
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
  AND fiscal_year_start_month IS NOT NULL
LIMIT 1
"""
ROWS_PER_GOAL_SQL = """
SELECT goal_id, count(*)
FROM goals.goal_values
WHERE org_id = $org_id
GROUP BY goal_id
"""


def goals_dir(env: Mapping[str, str] | None = None) -> Path:
    """$QBP_GOALS_DIR, else ./goal_models (as `qb-pipeline goals` uses)."""
    env = os.environ if env is None else env
    return Path(env[GOALS_DIR_ENV]) if env.get(GOALS_DIR_ENV) else DEFAULT_GOALS_DIR


def load_goal_definitions(folder: Path | None = None) -> list[GoalDefinition]:
    """The goals of the folder that pass the schema and rules (none if it does not exist)."""
    folder = folder or goals_dir()
    if not folder.is_dir():
        return []
    return [sourced.goal for sourced in load_goals([folder]).goals]


def goal_key(goal_id: str) -> AssetKey:
    return AssetKey(["goals", goal_id])


def goal_deps(goals: Iterable[GoalDefinition], known: set[AssetKey]) -> list[AssetKey]:
    """The marts the goals read, among the assets that exist (no phantom upstream keys)."""
    wanted = {MART_OF_DATASET[d] for g in goals for d in g.item_datasets}
    if any(_tracks_account(g) for g in goals):
        wanted.add(ACCOUNTS_MART)
    if any(_filtered(g) for g in goals):
        wanted.add(BY_DIMENSION_MART)
    return sorted(wanted & known, key=lambda k: k.to_user_string())


def _filtered(goal: GoalDefinition) -> bool:
    filters = goal.filters
    return filters is not None and (filters.class_id or filters.department_id) is not None


def _tracks_account(goal: GoalDefinition) -> bool:
    formula = goal.tracks.formula
    if formula is None:
        return goal.tracks.account is not None
    return any(item.account is not None for item in formula.items.values())


def _spec(goal_id: str, goals: list[GoalDefinition], known: set[AssetKey]) -> AssetSpec:
    first = goals[0]
    orgs = sorted({g.organization for g in goals})
    description = first.description or first.name
    # What the goal reads goes in tags, not metadata: the UI filters assets by tag, and a tag
    # costs a tenth of a metadata entry in the snapshot the code server sends for every goal
    # (bench/code_location_bench.py). Tag values are single words, so an id several
    # organizations share keeps them in metadata instead.
    tags = {"goal/dataset": first.dataset, "goal/grain": first.grain, "goal/window": first.window}
    metadata: dict[str, object] = {"dagster/table_name": "marts.goal_values"}
    if len(orgs) == 1:
        tags["goal/organization"] = orgs[0]
    else:
        metadata["goal/organizations"] = MetadataValue.json(orgs)
    return AssetSpec(
        goal_key(goal_id),
        group_name=GOALS_GROUP,
        description=f"{description} (QuickBooks Goal {goal_id!r} of {', '.join(orgs)}).",
        deps=goal_deps(goals, known),
        skippable=True,  # only the partition's organization's goals materialize
        kinds={"duckdb"},
        tags=tags,
        metadata=metadata,
    )


def _goal_values_spec(goals: Sequence[GoalDefinition], known: set[AssetKey]) -> AssetSpec:
    return AssetSpec(
        GOAL_VALUES_KEY,
        group_name=GOALS_GROUP,
        description="Every goal value of the organization, one row per goal and period "
        "(the BI view over goals.goal_values).",
        deps=goal_deps(goals, known),
        kinds={"duckdb", "sql"},
        metadata={
            "dagster/table_name": "marts.goal_values",
            "dagster/column_schema": TableSchema(
                columns=[
                    TableColumn(name=name, description=text)
                    for name, text in GOAL_VALUES_COLUMNS.items()
                ]
            ),
        },
    )


def build_goal_assets(
    goals: Sequence[GoalDefinition], known_keys: Iterable[AssetKey]
) -> list[AssetsDefinition]:
    """The goal multi-asset: `marts/goal_values` and one asset per goal id."""
    by_id: dict[str, list[GoalDefinition]] = {}
    for goal in goals:
        by_id.setdefault(goal.id, []).append(goal)
    known = set(known_keys)
    specs = [
        _goal_values_spec(goals, known),
        *(_spec(goal_id, same, known) for goal_id, same in sorted(by_id.items())),
    ]
    check_specs = [
        check
        for goal_id, same in sorted(by_id.items())
        for check in goal_check_specs(goal_key(goal_id), same)
    ]

    @multi_asset(
        name="goal_values",
        specs=specs,
        check_specs=check_specs,
        partitions_def=organizations,
        pool=DUCKDB_WRITER_POOL,
        can_subset=True,
        description="Every QuickBooks Goal of the organization, computed in one pass into "
        "goals.goal_values (BI view marts.goal_values).",
    )
    def goal_values(
        context: AssetExecutionContext, quickbooks: QuickBooksIntegration
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        org = context.partition_key
        yield from run_goals(context, quickbooks, org, [g for g in goals if g.organization == org])

    return [goal_values]


def run_goals(
    context: AssetExecutionContext,
    quickbooks: QuickBooksIntegration,
    org: str,
    goals: list[GoalDefinition],
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Compute (or flag stale) every goal of `org`; yield the selected goals' results."""
    settings = quickbooks.settings()
    service = IntegrationService(settings)
    status = service.status(org)
    realm_id = status.realm_id
    stale_reason = status.status if status.status in STALE_STATES else None
    since = (status.disconnected_at or datetime.now(UTC)) if stale_reason else None
    checks: list[AssetCheckResult] = []
    with (
        # Goals run after the import: a failure here leaves the sync's data in place.
        sync_log.failures_recorded(
            context, service, status="partial", expected=(WarehouseBusy, duckdb.Error)
        ),
        open_writer(
            settings.warehouse_path, quickbooks.lock_wait_seconds, settings.serving_path
        ) as con,
    ):
        catalog = load_catalog(con, org, realm_id)
        issues = {g.id: data_issues(g, catalog) for g in goals}
        skipped = {
            g.id: "; ".join(f"{i.field}: {i.message}" for i in issues[g.id] if i.severity == ERROR)
            for g in goals
            if any(i.severity == ERROR for i in issues[g.id])
        }
        result = compute(
            con,
            org,
            [g for g in goals if g.id not in skipped],
            stale_reason,
            since,
            fiscal_year_start_month=fiscal_year_start_month(con, org, realm_id),
            realm_id=realm_id,
        )
        rows = dict(con.execute(ROWS_PER_GOAL_SQL, {"org_id": org}).fetchall())
        selected_checks = context.selected_asset_check_keys
        for goal in goals:
            key = goal_key(goal.id)
            checks += [
                check
                for check in (
                    existence_result(key, issues[goal.id]),
                    ties_out_result(con, key, goal, result.latest.get(goal.id), realm_id),
                )
                if check is not None and AssetCheckKey(key, check.check_name) in selected_checks
            ]
    _log_outcome(context, result, stale_reason, skipped)
    selected = context.selected_asset_keys
    if GOAL_VALUES_KEY in selected:
        yield MaterializeResult(
            asset_key=GOAL_VALUES_KEY,
            metadata={
                "dagster/partition_row_count": MetadataValue.int(sum(rows.values())),
                "goal/goals": MetadataValue.int(len(goals)),
                "goal/not_computed": MetadataValue.int(len(skipped)),
                "goal/is_stale": MetadataValue.bool(result.stale),
            },
        )
    for goal in goals:
        if goal_key(goal.id) in selected:
            yield MaterializeResult(
                asset_key=goal_key(goal.id),
                metadata=goal_metadata(
                    goal, result.latest.get(goal.id), rows.get(goal.id, 0), skipped.get(goal.id)
                ),
            )
    yield from checks


def fiscal_year_start_month(
    con: duckdb.DuckDBPyConnection, org: str, realm_id: str | None
) -> int | None:
    """CompanyInfo's FiscalYearStartMonth (1..12) as imported, or None before any import."""
    if not con.execute(HAS_FISCAL_COLUMN_SQL).fetchone()[0]:
        return None
    rows = con.execute(FISCAL_YEAR_START_SQL, {"org_id": org, "realm_id": realm_id}).fetchall()
    return parse_month(rows[0][0]) if rows else None


def goal_metadata(
    goal: GoalDefinition, latest: LatestValue | None, rows: int, skipped: str | None
) -> dict[str, MetadataValue]:
    """What the goal's materialization shows: its latest period with an actual."""
    metadata: dict[str, MetadataValue] = {
        "goal/organization": MetadataValue.text(goal.organization),
        "dagster/partition_row_count": MetadataValue.int(rows),
    }
    if skipped:
        metadata["goal/skipped"] = MetadataValue.text(skipped)
    if latest is None:
        metadata["goal/status"] = MetadataValue.text("no_data")
        return metadata
    metadata.update(
        {
            "goal/period": MetadataValue.text(
                f"{latest.period_start.isoformat()}..{latest.period_end.isoformat()}"
            ),
            "goal/actual": _number(latest.actual),
            "goal/target": _number(latest.target),
            "goal/status": MetadataValue.text(latest.status),
            "goal/is_stale": MetadataValue.bool(latest.is_stale),
        }
    )
    if latest.stale_reason:
        metadata["goal/stale_reason"] = MetadataValue.text(latest.stale_reason)
    return metadata


def _number(value: float | None) -> MetadataValue:
    return MetadataValue.float(float(value)) if value is not None else MetadataValue.null()


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
        context.log.info(f"{org}: {result.goals} goals computed, {result.rows:,} values written")
    for goal_id, why in {**skipped, **result.skipped}.items():
        context.log.warning(f"goal {goal_id!r} of {org} not computed: {why}")


__all__ = [
    "GOALS_DIR_ENV",
    "GOAL_VALUES_KEY",
    "build_goal_assets",
    "goal_key",
    "goals_dir",
    "load_goal_definitions",
]
