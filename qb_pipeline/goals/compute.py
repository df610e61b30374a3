"""Compute the values of all goals of one organization, in one set-based DuckDB pass.

Python only orchestrates: it turns the definitions into small tables (plan.py), builds the
fiscal calendar (periods.py) and runs a fixed number of statements, however many goals
there are. DuckDB joins the goals to the marts, aggregates per grain and window,
recomputes ratios from their parts, applies targets and status rules
(sql/compute_goal_values.sql, a SELECT) and stores the result (sql/store_goal_values.sql):

- `goals.goal_values` (BI view `marts.goal_values`): one row per goal and period of the
  organization's company, replaced by each computation, except the rows of goals that keep
  their last values (`kept_goal_ids`: archived goals, goals waiting for a review);
- `goals.goal_value_history` (BI view `marts.goal_value_history`): a row for each goal
  period whose figures changed, stamped `as_of` the computation, so "what was this month's
  actual on the 12th" is the latest row at or before the 12th;
- `goals.goal_definitions` (BI view `marts.goals`): the goal store's goals of the
  organization, when the caller passes them, so BI sees names, states and versions.

All of it in one transaction: a reader of the warehouse sees a computation whole or not at
all. `preview` runs the same SELECT against a read-only copy and returns the rows instead.

Staleness: when the organization's data cannot be refreshed (disconnected, reauthorization
required), call with `stale_reason`: the last known values are kept, not recomputed, and
flagged `is_stale` with the reason and since when. The next fresh computation replaces them
and clears the flag.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from qb_pipeline.goals.catalog import read_data_through, read_fiscal_year_start_month
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.marts import existing_marts, relations
from qb_pipeline.goals.periods import calendar_rows
from qb_pipeline.goals.plan import GoalPlan, calendar_table, line_parts_table, plan_goals
from qb_pipeline.goals.sqlfiles import run_script, sql_text

if TYPE_CHECKING:
    from qb_pipeline.goals.store import StoredGoal

DEFAULT_FISCAL_YEAR_START_MONTH = 1
# DuckDB's memory while goals compute: one organization's goals need a few MB; the benchmark's
# 100,000 goals in one pass fit too, spilling what they must to the database's temp folder
# (bench/README.md). The connection's own limit comes back afterwards.
MEMORY_LIMIT = "384MB"
STATUSES = ("on_track", "at_risk", "off_track", "no_target", "no_data")


@dataclass(frozen=True)
class LatestValue:
    """A goal's latest period with an actual (what its Dagster materialization shows)."""

    goal_id: str
    period_start: date
    period_end: date
    actual: float | None
    target: float | None
    status: str
    currency: str | None
    is_stale: bool
    stale_reason: str | None
    target_source: str | None = None  # fixed, per_period, growth, band, budget:<name>
    projected: float | None = None  # pace, when the period is in progress
    pace_status: str | None = None


@dataclass
class ComputeResult:
    org_id: str
    stale: bool
    rows: int  # rows written (0 when only flagged stale)
    goals: int  # goals computed
    fiscal_year_start_month: int | None
    history_rows: int = 0  # periods whose figures changed (rows appended to the history)
    skipped: dict[str, str] = field(default_factory=dict)  # goal id -> why
    latest: dict[str, LatestValue] = field(default_factory=dict)

    @property
    def status_counts(self) -> dict[str, int]:
        """How many goals are in each status in their latest period (every status listed)."""
        counts = Counter(value.status for value in self.latest.values())
        return {status: counts.get(status, 0) for status in STATUSES}

    @property
    def pace_status_counts(self) -> dict[str, int]:
        """How many goals are in each pace status, among those whose latest period is in
        progress (every status listed)."""
        counts = Counter(v.pace_status for v in self.latest.values() if v.pace_status)
        return {status: counts.get(status, 0) for status in STATUSES}


def ensure_goal_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the goals schema's tables and the marts views over them if missing."""
    run_script(con, "goal_values_ddl.sql", {})


def documented_views() -> list[tuple[str, str, dict[str, str]]]:
    """(name, description, {column: meaning}) of the marts views the goals write, from the
    comments their DDL puts in the catalog (for docs/warehouse.md)."""
    con = duckdb.connect(":memory:")
    try:
        ensure_goal_tables(con)
        views = con.execute(
            "SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'marts'"
            " ORDER BY view_name"
        ).fetchall()
        documented = []
        for name, comment in views:
            columns = con.execute(
                "SELECT column_name, comment FROM duckdb_columns()"
                " WHERE schema_name = 'marts' AND table_name = ? ORDER BY column_index",
                [name],
            ).fetchall()
            documented.append((f"marts.{name}", comment or "", {c: t or "" for c, t in columns}))
    finally:
        con.close()
    return documented


