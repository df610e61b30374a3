"""Which QuickBooks budgets goals take their targets from (target.budget), by name.

A goal names its budget by name or by id; what people read (the goal page, the Dagster
metadata, marts.goal_values.target_source) is the name, so an id is looked up in the
company's imported budgets (Catalog.budgets: id -> name) and shown as itself when the
import no longer holds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from qb_pipeline.goals.definition import BudgetRef, GoalDefinition


def budget_name(ref: BudgetRef, budgets: Mapping[str, str]) -> str:
    """The budget's name: as the goal names it, else the imported name of its id."""
    if ref.name is not None:
        return ref.name
    return budgets.get(str(ref.budget_id)) or str(ref.budget_id)


def budgets_used(
    goals: Iterable[GoalDefinition], budgets: Mapping[str, str]
) -> dict[str, list[str]]:
    """{budget name: the ids of the goals whose targets it gives}, names and ids sorted."""
    used: dict[str, list[str]] = {}
    for goal in goals:
        if goal.target is not None and goal.target.budget is not None:
            used.setdefault(budget_name(goal.target.budget, budgets), []).append(goal.id)
    return {name: sorted(ids) for name, ids in sorted(used.items())}


__all__ = ["budget_name", "budgets_used"]
