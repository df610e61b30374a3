"""What the goals pages show: goals from the goal store, values from the serving copy.

Definitions, states and versions come from the goal store (the control DB), so a goal
created a second ago is listed at once. Values come from the serving copy only
(warehouse/serving.py: opened read-only for one request, never the warehouse the pipeline
writes) through goals/values.py. A goal is *computing* while the published values are
those of an older version than the store's (`values.computed_versions`): a goals run has
been asked for and has not published yet.

Each organization's page reads that organization's goals and values only, so nothing wrong
with another organization's goals can reach it; a goal of this organization that cannot be
read or described is shown with the reason instead of failing the page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from qb_pipeline.config import Settings
from qb_pipeline.goals import values
from qb_pipeline.goals.catalog import Catalog, load_catalog
from qb_pipeline.goals.compute import LatestValue, preview
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.store import (
    ACTIVE,
    ARCHIVED,
    NEEDS_REVIEW,
    GoalStore,
    GoalVersion,
    StoredGoal,
    definition_data,
    reads_company_ids,
)
from qb_pipeline.warehouse.serving import ATTACHED_AS, attached_serving_copy, serving_copy

PREVIEW_PERIODS = 6


@dataclass(frozen=True)
class ListedGoal:
    """One row of the goals page."""

    goal: StoredGoal
    latest: LatestValue | None  # None: no values published for it
    computed_version: int | None  # the version the published values come from

    @property
    def computing(self) -> bool:
        return is_computing(self.goal, self.computed_version)


def is_computing(goal: StoredGoal, computed_version: int | None) -> bool:
    """An active goal whose published values are not yet those of its current version."""
    return goal.is_active and (computed_version is None or computed_version < goal.version)


@dataclass
class GoalsOverview:
    goals: list[ListedGoal]
    counts: dict[str, int]  # goals by state, for the links between the views
    values_note: str | None  # why no values could be read, if so

    @property
    def computing(self) -> bool:
        return any(g.computing for g in self.goals)


@dataclass(frozen=True)
class NamedId:
    """An id a goal names (account, class, department) and what it names in the connected
    company now; `name` None: the company has no such record."""

    field: str
    kind: str
    value: str
    name: str | None


@dataclass
class GoalDetail:
    goal: StoredGoal
    computed_version: int | None
    periods: list[values.PeriodValue] = field(default_factory=list)
    current: values.PeriodValue | None = None  # the period the history chart follows
    history: list[values.HistoryPoint] = field(default_factory=list)
    versions: list[GoalVersion] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # account id -> name
    budgets: dict[str, str] = field(default_factory=dict)  # budget id -> name
    review: list[NamedId] = field(default_factory=list)
    values_note: str | None = None

    @property
    def computing(self) -> bool:
        return is_computing(self.goal, self.computed_version)

    @property
    def latest(self) -> values.PeriodValue | None:
        with_actual = [p for p in self.periods if p.actual is not None]
        return (with_actual or self.periods or [None])[-1]


def goals_overview(
    settings: Settings, store: GoalStore, org: str, *, archived: bool
) -> GoalsOverview:
    """The organization's current goals (active and needing review), or its archived ones."""
    stored = store.list(org)
    counts = {
        state: sum(1 for g in stored if g.state == state)
        for state in (ACTIVE, ARCHIVED, NEEDS_REVIEW)
    }
    shown = [g for g in stored if (g.state == ARCHIVED) == archived]
    latest: dict[str, LatestValue] = {}
    computed: dict[str, int] = {}
    with serving_copy(settings, org) as serving:
        note = serving.note
        if serving.con is not None:
            computed = values.computed_versions(serving.con, org)
            by_realm: dict[str | None, set[str]] = defaultdict(set)
            for goal in shown:
                by_realm[goal.realm_id].add(goal.goal_id)
            for realm_id, goal_ids in by_realm.items():
                found = values.latest(serving.con, org, realm_id)
                latest.update({k: v for k, v in found.items() if k in goal_ids})
    listed = [ListedGoal(g, latest.get(g.goal_id), computed.get(g.goal_id)) for g in shown]
    listed.sort(
        key=lambda g: (g.goal.state != NEEDS_REVIEW, g.goal.definition.name.lower(), g.goal.goal_id)
    )
    return GoalsOverview(listed, counts, note)