def compute(
    con: duckdb.DuckDBPyConnection,
    org_id: str,
    goals: Sequence[GoalDefinition],
    stale_reason: str | None = None,
    since: datetime | None = None,
    *,
    fiscal_year_start_month: int | None = None,
    realm_id: str | None = None,
    computed_at: datetime | None = None,
    kept_goal_ids: Sequence[str] = (),
    stored_goals: Sequence[StoredGoal] | None = None,
) -> ComputeResult:
    """Compute (or, with `stale_reason`, flag as stale) the goal values of `org_id`.

    `goals` are the organization's goals to compute (active, checked against the data);
    goals of other organizations are refused. `fiscal_year_start_month` (1..12) defaults to
    the one the warehouse holds for the company, else January. With `realm_id`, only that
    company's rows are read and replaced. `kept_goal_ids` keep their stored values;
    `stored_goals` (every goal of the organization in the store) refresh goals.goal_definitions.
    """
    foreign = sorted({g.organization for g in goals} - {org_id})
    if foreign:
        raise ValueError(f"goals of {', '.join(foreign)} passed to compute for {org_id}")
    with _memory_limited(con):
        return _compute(
            con,
            org_id,
            goals,
            stale_reason,
            since,
            fiscal_year_start_month,
            realm_id,
            computed_at,
            kept_goal_ids,
            stored_goals,
        )


def _compute(
    con: duckdb.DuckDBPyConnection,
    org_id: str,
    goals: Sequence[GoalDefinition],
    stale_reason: str | None,
    since: datetime | None,
    fiscal_year_start_month: int | None,
    realm_id: str | None,
    computed_at: datetime | None,
    kept_goal_ids: Sequence[str],
    stored_goals: Sequence[StoredGoal] | None,
) -> ComputeResult:
    now = computed_at or datetime.now(UTC)
    ensure_goal_tables(con)
    scope = {"org_id": org_id, "realm_id": realm_id}
    if stale_reason is not None:
        params = {**scope, "stale_reason": stale_reason, "since": since or now}
        with _transaction(con):
            run_script(con, "mark_stale.sql", params)
            if stored_goals is not None:
                _store_definitions(con, org_id, stored_goals)
        return ComputeResult(
            org_id,
            True,
            0,
            0,
            fiscal_year_start_month,
            latest=latest_values(con, org_id, realm_id),
        )

    duplicates: dict[str, str] = {}
    plan = plan_goals(_first_of_each_id(goals, duplicates))
    plan.skipped.update(duplicates)
    with (
        _goal_query(con, org_id, realm_id, plan, fiscal_year_start_month) as query,
        _transaction(con),
    ):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _new_goal_values AS {query.sql}",
            {**query.params, "computed_at": now},
        )
        (written,) = con.execute("SELECT count(*) FROM _new_goal_values").fetchone()
        history_before = _history_rows(con)
        run_script(con, "store_goal_values.sql", {**scope, "kept_goal_ids": list(kept_goal_ids)})
        history = _history_rows(con) - history_before
        con.execute("DROP TABLE _new_goal_values")
        if stored_goals is not None:
            _store_definitions(con, org_id, stored_goals)
    return ComputeResult(
        org_id,
        False,
        int(written),
        plan.defs.num_rows,
        query.fiscal_year_start_month,
        history_rows=history,
        skipped=plan.skipped,
        latest=latest_values(con, org_id, realm_id),
    )


def preview(
    con: duckdb.DuckDBPyConnection,
    database: str,
    goal: GoalDefinition,
    realm_id: str | None,
    *,
    periods: int = 6,
) -> list[dict[str, Any]]:
    """What `goal` would be in its latest `periods` periods, computed from the marts of the
    attached (read-only) `database`, without storing anything. Rows oldest first, with the
    columns of goals.goal_values."""
    plan = plan_goals([goal])
    if plan.skipped:
        return []
    with _goal_query(con, goal.organization, realm_id, plan, None, database) as query:
        cursor = con.execute(
            f"SELECT * FROM ({query.sql}) ORDER BY period_start DESC LIMIT $periods",
            {**query.params, "computed_at": datetime.now(UTC), "periods": periods},
        )
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return rows[::-1]


def latest_values(
    con: duckdb.DuckDBPyConnection,
    org_id: str,
    realm_id: str | None = None,
    *,
    goal_values: str = "goals.goal_values",
) -> dict[str, LatestValue]:
    """Each goal's latest period with an actual, as stored (`goal_values`: the relation to
    read, e.g. marts.goal_values of a serving copy, with every column goals.goal_values has)."""
    query = sql_text("latest_goal_values.sql").format(goal_values=goal_values)
    rows = con.execute(query, {"org_id": org_id, "realm_id": realm_id}).fetchall()
    return {row[0]: LatestValue(*row) for row in rows}


