"""Reading goal values back: the one reader the web app, the JSON API and the CLI share.

Every function takes a DuckDB connection to a published copy of the warehouse (the serving
copy, warehouse/serving.py) and reads the BI views the goal step writes: marts.goal_values,
marts.goal_value_history and marts.goals. A copy published before the goals existed has none
of them: then there is nothing to read, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from qb_pipeline.goals.compute import LatestValue, latest_values
from qb_pipeline.goals.marts import mart_columns

RELATIONS_SQL = """
SELECT table_name
FROM information_schema.tables
WHERE table_schema = 'marts'
  AND table_name IN ('goal_values', 'goal_value_history', 'goals')
"""
# Columns added after the first release: a copy published before them reads NULL instead.
LATER_COLUMNS = {
    "target_source": "VARCHAR",
    "projected": "DOUBLE",
    "projection_method": "VARCHAR",
    "pace_status": "VARCHAR",
    "pace_as_of": "DATE",
}
PERIODS_SQL = """
SELECT
    period_start, period_end, actual, target, status, currency, is_stale, stale_reason,
    stale_since, computed_at, target_source, projected, projection_method, pace_status,
    pace_as_of
FROM {goal_values}
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
  AND goal_id = $goal_id
ORDER BY period_start
"""
HISTORY_SQL = """
SELECT as_of, period_start, period_end, actual, target, status, is_stale
FROM marts.goal_value_history
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
  AND goal_id = $goal_id
  AND ($period_start IS NULL OR period_start = $period_start)
ORDER BY period_start, as_of
"""
COMPUTED_SQL = """
SELECT goal_id, version, state
FROM marts.goals
WHERE org_id = $org_id
"""
COMPUTED_AT_SQL = """
SELECT goal_id, max(computed_at)
FROM marts.goal_values
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
GROUP BY goal_id
"""


@dataclass(frozen=True)
class PeriodValue:
    """One period of one goal, as last computed."""

    period_start: date
    period_end: date
    actual: float | None
    target: float | None
    status: str
    currency: str | None
    is_stale: bool
    stale_reason: str | None
    stale_since: datetime | None
    computed_at: datetime
    target_source: str | None = None  # fixed, per_period, growth, band, budget:<name>
    # Pace, for the period in progress only (goal_models/README.md, "Pace").
    projected: float | None = None
    projection_method: str | None = None
    pace_status: str | None = None
    pace_as_of: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "actual": self.actual,
            "target": self.target,
            "target_source": self.target_source,
            "status": self.status,
            "currency": self.currency,
            "is_stale": self.is_stale,
            "stale_reason": self.stale_reason,
            "stale_since": self.stale_since.isoformat() if self.stale_since else None,
            "computed_at": self.computed_at.isoformat(),
            "projected": self.projected,
            "projection_method": self.projection_method,
            "pace_status": self.pace_status,
            "pace_as_of": self.pace_as_of.isoformat() if self.pace_as_of else None,
        }


@dataclass(frozen=True)
class HistoryPoint:
    """What one period's figures were as of one computation that changed them."""

    as_of: datetime
    period_start: date
    period_end: date
    actual: float | None
    target: float | None
    status: str
    is_stale: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "actual": self.actual,
            "target": self.target,
            "status": self.status,
            "is_stale": self.is_stale,
        }


def _relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute(RELATIONS_SQL).fetchall()}


def _goal_values_relation(con: duckdb.DuckDBPyConnection) -> str:
    """marts.goal_values, with NULL for the later columns a copy published before them lacks."""
    present = mart_columns(con, "goal_values")
    missing = [f"CAST(NULL AS {t}) AS {c}" for c, t in LATER_COLUMNS.items() if c not in present]
    if not missing:
        return "marts.goal_values"
    return f"(SELECT *, {', '.join(missing)} FROM marts.goal_values)"


def latest(
    con: duckdb.DuckDBPyConnection, org: str, realm_id: str | None
) -> dict[str, LatestValue]:
    """Each goal's latest period with an actual (or its latest period when none has one)."""
    if "goal_values" not in _relations(con):
        return {}
    return latest_values(con, org, realm_id, goal_values=_goal_values_relation(con))


def periods(
    con: duckdb.DuckDBPyConnection, org: str, realm_id: str | None, goal_id: str
) -> list[PeriodValue]:
    """Every period of one goal, oldest first."""
    if "goal_values" not in _relations(con):
        return []
    params = {"org_id": org, "realm_id": realm_id, "goal_id": goal_id}
    query = PERIODS_SQL.format(goal_values=_goal_values_relation(con))
    return [PeriodValue(*row) for row in con.execute(query, params).fetchall()]


def history(
    con: duckdb.DuckDBPyConnection,
    org: str,
    realm_id: str | None,
    goal_id: str,
    period_start: date | None = None,
) -> list[HistoryPoint]:
    """How the goal's periods (or the one starting `period_start`) moved, computation by
    computation, oldest first."""
    if "goal_value_history" not in _relations(con):
        return []
    params = {
        "org_id": org,
        "realm_id": realm_id,
        "goal_id": goal_id,
        "period_start": period_start,
    }
    return [HistoryPoint(*row) for row in con.execute(HISTORY_SQL, params).fetchall()]


def computed_versions(con: duckdb.DuckDBPyConnection, org: str) -> dict[str, int]:
    """The version of each goal the published values were computed from (a goal whose
    stored version is newer is still being computed)."""
    if "goals" not in _relations(con):
        return {}
    rows = con.execute(COMPUTED_SQL, {"org_id": org}).fetchall()
    return {goal_id: int(version) for goal_id, version, _state in rows}


def computed_at(
    con: duckdb.DuckDBPyConnection, org: str, realm_id: str | None
) -> dict[str, datetime]:
    """When each goal's values were last computed."""
    if "goal_values" not in _relations(con):
        return {}
    params = {"org_id": org, "realm_id": realm_id}
    return dict(con.execute(COMPUTED_AT_SQL, params).fetchall())


__all__ = [
    "HistoryPoint",
    "PeriodValue",
    "computed_at",
    "computed_versions",
    "history",
    "latest",
    "periods",
]
