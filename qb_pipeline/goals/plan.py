"""Goal definitions as tables, so that SQL can compute all of them in one pass.

- `defs`: one row per goal (grain, window, direction, target rule, formula constants);
- `series`: one row per distinct monthly series the goals read (dataset, basis, account or
  line, sub-accounts, class/department). Goals that read the same series share it, so ten
  goals on Income cost one series, not ten;
- `items`: one row per goal x tracked item, with the item's coefficients in the goal's
  ratio (see formula.py; a plain goal is 1 * item / 1);
- `targets`: per-period targets, one row per goal x period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import pyarrow as pa

from qb_pipeline.goals.definition import FormulaItem, GoalDefinition
from qb_pipeline.goals.formula import FormulaError, Ratio, compile_formula
from qb_pipeline.goals.lines import AGGREGATION_BY_DATASET, all_line_parts

# goal_key (the goal's position) joins the tables: integer keys hash and group far faster
# than the text ids, which only come back at the end.
DEFS_SCHEMA = pa.schema(
    [
        ("goal_key", pa.int32()),
        ("goal_id", pa.string()),
        ("goal_name", pa.string()),
        ("grain", pa.string()),
        ("window", pa.string()),
        ("direction", pa.string()),
        ("at_risk_pct", pa.float64()),
        ("band_low", pa.float64()),
        ("band_high", pa.float64()),
        ("tolerance_pct", pa.float64()),
        ("target_kind", pa.string()),
        ("target_value", pa.float64()),
        ("growth_base", pa.string()),
        ("growth_base_value", pa.float64()),
        ("growth_base_period", pa.date32()),
        ("growth_rate_pct", pa.float64()),
        ("budget_id", pa.string()),  # a budget target: the budget's id, or its name
        ("budget_name", pa.string()),
        ("num_const", pa.float64()),
        ("den_const", pa.float64()),
        ("is_ratio", pa.bool_()),  # divides by an item: a ratio, not an amount
    ]
)
SERIES_SCHEMA = pa.schema(
    [
        ("series_id", pa.int32()),
        ("dataset", pa.string()),
        ("aggregation", pa.string()),
        ("basis", pa.string()),
        ("kind", pa.string()),
        ("account_id", pa.string()),
        ("include_subaccounts", pa.bool_()),
        ("line_group", pa.string()),
        ("dimension", pa.string()),  # '' when unfiltered, so joins need no NULL handling
        ("dimension_id", pa.string()),
    ]
)
ITEMS_SCHEMA = pa.schema(
    [
        ("goal_key", pa.int32()),
        ("item", pa.string()),
        ("series_id", pa.int32()),
        ("num_coef", pa.float64()),
        ("den_coef", pa.float64()),
    ]
)
TARGETS_SCHEMA = pa.schema(
    [("goal_key", pa.int32()), ("period_start", pa.date32()), ("target", pa.float64())]
)
LINE_PARTS_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("line_group", pa.string()),
        ("report_group", pa.string()),
        ("sign", pa.int8()),
    ]
)
CALENDAR_SCHEMA = pa.schema(
    [
        ("grain", pa.string()),
        ("window", pa.string()),
        ("period_start", pa.date32()),
        ("period_end", pa.date32()),
        ("window_start", pa.date32()),
        ("months", pa.int32()),
        ("previous_start", pa.date32()),
        ("year_ago_start", pa.date32()),
        ("in_span", pa.bool_()),
    ]
)

SeriesKey = tuple[str, str, str, str | None, bool, str | None, str, str]


@dataclass
class GoalPlan:
    defs: pa.Table
    series: pa.Table
    items: pa.Table
    targets: pa.Table
    target_dates: list[date] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # goal id -> why


@lru_cache(maxsize=4096)
def _ratio(expression: str, names: frozenset[str]) -> Ratio:
    return compile_formula(expression, names)


def plan_goals(goals: Sequence[GoalDefinition]) -> GoalPlan:
    """The tables for `goals`; a goal that cannot be planned is skipped, never fatal."""
    defs: dict[str, list] = {name: [] for name in DEFS_SCHEMA.names}
    items: dict[str, list] = {name: [] for name in ITEMS_SCHEMA.names}
    targets: dict[str, list] = {name: [] for name in TARGETS_SCHEMA.names}
    series: dict[SeriesKey, int] = {}
    skipped: dict[str, str] = {}
    for goal in goals:
        try:
            ratio, inputs = _inputs(goal)
        except FormulaError as error:
            skipped[goal.id] = f"tracks.formula.expression {error}"
            continue
        goal_key = len(defs["goal_key"])
        for name, (dataset, kind, account_id, subs, group) in inputs.items():
            key = (dataset, goal.basis, kind, account_id, subs, group, *_dimension(goal))
            series_id = series.setdefault(key, len(series))
            items["goal_key"].append(goal_key)
            items["item"].append(name)
            items["series_id"].append(series_id)
            items["num_coef"].append(ratio.numerator.get(name, 0.0))
            items["den_coef"].append(ratio.denominator.get(name, 0.0))
        for column, value in _definition_row(goal_key, goal, ratio).items():
            defs[column].append(value)
        for day, value in ((goal.target.per_period or {}) if goal.target else {}).items():
            targets["goal_key"].append(goal_key)
            targets["period_start"].append(day)
            targets["target"].append(value)
    series_columns: dict[str, list] = {name: [] for name in SERIES_SCHEMA.names}
    for key, series_id in series.items():
        dataset, basis, kind, account_id, subs, group, dimension, dimension_id = key
        row = {
            "series_id": series_id,
            "dataset": dataset,
            "aggregation": AGGREGATION_BY_DATASET[dataset],
            "basis": basis,
            "kind": kind,
            "account_id": account_id,
            "include_subaccounts": subs,
            "line_group": group,
            "dimension": dimension,
            "dimension_id": dimension_id,
        }
        for column, value in row.items():
            series_columns[column].append(value)
    return GoalPlan(
        defs=pa.table(defs, schema=DEFS_SCHEMA),
        series=pa.table(series_columns, schema=SERIES_SCHEMA),
        items=pa.table(items, schema=ITEMS_SCHEMA),
        targets=pa.table(targets, schema=TARGETS_SCHEMA),
        target_dates=sorted(set(targets["period_start"])),
        skipped=skipped,
    )


def line_parts_table() -> pa.Table:
    rows = all_line_parts()
    return pa.table(
        {name: [row[i] for row in rows] for i, name in enumerate(LINE_PARTS_SCHEMA.names)},
        schema=LINE_PARTS_SCHEMA,
    )


def calendar_table(rows: list[dict]) -> pa.Table:
    return pa.table(
        {name: [row[name] for row in rows] for name in CALENDAR_SCHEMA.names},
        schema=CALENDAR_SCHEMA,
    )


Input = tuple[str, str, str | None, bool, str | None]  # dataset, kind, account, subs, line


def _inputs(goal: GoalDefinition) -> tuple[Ratio, dict[str, Input]]:
    tracks = goal.tracks
    if tracks.formula is None:
        ratio = Ratio({"value": 1.0}, {}, 0.0, 1.0)
        tracked = FormulaItem(account=tracks.account, line=tracks.line)
        return ratio, {"value": _input(tracked, goal.dataset)}
    formula = tracks.formula
    ratio = _ratio(formula.expression, frozenset(formula.items))
    return ratio, {name: _input(item, goal.dataset) for name, item in formula.items.items()}


def _input(item: FormulaItem, default_dataset: str) -> Input:
    dataset = item.dataset or default_dataset
    if item.account is not None:
        account = item.account
        return dataset, "account", account.account_id, account.include_subaccounts, None
    assert item.line is not None  # the model guarantees one of the two
    return dataset, "line", None, False, item.line.group


def _dimension(goal: GoalDefinition) -> tuple[str, str]:
    filters = goal.filters
    if filters is not None and filters.class_id is not None:
        return "class", filters.class_id
    if filters is not None and filters.department_id is not None:
        return "department", filters.department_id
    return "", ""


def _definition_row(goal_key: int, goal: GoalDefinition, ratio: Ratio) -> dict:
    target = goal.target
    growth = target.growth if target else None
    kind = None
    if target is not None:
        kind = "value" if target.value is not None else "per_period" if target.per_period else None
        kind = kind or ("budget" if target.budget is not None else "growth")
    numeric_base = growth is not None and not isinstance(growth.base, str)
    return {
        "goal_key": goal_key,
        "goal_id": goal.id,
        "goal_name": goal.name,
        "grain": goal.grain,
        "window": goal.window,
        "direction": goal.direction,
        "at_risk_pct": float(goal.at_risk_threshold_pct),
        "band_low": goal.band.low if goal.band else None,
        "band_high": goal.band.high if goal.band else None,
        "tolerance_pct": goal.tolerance_pct,
        "target_kind": kind,
        "target_value": target.value if target else None,
        "growth_base": None if growth is None else "value" if numeric_base else growth.base,
        "growth_base_value": float(growth.base) if growth is not None and numeric_base else None,
        "growth_base_period": growth.base_period if growth else None,
        "growth_rate_pct": growth.rate_pct if growth else None,
        "budget_id": target.budget.budget_id if target and target.budget else None,
        "budget_name": target.budget.name if target and target.budget else None,
        "num_const": ratio.numerator_constant,
        "den_const": ratio.denominator_constant,
        "is_ratio": bool(ratio.denominator),
    }


__all__ = ["GoalPlan", "calendar_table", "line_parts_table", "plan_goals"]
