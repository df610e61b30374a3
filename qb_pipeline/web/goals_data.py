"""What the goals pages show: goal files, goal values and the imported company's catalog.

Values are read from the serving copy (`settings.serving_path`), opened read-only for one
request and closed again, never from the warehouse the pipeline writes: DuckDB allows one
writing process, and a reader holding the warehouse open makes the next sync fail. The
serving copy is replaced atomically after each successful run, so a page never sees half a
computation.

Goal definitions come from the goal files (the same folder the Dagster code location and
`qb-pipeline goals` read), so a goal created a minute ago is listed before its first run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from qb_pipeline.config import Settings
from qb_pipeline.goals.catalog import Catalog, load_catalog
from qb_pipeline.goals.compute import LatestValue, latest_values
from qb_pipeline.goals.loader import load_goals
from qb_pipeline.goals.model import GoalDefinition

HAS_GOAL_VALUES_SQL = """
SELECT count(*)
FROM information_schema.tables
WHERE table_schema = 'marts'
  AND table_name = 'goal_values'
"""
# Per goal: its stored name, since when it is stale and when it was last computed.
GOAL_SUMMARY_SQL = """
SELECT
    goal_id,
    any_value(goal_name)  AS goal_name,
    max(stale_since)      AS stale_since,
    max(computed_at)      AS computed_at
FROM marts.goal_values
WHERE org_id = $org_id
GROUP BY goal_id
"""
GOAL_PERIODS_SQL = """
SELECT
    period_start,
    period_end,
    actual,
    target,
    status,
    is_stale,
    stale_reason,
    stale_since,
    computed_at,
    goal_name
FROM marts.goal_values
WHERE org_id = $org_id
  AND goal_id = $goal_id
ORDER BY period_start
"""


@dataclass(frozen=True)
class ServingCopy:
    """A read-only connection to the serving copy, or why there is none."""

    con: duckdb.DuckDBPyConnection | None
    note: str | None = None


@contextmanager
def serving_copy(settings: Settings) -> Iterator[ServingCopy]:
    """The serving copy opened read-only for the duration of the block."""
    path = settings.serving_path
    if not path.exists():
        yield ServingCopy(None, "nothing has been imported yet (the first sync publishes it)")
        return
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        reason = " ".join(str(error).split())[:200]
        yield ServingCopy(None, f"the imported data cannot be read now ({reason})")
        return
    try:
        yield ServingCopy(con)
    finally:
        con.close()


@dataclass(frozen=True)
class ListedGoal:
    """One row of the goals page."""

    goal_id: str
    name: str
    definition: GoalDefinition | None  # None: values remain but the file is gone
    latest: LatestValue | None  # None: not computed yet
    stale_since: datetime | None
    computed_at: datetime | None


@dataclass(frozen=True)
class PeriodValue:
    period_start: date
    period_end: date
    actual: float | None
    target: float | None
    status: str
    is_stale: bool
    stale_reason: str | None
    stale_since: datetime | None
    computed_at: datetime


@dataclass
class GoalsOverview:
    goals: list[ListedGoal]
    values_note: str | None  # why no values could be read, if so
    file_problems: int  # errors in the goal files (`qb-pipeline goals validate` lists them)


@dataclass
class GoalDetail:
    goal_id: str
    name: str
    definition: GoalDefinition | None
    periods: list[PeriodValue] = field(default_factory=list)
    account_name: str | None = None
    values_note: str | None = None

    @property
    def latest(self) -> PeriodValue | None:
        with_actual = [p for p in self.periods if p.actual is not None]
        return (with_actual or self.periods or [None])[-1]


def org_definitions(goals_dir: Path, org: str) -> tuple[dict[str, GoalDefinition], int]:
    """The organization's valid goals by id, and the number of errors in its own folder
    (goals_dir/<org>/, where created goals go; other organizations' files are not counted).
    """
    if not goals_dir.is_dir():
        return {}, 0
    loaded = load_goals([goals_dir])
    goals = {s.goal.id: s.goal for s in loaded.goals if s.goal.organization == org}
    own_folder = (goals_dir / org).resolve()
    errors = [p for p in loaded.errors if p.file and own_folder in Path(p.file).resolve().parents]
    return goals, len(errors)


def _has_goal_values(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute(HAS_GOAL_VALUES_SQL).fetchone()[0])


def goals_overview(settings: Settings, goals_dir: Path, org: str) -> GoalsOverview:
    """Every goal of the organization (from its files or its stored values), latest first."""
    definitions, file_problems = org_definitions(goals_dir, org)
    latest: dict[str, LatestValue] = {}
    summary: dict[str, tuple[str, datetime | None, datetime | None]] = {}
    with serving_copy(settings) as serving:
        note = serving.note
        if serving.con is not None and _has_goal_values(serving.con):
            latest = latest_values(serving.con, org)
            rows = serving.con.execute(GOAL_SUMMARY_SQL, {"org_id": org}).fetchall()
            summary = {goal_id: (name, since, at) for goal_id, name, since, at in rows}
    listed = []
    for goal_id in sorted(set(definitions) | set(summary)):
        definition = definitions.get(goal_id)
        stored_name, since, computed_at = summary.get(goal_id, (goal_id, None, None))
        listed.append(
            ListedGoal(
                goal_id=goal_id,
                name=definition.name if definition else stored_name,
                definition=definition,
                latest=latest.get(goal_id),
                stale_since=since,
                computed_at=computed_at,
            )
        )
    listed.sort(key=lambda g: (g.name.lower(), g.goal_id))
    return GoalsOverview(listed, note, file_problems)


def goal_detail(
    settings: Settings, goals_dir: Path, org: str, goal_id: str, realm_id: str | None
) -> GoalDetail | None:
    """One goal with all its periods; None when the organization has no such goal."""
    definition = org_definitions(goals_dir, org)[0].get(goal_id)
    periods: list[PeriodValue] = []
    stored_name = None
    account_name = None
    with serving_copy(settings) as serving:
        note = serving.note
        con = serving.con
        if con is not None and _has_goal_values(con):
            params = {"org_id": org, "goal_id": goal_id}
            for row in con.execute(GOAL_PERIODS_SQL, params).fetchall():
                periods.append(PeriodValue(*row[:9]))
                stored_name = row[9]
        if con is not None and definition is not None and definition.tracks.account:
            account = load_catalog(con, org, realm_id).accounts.get(
                definition.tracks.account.account_id
            )
            account_name = account.fully_qualified_name or account.name if account else None
    if definition is None and not periods:
        return None
    name = definition.name if definition else (stored_name or goal_id)
    return GoalDetail(goal_id, name, definition, periods, account_name, note)


def imported_catalog(
    settings: Settings, org: str, realm_id: str | None
) -> tuple[Catalog | None, str | None]:
    """What the connected company has imported (the form's choices), or why nothing."""
    with serving_copy(settings) as serving:
        if serving.con is None:
            return None, serving.note
        catalog = load_catalog(serving.con, org, realm_id)
    if not catalog.has_data:
        return None, "nothing has been imported for this organization yet"
    return catalog, None


__all__ = [
    "GoalDetail",
    "GoalsOverview",
    "ListedGoal",
    "PeriodValue",
    "goal_detail",
    "goals_overview",
    "imported_catalog",
    "org_definitions",
    "serving_copy",
]
