"""Compute the values of all goals of one organization, in one set-based DuckDB pass.

Python only orchestrates: it turns the definitions into small tables (plan.py), builds the
fiscal calendar (periods.py) and runs a fixed number of statements, however many goals
there are. DuckDB joins the goals to the marts, aggregates per grain and window,
recomputes ratios from their parts, applies targets and status rules
(sql/compute_goal_values.sql) and writes `goals.goal_values`, read by BI through the view
`marts.goal_values`.

Staleness: when the organization's data cannot be refreshed (disconnected, reauthorization
required), call with `stale_reason`: the last known values are kept, not recomputed, and
flagged `is_stale` with the reason and since when. The next fresh computation replaces them
and clears the flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb

from qb_pipeline.goals.catalog import read_fiscal_year_start_month
from qb_pipeline.goals.marts import existing_marts, relations
from qb_pipeline.goals.model import GoalDefinition
from qb_pipeline.goals.periods import calendar_rows
from qb_pipeline.goals.plan import calendar_table, line_parts_table, plan_goals
from qb_pipeline.goals.sqlfiles import sql_text

DEFAULT_FISCAL_YEAR_START_MONTH = 1


@dataclass(frozen=True)
class LatestValue:
    """A goal's latest period with an actual (what its Dagster materialization shows)."""

    goal_id: str
    period_start: date
    period_end: date
    actual: float | None
    target: float | None
    status: str
    is_stale: bool
    stale_reason: str | None


@dataclass
class ComputeResult:
    org_id: str
    stale: bool
    rows: int  # rows written (0 when only flagged stale)
    goals: int  # goals computed
    fiscal_year_start_month: int | None
    skipped: dict[str, str] = field(default_factory=dict)  # goal id -> why
    latest: dict[str, LatestValue] = field(default_factory=dict)


def ensure_goal_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create goals.goal_values and the view marts.goal_values if missing."""
    con.execute(sql_text("goal_values_ddl.sql"))


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
) -> ComputeResult:
    """Compute (or, with `stale_reason`, flag as stale) the goal values of `org_id`.

    `goals` are the organization's valid goals (validate.py); goals of other
    organizations are refused. `fiscal_year_start_month` (1..12) defaults to the one the
    warehouse holds for the company (marts.company), else January. With `realm_id`, only
    that company's rows are read.
    """
    foreign = sorted({g.organization for g in goals} - {org_id})
    if foreign:
        raise ValueError(f"goals of {', '.join(foreign)} passed to compute for {org_id}")
    now = computed_at or datetime.now(UTC)
    ensure_goal_tables(con)
    if stale_reason is not None:
        params = {"org_id": org_id, "stale_reason": stale_reason, "since": since or now}
        con.execute(sql_text("mark_stale.sql"), params)
        return ComputeResult(
            org_id, True, 0, 0, fiscal_year_start_month, latest=latest_values(con, org_id)
        )

    duplicates: dict[str, str] = {}
    plan = plan_goals(_first_of_each_id(goals, duplicates))
    plan.skipped.update(duplicates)
    marts = relations(existing_marts(con))
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
    inputs = {
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
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql_text("clear_goal_values.sql"), {"org_id": org_id})
            written = con.execute(
                sql_text("compute_goal_values.sql").format(**marts),
                {**scope, "computed_at": now},
            ).fetchall()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        for name in inputs:
            con.unregister(name)
    return ComputeResult(
        org_id,
        False,
        int(written[0][0]) if written else 0,
        plan.defs.num_rows,
        fiscal_year_start_month,
        skipped=plan.skipped,
        latest=latest_values(con, org_id),
    )


def latest_values(con: duckdb.DuckDBPyConnection, org_id: str) -> dict[str, LatestValue]:
    """Each goal's latest period with an actual, as stored."""
    rows = con.execute(sql_text("latest_goal_values.sql"), {"org_id": org_id}).fetchall()
    return {row[0]: LatestValue(*row) for row in rows}


def _first_of_each_id(
    goals: Sequence[GoalDefinition], skipped: dict[str, str]
) -> list[GoalDefinition]:
    """Ids are unique per organization (the loader enforces it); keep the first anyway."""
    seen: set[str] = set()
    kept = []
    for goal in goals:
        if goal.id in seen:
            skipped[goal.id] = "another goal of the organization has the same id"
            continue
        seen.add(goal.id)
        kept.append(goal)
    return kept


__all__ = ["ComputeResult", "LatestValue", "compute", "ensure_goal_tables", "latest_values"]
