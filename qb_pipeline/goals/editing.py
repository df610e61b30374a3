"""Creating and changing goals: a definition checked against the company's data, then stored.

What every way of editing goals shares (the web form, the JSON API, `qb-pipeline goals`):
the raw definition (the shape of a goal file, as a mapping) is checked against the schema and
the rules between fields (loader.parse_goal), then against what the connected company has
imported (validate.data_issues on its catalog), and only then stored (store.py). A refusal
raises GoalRefused with every problem, each naming its field, and stores nothing.

This module takes data only: the catalog and the company's realm come from the caller, who
has checked beforehand that the user may edit goals and that the organization is connected.

- A new goal must not point at anything inactive or deleted (it could never move): warnings
  refuse it too.
- A changed goal is refused for errors, and for warnings about fields the change touched
  (an unrelated edit of a goal whose account went inactive later stays possible).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from qb_pipeline.goals.catalog import Catalog
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.loader import parse_goal
from qb_pipeline.goals.problems import ERROR, FieldIssue, show
from qb_pipeline.goals.store import GoalChange, GoalStore, diff
from qb_pipeline.goals.validate import data_issues


class GoalRefused(Exception):
    """The definition was refused and nothing was stored; `issues` say why, field by field."""

    def __init__(self, issues: Sequence[FieldIssue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(self.problems))

    @property
    def problems(self) -> list[str]:
        """One line per problem: `field: message`."""
        return [f"{i.field}: {i.message}" if i.field else i.message for i in self.issues]


def goal_id_from_name(name: str, taken: Collection[str], reserved: Collection[str] = ()) -> str:
    """A free id made from the goal's name (`Monthly revenue` -> `monthly-revenue`, then
    `monthly-revenue-2`, ...), never one of `taken` or `reserved`."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-") or "goal"
    candidate, n = base, 1
    while candidate in taken or candidate in reserved:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def checked_definition(
    raw: Mapping[str, Any],
    catalog: Catalog | None,
    *,
    previous: GoalDefinition | None = None,
) -> GoalDefinition:
    """The definition `raw` describes, checked against the schema, the rules and `catalog`
    (None: nothing imported yet); GoalRefused with every problem otherwise. `previous`: the
    stored definition a change replaces (see the module docstring for warnings)."""
    goal, issues = parse_goal(dict(raw))
    errors = [i for i in issues if i.severity == ERROR]
    if goal is None or errors:
        raise GoalRefused(errors or [FieldIssue("", "is not a goal definition")])
    if catalog is None or not catalog.has_data:
        org = goal.organization
        raise GoalRefused(
            [
                FieldIssue(
                    "organization",
                    f"{show(org)} has no imported QuickBooks data yet; goals can be set "
                    "once its first sync has finished",
                )
            ]
        )
    found = data_issues(goal, catalog)
    touched = _touched_fields(previous, goal)
    refused = [
        i for i in found if i.severity == ERROR or touched is None or _touches(i.field, touched)
    ]
    if refused:
        raise GoalRefused(refused)
    return goal


def create(
    store: GoalStore,
    raw: Mapping[str, Any],
    catalog: Catalog | None,
    *,
    actor: str,
    source: str,
    realm_id: str | None,
    managed_by: str | None = None,
) -> GoalChange:
    """Check `raw` and store it as a new goal (GoalConflict if its id is taken)."""
    definition = checked_definition(raw, catalog)
    return store.create(
        definition, actor=actor, source=source, realm_id=realm_id, managed_by=managed_by
    )


def update(
    store: GoalStore,
    raw: Mapping[str, Any],
    catalog: Catalog | None,
    *,
    actor: str,
    source: str,
    realm_id: str | None,
    expected_version: int | None = None,
    managed_by: str | None = None,
) -> GoalChange:
    """Check `raw` (a whole definition, the stored goal's id and organization) and store it
    as the goal's next version."""
    org, goal_id = str(raw.get("organization", "")), str(raw.get("id", ""))
    previous = store.get(org, goal_id).definition
    definition = checked_definition(raw, catalog, previous=previous)
    return store.update(
        definition,
        actor=actor,
        source=source,
        expected_version=expected_version,
        realm_id=realm_id,
        managed_by=managed_by,
    )


def merged(definition: GoalDefinition, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The raw definition of `definition` with `changes` applied: top-level fields replaced,
    a field given as None removed (how a partial update, e.g. PATCH, is turned into a whole
    definition). The id and organization cannot change."""
    from qb_pipeline.goals.store import definition_data

    data = definition_data(definition)
    for name, value in changes.items():
        if name in ("id", "organization") and value != data.get(name):
            raise GoalRefused(
                [FieldIssue(name, f"cannot change (the goal is {data[name]!r}); create a new goal")]
            )
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def _touched_fields(previous: GoalDefinition | None, goal: GoalDefinition) -> set[str] | None:
    """The dotted fields the change touched; None for a new goal (everything is new)."""
    if previous is None:
        return None
    return {change.field for change in diff(previous, goal)}


def _touches(field: str, touched: Iterable[str]) -> bool:
    return any(
        t == field or t.startswith(f"{field}.") or field.startswith(f"{t}.") for t in touched
    )


__all__ = ["GoalRefused", "checked_definition", "create", "goal_id_from_name", "merged", "update"]
