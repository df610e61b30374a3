"""`goals apply`: goal files (the reviewed, version-controlled way) upserted into the store.

Analytics engineers keep goals in `goal_models/<org>/*.yaml`, reviewed like code. Applying a
set of paths makes the store match them, organization by organization, like `terraform plan`
and `apply`: first a plan (create, update with the fields that change, archive, restore,
unchanged), then, unless it is a dry run, the changes. Goals applied from files are
file-managed: they record their file (`managed_by`, relative to the goals folder's parent,
e.g. `goal_models/acme/revenue.yaml`) and the app shows them read-only.

What the paths cover: a folder covers every goal file under it, a file itself. A
file-managed goal whose file is in that scope but no longer defines it (the file was deleted,
or the goal removed from it) is archived; goals of files outside the scope, and goals
managed in the app, are left alone.

An organization is applied whole or not at all: one bad goal (schema, rules, or not matching
the connected company's data), a goal file that cannot be read (its goals could not be told
from deleted ones), an id already used by a goal managed in the app, or an organization that
is not connected blocks that organization's changes, with every problem named by file, line
and field. Other organizations are applied as planned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qb_pipeline.goals.catalog import Catalog
from qb_pipeline.goals.editing import GoalRefused, checked_definition
from qb_pipeline.goals.loader import LoadResult, SourcedGoal, load_goals
from qb_pipeline.goals.problems import Problem
from qb_pipeline.goals.store import (
    ARCHIVED,
    FieldChange,
    GoalChange,
    GoalStore,
    StoredGoal,
    definition_data,
    diff,
)

CREATE, UPDATE, ARCHIVE, RESTORE, UNCHANGED = "create", "update", "archive", "restore", "unchanged"
SYMBOLS = {CREATE: "+", UPDATE: "~", ARCHIVE: "-", RESTORE: "^", UNCHANGED: "="}


@dataclass(frozen=True)
class PlannedChange:
    action: str
    org: str
    goal_id: str
    managed_by: str
    sourced: SourcedGoal | None = None  # the file's goal (None for an archive)
    changes: tuple[FieldChange, ...] = ()

    def __str__(self) -> str:
        line = f"  {SYMBOLS[self.action]} {self.org}/{self.goal_id:<28} {self.action:<9} "
        line += f"({self.managed_by})"
        for change in self.changes:
            line += f"\n      {change.field}: {_short(change.before)} -> {_short(change.after)}"
        return line


@dataclass
class ApplyPlan:
    """What applying would do, per organization, and what blocks which organization."""

    changes: list[PlannedChange] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    blocked: dict[str, list[str]] = field(default_factory=dict)  # org -> why (one line each)
    files: list[str] = field(default_factory=list)

    @property
    def orgs(self) -> list[str]:
        return sorted({c.org for c in self.changes} | set(self.blocked))

    def applicable(self) -> list[PlannedChange]:
        """The changes of organizations nothing blocks (unchanged goals left out)."""
        return [c for c in self.changes if c.org not in self.blocked and c.action != UNCHANGED]

    def counts(self) -> dict[str, int]:
        counted = dict.fromkeys(SYMBOLS, 0)
        for change in self.changes:
            if change.org not in self.blocked:
                counted[change.action] += 1
        return counted

    def lines(self) -> list[str]:
        """The plan as printed: changes by organization, then problems, then a summary."""
        out: list[str] = []
        for org in self.orgs:
            state = "BLOCKED, nothing applied" if org in self.blocked else "ready"
            out.append(f"{org}: {state}")
            out += [str(c) for c in self.changes if c.org == org]
            out += [f"  ! {why}" for why in self.blocked.get(org, [])]
        counted = self.counts()
        out.append(
            f"Plan: {counted[CREATE]} to create, {counted[UPDATE]} to update, "
            f"{counted[ARCHIVE]} to archive, {counted[RESTORE]} to restore, "
            f"{counted[UNCHANGED]} unchanged"
            + (f"; {len(self.blocked)} organization(s) blocked" if self.blocked else "")
            + "."
        )
        return out


def managed_name(path: Path, goals_dir: Path) -> str:
    """How a goal file is named in the store: relative to the goals folder's parent, so
    `goal_models/acme/revenue.yaml` whatever the current folder is."""
    resolved, root = path.resolve(), goals_dir.resolve()
    if resolved != root and root not in resolved.parents:
        raise ValueError(f"{path} is outside the goals folder {goals_dir}")
    return Path(os.path.relpath(resolved, root.parent)).as_posix()


def plan(
    paths: Sequence[Path | str],
    goals_dir: Path,
    store: GoalStore,
    *,
    catalog_of: Callable[[str], Catalog | None],
    blocked_reason: Callable[[str], str | None],
) -> ApplyPlan:
    """The plan for `paths` (files or folders inside `goals_dir`).

    `catalog_of(org)` gives the organization's imported data (None: nothing imported);
    `blocked_reason(org)` says why an organization cannot take goals now (unknown, not
    connected, the user may not edit its goals), or None.
    """
    result = ApplyPlan()
    scope = _scope(paths, goals_dir, result)
    loaded = load_goals(paths)
    result.files = loaded.files
    result.problems += loaded.problems
    with_errors = _files_with_errors(loaded, goals_dir)
    by_org: dict[str, list[SourcedGoal]] = {}
    for sourced in loaded.goals:
        if _inside(Path(sourced.file), goals_dir):  # else reported by _scope
            by_org.setdefault(sourced.goal.organization, []).append(sourced)
    for problem in loaded.errors:
        org = _org_of_problem(problem, goals_dir)
        if org is not None:
            result.blocked.setdefault(org, []).append(str(problem))
    managed_in_scope = {
        g.org_slug for g in store.file_managed() if _in_scope(g.managed_by or "", scope)
    }
    for org in sorted(set(by_org) | managed_in_scope):
        why = blocked_reason(org)
        if why is not None:
            result.blocked.setdefault(org, []).append(why)
            continue
        _plan_org(
            org, by_org.get(org, []), scope, with_errors, goals_dir, store, catalog_of, result
        )
    return result


def execute(
    plan_: ApplyPlan, store: GoalStore, *, actor: str, realm_of: Callable[[str], str | None]
) -> list[GoalChange]:
    """Carry out the plan's applicable changes (file-managed, source `file`); returns them.

    Changes are made goal by goal in the plan's order; each is one transaction with its
    version and event, so a crash leaves a prefix applied, and applying again finishes it."""
    done: list[GoalChange] = []
    for change in plan_.applicable():
        realm = realm_of(change.org)
        if change.action == ARCHIVE:
            done.append(
                store.archive(
                    change.org,
                    change.goal_id,
                    actor=actor,
                    source="file",
                    note=f"{change.managed_by} no longer defines it",
                )
            )
            continue
        assert change.sourced is not None
        goal = change.sourced.goal
        if change.action == CREATE:
            done.append(
                store.create(
                    goal, actor=actor, source="file", realm_id=realm, managed_by=change.managed_by
                )
            )
        elif change.action == RESTORE:
            done.append(
                store.restore(
                    change.org,
                    change.goal_id,
                    actor=actor,
                    source="file",
                    realm_id=realm,
                    definition=goal,
                    managed_by=change.managed_by,
                )
            )
        else:
            done.append(
                store.update(
                    goal, actor=actor, source="file", realm_id=realm, managed_by=change.managed_by
                )
            )
    return done


# -- planning one organization ------------------------------------------------------------


def _plan_org(
    org: str,
    sourced_goals: list[SourcedGoal],
    scope: list[str],
    with_errors: set[str],
    goals_dir: Path,
    store: GoalStore,
    catalog_of: Callable[[str], Catalog | None],
    result: ApplyPlan,
) -> None:
    stored = {g.goal_id: g for g in store.list(org)}
    catalog = catalog_of(org)
    seen: set[str] = set()
    for sourced in sourced_goals:
        goal = sourced.goal
        seen.add(goal.id)
        name = managed_name(Path(sourced.file), goals_dir)
        existing = stored.get(goal.id)
        if existing is not None and existing.managed_by is None:
            result.blocked.setdefault(org, []).append(
                f"{sourced.file}: goal {goal.id!r}: id: {goal.id!r} is a goal of {org} managed "
                "in the app; rename the goal in the file, or archive the app's goal first"
            )
            continue
        try:
            checked_definition(
                definition_data(goal),
                catalog,
                previous=existing.definition if existing is not None else None,
            )
        except GoalRefused as refused:
            for issue in refused.issues:
                line = sourced.line_of(issue.field)
                where = f"{sourced.file}:{line}" if line else sourced.file
                result.blocked.setdefault(org, []).append(
                    f"{where}: goal {goal.id!r}: {issue.field}: {issue.message}"
                    if issue.field
                    else f"{where}: goal {goal.id!r}: {issue.message}"
                )
            continue
        result.changes.append(_change_for(org, sourced, name, existing))
    for goal_id, existing in sorted(stored.items()):
        if goal_id in seen or existing.managed_by is None or existing.state == ARCHIVED:
            continue
        if not _in_scope(existing.managed_by, scope):
            continue
        if existing.managed_by in with_errors:
            result.blocked.setdefault(org, []).append(
                f"{existing.managed_by} has errors, so goal {goal_id!r} it manages is "
                "neither kept nor archived; fix the file"
            )
            continue
        result.changes.append(PlannedChange(ARCHIVE, org, goal_id, existing.managed_by))


def _change_for(
    org: str, sourced: SourcedGoal, name: str, existing: StoredGoal | None
) -> PlannedChange:
    goal = sourced.goal
    if existing is None:
        return PlannedChange(CREATE, org, goal.id, name, sourced)
    changes = tuple(diff(existing.definition, goal))
    if name != existing.managed_by:
        changes += (FieldChange("managed_by", existing.managed_by, name),)
    if existing.state == ARCHIVED:
        return PlannedChange(RESTORE, org, goal.id, name, sourced, changes)
    if changes or existing.needs_review:
        return PlannedChange(UPDATE, org, goal.id, name, sourced, changes)
    return PlannedChange(UNCHANGED, org, goal.id, name, sourced)


# -- scope ----------------------------------------------------------------------------------


def _scope(paths: Sequence[Path | str], goals_dir: Path, result: ApplyPlan) -> list[str]:
    """The managed names the paths cover: 'goal_models/acme/' for a folder (a prefix), the
    file's own name for a file. A path outside the goals folder is a problem."""
    scope = []
    for given in paths:
        path = Path(given)
        try:
            name = managed_name(path, goals_dir)
        except ValueError as error:
            result.problems.append(Problem(str(path), str(error)))
            continue
        scope.append(name.rstrip("/") + "/" if path.is_dir() else name)
    return scope


