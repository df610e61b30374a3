"""A goal in words, for its pages: what it tracks, its target, its periods, its YAML."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import yaml

from qb_pipeline.goals.budgets import budget_name
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.store import FieldChange, definition_data
from qb_pipeline.web.goal_chart import format_amount
from qb_pipeline.web.goal_form import DATASET_LABELS, GRAINS, WINDOWS

STATUS_SYMBOLS = {
    "on_track": "✓",
    "at_risk": "!",
    "off_track": "✗",
    "no_target": "-",
    "no_data": "○",
}
STATE_LABELS = {"active": "Active", "archived": "Archived", "needs_review": "Needs review"}
CHANGE_LABELS = {
    "created": "Created",
    "updated": "Changed",
    "archived": "Archived",
    "restored": "Restored",
    "needs_review": "Sent to review",
    "confirmed": "Confirmed",
    "realm_changed": "Moved to the connected company",
}


def period_label(start: date, end: date) -> str:
    """`Aug 2026` for a month, `Apr 2026 to Jun 2026` for a quarter or year."""
    if (start.year, start.month) == (end.year, end.month):
        return f"{start:%b %Y}"
    return f"{start:%b %Y} to {end:%b %Y}"


def _account_text(ref: Any, names: Mapping[str, str]) -> str:
    text = f"account {ref.account_id}"
    if ref.account_id in names:
        text += f" {names[ref.account_id]}"
    if ref.include_subaccounts:
        text += " (with sub-accounts)"
    return text


def tracks_text(definition: GoalDefinition, names: Mapping[str, str] | None = None) -> str:
    """What a goal tracks: `Income line`, `account 13 Products (with sub-accounts)`,
    `formula gross_profit / income * 100`."""
    names = names or {}
    tracks = definition.tracks
    if tracks.line is not None:
        return f"{tracks.line.group} line"
    if tracks.account is not None:
        return _account_text(tracks.account, names)
    return f"formula {tracks.formula.expression}"


def formula_items(
    definition: GoalDefinition, names: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """(item name, what it is) for a formula goal; empty for the others."""
    formula = definition.tracks.formula
    if formula is None:
        return []
    rows = []
    for name, item in formula.items.items():
        text = f"{item.line.group} line" if item.line else _account_text(item.account, names or {})
        if item.dataset and item.dataset != definition.dataset:
            text += f" of the {DATASET_LABELS.get(item.dataset, item.dataset).lower()}"
        rows.append((name, text))
    return rows


SOURCE_TEXTS = {
    "fixed": "one value every period",
    "per_period": "a value per period",
    "growth": "growth from a base",
    "band": "the band",
}


def source_text(source: str | None) -> str | None:
    """marts.goal_values.target_source in words: `budget FY2026 Budget`, `one value every
    period`; None when the goal has no target (or the values predate the column)."""
    if source is None:
        return None
    kind, _, name = source.partition(":")
    if kind == "budget":
        return f"budget {name}"
    return SOURCE_TEXTS.get(source, source)


def target_text(definition: GoalDefinition, budgets: Mapping[str, str] | None = None) -> str:
    """The target in words (`budgets`: the company's budget names by id, for a budget
    named by id)."""
    target = definition.target
    if target is None:
        return "none (every period is no target)"
    if target.budget is not None:
        name = budget_name(target.budget, budgets or {})
        return f"budget {name}: its amounts of what the goal tracks, over each period's window"
    if target.value is not None:
        return format_amount(target.value)
    if target.per_period is not None:
        parts = [f"{start:%b %Y}: {format_amount(v)}" for start, v in target.per_period.items()]
        return "per period: " + "; ".join(parts)
    growth = target.growth
    assert growth is not None
    if isinstance(growth.base, str):
        base = growth.base.replace("_", " ")
        return f"{growth.rate_pct:g} % more than the {base}'s actual"
    start = f" in {growth.base_period:%b %Y}" if growth.base_period else ""
    return f"{format_amount(float(growth.base))}{start}, growing {growth.rate_pct:g} % a period"


def definition_rows(
    definition: GoalDefinition,
    names: Mapping[str, str] | None = None,
    budgets: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """The definition as (label, words) rows, in the order of a goal file."""
    d = definition
    rows = []
    if d.description:
        rows.append(("Description", d.description))
    rows.append(("Dataset", f"{DATASET_LABELS.get(d.dataset, d.dataset)} ({d.basis} basis)"))
    rows.append(("Tracks", tracks_text(d, names)))
    for name, text in formula_items(d, names):
        rows.append((f"Item {name}", text))
    if d.filters is not None and d.filters.class_id:
        rows.append(("Only", f"class {d.filters.class_id}"))
    if d.filters is not None and d.filters.department_id:
        rows.append(("Only", f"department {d.filters.department_id}"))
    window = WINDOWS.get(d.window, d.window).lower()
    rows.append(("Period", f"{GRAINS.get(d.grain, d.grain)}; each value covers {window}"))
    rows.append(("Target", target_text(d, budgets)))
    direction = d.direction.replace("_", " ")
    if d.band is not None:
        direction += f" (between {format_amount(d.band.low)} and {format_amount(d.band.high)})"
    if d.tolerance_pct is not None:
        direction += f" (± {d.tolerance_pct:g} % of the target)"
    rows.append(("Direction", f"{direction}; at risk within {d.at_risk_threshold_pct:g} %"))
    return rows


def yaml_text(definition: GoalDefinition) -> str:
    """The definition as a goal file would hold it."""
    return yaml.safe_dump(
        definition_data(definition), sort_keys=False, allow_unicode=True, default_flow_style=False
    )


def change_value(value: Any) -> str:
    """A before/after value of a definition history entry."""
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def change_text(change: FieldChange) -> str:
    return f"{change.field}: {change_value(change.before)} → {change_value(change.after)}"


__all__ = [
    "CHANGE_LABELS",
    "STATE_LABELS",
    "STATUS_SYMBOLS",
    "change_text",
    "definition_rows",
    "formula_items",
    "period_label",
    "source_text",
    "target_text",
    "tracks_text",
    "yaml_text",
]