def current_period(periods: list[values.PeriodValue], today: date) -> values.PeriodValue | None:
    """The period the goal is in today, else its latest period with an actual, else its last."""
    for period in periods:
        if period.period_start <= today <= period.period_end:
            return period
    with_actual = [p for p in periods if p.actual is not None]
    return (with_actual or periods or [None])[-1]


def goal_detail(
    settings: Settings,
    store: GoalStore,
    org: str,
    goal_id: str,
    connected_realm: str | None,
    today: date | None = None,
) -> GoalDetail:
    """One goal with its periods, the current period's history, its versions and, when it
    needs a review, what its ids name in the connected company now (GoalNotFound if none)."""
    goal = store.get(org, goal_id)
    detail = GoalDetail(goal, None, versions=store.history(org, goal_id))
    with serving_copy(settings, org) as serving:
        detail.values_note = serving.note
        con = serving.con
        if con is None:
            return detail
        detail.computed_version = values.computed_versions(con, org).get(goal_id)
        detail.periods = values.periods(con, org, goal.realm_id, goal_id)
        detail.current = current_period(detail.periods, today or datetime.now(UTC).date())
        if detail.current is not None:
            detail.history = values.history(
                con, org, goal.realm_id, goal_id, detail.current.period_start
            )
        own = load_catalog(con, org, goal.realm_id)
        detail.names = account_names(own)
        detail.budgets = own.budgets
        if goal.needs_review:
            connected = load_catalog(con, org, connected_realm)
            detail.review = named_ids(goal.definition, connected)
    return detail


def account_names(catalog: Catalog) -> dict[str, str]:
    return {
        account_id: account.fully_qualified_name or account.name
        for account_id, account in catalog.accounts.items()
    }


def named_ids(definition: GoalDefinition, catalog: Catalog) -> list[NamedId]:
    """Each company id the goal names and what it names in `catalog`'s company."""
    data = definition_data(definition)
    found = []
    for path in reads_company_ids(definition):
        value: Any = data
        for part in path.split("."):
            value = value[part]
        value = str(value)
        if path.endswith("account_id"):
            account = catalog.accounts.get(value)
            name = None
            if account is not None:
                name = account.fully_qualified_name or account.name
                if not account.active:
                    name += " (inactive)"
            found.append(NamedId(path, "account", value, name))
        else:
            kind = "class" if path.endswith("class_id") else "department"
            found.append(NamedId(path, kind, value, catalog.dimensions.get((kind, value))))
    return found


def imported_catalog(
    settings: Settings, org: str, realm_id: str | None
) -> tuple[Catalog | None, str | None]:
    """What the connected company has imported (the form's choices), or why nothing."""
    with serving_copy(settings, org) as serving:
        if serving.con is None:
            return None, serving.note
        catalog = load_catalog(serving.con, org, realm_id)
    if not catalog.has_data:
        return None, "nothing has been imported for this organization yet"
    return catalog, None


@dataclass(frozen=True)
class PreviewRow:
    period_start: date
    period_end: date
    actual: float | None
    target: float | None
    status: str


def preview_rows(
    settings: Settings, goal: GoalDefinition, realm_id: str | None
) -> tuple[list[PreviewRow], str | None]:
    """What `goal` would be in its latest periods, computed from the serving copy (attached
    read-only; nothing is stored), or why it cannot be computed now."""
    with attached_serving_copy(settings, goal.organization) as serving:
        if serving.con is None:
            return [], serving.note
        try:
            rows = preview(serving.con, ATTACHED_AS, goal, realm_id, periods=PREVIEW_PERIODS)
        except duckdb.Error as error:
            return [], f"the preview could not be computed ({' '.join(str(error).split())[:200]})"
    return [
        PreviewRow(r["period_start"], r["period_end"], r["actual"], r["target"], r["status"])
        for r in rows
    ], None


__all__ = [
    "GoalDetail",
    "GoalsOverview",
    "ListedGoal",
    "NamedId",
    "PreviewRow",
    "current_period",
    "goal_detail",
    "goals_overview",
    "imported_catalog",
    "is_computing",
    "named_ids",
    "preview_rows",
]