def _inside(path: Path, goals_dir: Path) -> bool:
    try:
        managed_name(path, goals_dir)
    except ValueError:
        return False
    return True


def _in_scope(managed_by: str, scope: Iterable[str]) -> bool:
    return any(
        managed_by.startswith(item) if item.endswith("/") else managed_by == item for item in scope
    )


def _files_with_errors(loaded: LoadResult, goals_dir: Path) -> set[str]:
    """Managed names of files with an error: which goals they define is not known for sure
    (a YAML error hides them all, a bad goal itself), so none of their goals is archived."""
    bad = set()
    for problem in loaded.errors:
        if problem.file:
            try:
                bad.add(managed_name(Path(problem.file), goals_dir))
            except ValueError:
                continue
    return bad


def _org_of_problem(problem: Problem, goals_dir: Path) -> str | None:
    """The organization whose folder holds the file with the problem (goal_models/<org>/)."""
    if not problem.file:
        return None
    try:
        name = managed_name(Path(problem.file), goals_dir)
    except ValueError:
        return None
    parts = name.split("/")
    return parts[1] if len(parts) > 2 else None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = [
    "ARCHIVE",
    "CREATE",
    "RESTORE",
    "UNCHANGED",
    "UPDATE",
    "ApplyPlan",
    "PlannedChange",
    "execute",
    "managed_name",
    "plan",
]