# -- internals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalQuery:
    """The goal values SELECT, its parameters, and the fiscal year start it follows."""

    sql: str
    params: dict[str, Any]
    fiscal_year_start_month: int


@contextmanager
def _goal_query(
    con: duckdb.DuckDBPyConnection,
    org_id: str,
    realm_id: str | None,
    plan: GoalPlan,
    fiscal_year_start_month: int | None,
    database: str | None = None,
) -> Iterator[GoalQuery]:
    """The goal values SELECT for `plan`, with its input tables registered while the block
    runs."""
    marts = relations(existing_marts(con, database), database)
    scope = {"org_id": org_id, "realm_id": realm_id}
    if fiscal_year_start_month is None:
        fiscal_year_start_month = (
            read_fiscal_year_start_month(con, org_id, realm_id, marts=marts)
            or DEFAULT_FISCAL_YEAR_START_MONTH
        )
    [(first, last)] = con.execute(sql_text("data_span.sql").format(**marts), scope).fetchall()
    span = (first, last) if first is not None else None
    bounds = [d for d in (first, last, *plan.target_dates) if d is not None]
    calendar = (
        calendar_rows(min(bounds), max(bounds), fiscal_year_start_month, span) if bounds else []
    )
    inputs: dict[str, pa.Table] = {
        "_goal_defs": plan.defs,
        "_goal_series": plan.series,
        "_goal_items": plan.items,
        "_goal_targets": plan.targets,
        "_goal_line_parts": line_parts_table(),
        "_goal_calendar": calendar_table(calendar),
    }
    for name, table in inputs.items():
        con.register(name, table)
    try:
        sql = sql_text("compute_goal_values.sql").format(**marts)
        data_through = read_data_through(con, org_id, realm_id, database)
        yield GoalQuery(sql, {**scope, "data_through": data_through}, fiscal_year_start_month)
    finally:
        for name in inputs:
            con.unregister(name)


@contextmanager
def _memory_limited(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    (previous,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{previous}'")


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _history_rows(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT count(*) FROM goals.goal_value_history").fetchone()[0])


DEFINITION_COLUMNS = (
    "org_id", "realm_id", "goal_id", "goal_name", "state", "state_reason", "version",
    "dataset", "tracks", "basis", "grain", "window", "direction", "managed_by",
    "updated_at", "updated_by", "definition",
)  # fmt: skip


def _store_definitions(
    con: duckdb.DuckDBPyConnection, org_id: str, stored_goals: Sequence[StoredGoal]
) -> None:
    """Replace goals.goal_definitions' rows of the organization with the store's goals."""
    from qb_pipeline.goals.store import definition_data

    columns: dict[str, list[Any]] = {name: [] for name in DEFINITION_COLUMNS}
    for stored in stored_goals:
        goal = stored.definition
        row = {
            "org_id": org_id,
            "realm_id": stored.realm_id,
            "goal_id": stored.goal_id,
            "goal_name": goal.name,
            "state": stored.state,
            "state_reason": stored.state_reason,
            "version": stored.version,
            "dataset": goal.dataset,
            "tracks": goal.tracks.kind,
            "basis": goal.basis,
            "grain": goal.grain,
            "window": goal.window,
            "direction": goal.direction,
            "managed_by": stored.managed_by,
            "updated_at": stored.updated_at,
            "updated_by": stored.updated_by,
            "definition": _json_text(definition_data(goal)),
        }
        for name, value in row.items():
            columns[name].append(value)
    table = pa.table(columns)
    con.execute("DELETE FROM goals.goal_definitions WHERE org_id = ?", [org_id])
    if table.num_rows:
        con.register("_goal_definitions", table)
        try:
            con.execute(
                "INSERT INTO goals.goal_definitions BY NAME SELECT * FROM _goal_definitions"
            )
        finally:
            con.unregister("_goal_definitions")


def _json_text(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, sort_keys=False, default=str)


def _first_of_each_id(
    goals: Sequence[GoalDefinition], skipped: dict[str, str]
) -> list[GoalDefinition]:
    """Ids are unique per organization (the store enforces it); keep the first anyway."""
    seen: set[str] = set()
    kept = []
    for goal in goals:
        if goal.id in seen:
            skipped[goal.id] = "another goal of the organization has the same id"
            continue
        seen.add(goal.id)
        kept.append(goal)
    return kept


__all__ = [
    "STATUSES",
    "ComputeResult",
    "LatestValue",
    "compute",
    "documented_views",
    "ensure_goal_tables",
    "latest_values",
    "preview",
]
