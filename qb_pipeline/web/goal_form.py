"""The goal form (new and edit): its fields, its choices, and the way between the form and a
goal definition.

The form has a structured field for every field of a goal definition (goal_models/README.md):
what it tracks (a report line, an account, or a formula over named items, each an account
or a line, optionally of another dataset), filters, basis, grain, window, direction, band
or tolerance, the at-risk threshold, and the target (one value, one per period written as
`YYYY-MM-DD: amount` lines, growth from a base, or one of the connected company's
QuickBooks budgets by name). This module only turns what was typed
into the raw definition (the shape of a goal file) and back; the rules of a goal are checked
by goals/editing.py, whose refusals name definition fields (`tracks.formula.items.gp.line.
group`). `place_issues` puts each under the form field it is about, with that field's label.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qb_pipeline.goals.catalog import Catalog
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.lines import (
    BALANCE_SHEET,
    CLASSIFICATIONS_BY_DATASET,
    DATASETS,
    PROFIT_AND_LOSS,
    available_lines,
)
from qb_pipeline.goals.problems import FieldIssue
from qb_pipeline.goals.store import definition_data

DATASET_LABELS = {
    "profit_and_loss": "Profit and loss",
    "balance_sheet": "Balance sheet",
    "cash_flow": "Cash flow",
}
GRAINS = {"month": "Month", "quarter": "Fiscal quarter", "year": "Fiscal year"}
WINDOWS = {
    "period": "The period itself",
    "fiscal_ytd": "Fiscal year to date",
    "trailing_12_months": "Trailing twelve months",
}
DIRECTIONS = {
    "increase": "Higher is better (increase)",
    "decrease": "Lower is better (decrease)",
    "maintain": "Stay within a band (maintain)",
}
BASES = {"accrual": "Accrual", "cash": "Cash"}
TRACKS_KINDS = {"line": "A report line", "account": "An account", "formula": "A formula"}
TARGET_KINDS = {
    "value": "The same target every period",
    "per_period": "A target per period",
    "growth": "Growth from a base",
    "budget": "A QuickBooks budget",
    "none": "No target",
}
GROWTH_BASES = {
    "previous_period": "The previous period's actual",
    "same_period_last_year": "The same period last year",
    "number": "A number, in a base period",
}

LABELS = {
    "goal_id": "Id",
    "name": "Name",
    "description": "Description",
    "dataset": "Dataset",
    "tracks_kind": "What to track",
    "line": "Report line",
    "account": "Account",
    "with_subaccounts": "Include sub-accounts",
    "expression": "Formula",
    "items": "Formula items",
    "basis": "Basis",
    "filter": "Class or department",
    "grain": "Period",
    "window": "Each value covers",
    "direction": "Direction",
    "band": "Band",
    "band_low": "Band low",
    "band_high": "Band high",
    "tolerance_pct": "Tolerance (± % of target)",
    "at_risk_pct": "At risk within (% of target)",
    "target_kind": "Target",
    "target_value": "Target value",
    "per_period": "Targets per period",
    "growth_base": "Growth base",
    "growth_base_value": "Base value",
    "growth_base_period": "Base period",
    "growth_rate_pct": "Growth per period (%)",
    "budget": "Budget",
}
# A goal stored with target.budget.budget_id (a goal file, the API) keeps its id in the
# form as `id:<budget_id>`, so that an edit never turns it into a name silently.
BUDGET_ID_PREFIX = "id:"
TEXT_FIELDS = (
    "goal_id", "name", "description", "dataset", "tracks_kind", "line", "account", "expression",
    "basis", "filter", "grain", "window", "direction", "band_low", "band_high", "tolerance_pct",
    "at_risk_pct", "target_kind", "target_value", "per_period", "growth_base",
    "growth_base_value", "growth_base_period", "growth_rate_pct", "budget",
)  # fmt: skip
ITEM_FIELDS = ("name", "dataset", "line", "account")
MIN_ITEM_ROWS = 3  # a ratio needs two items; one row more is always offered
MAX_ITEM_ROWS = 20
DEFAULT_AT_RISK_PCT = "10"
# Fields of a definition that the form does not show; an edit keeps them as they were.
KEPT_FIELDS = ("created_by", "created_at")


@dataclass
class ItemRow:
    """One named input of a formula, as typed."""

    name: str = ""
    dataset: str = ""  # "" = the goal's dataset
    line: str = ""
    account: str = ""
    subaccounts: bool = False

    @property
    def filled(self) -> bool:
        return bool(self.name or self.line or self.account)


@dataclass
class FormState:
    """What was typed, and what is wrong with it: by field, and for the whole form."""

    values: dict[str, str] = field(default_factory=dict)
    items: list[ItemRow] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # not about one field

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.problems

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def item_rows(self) -> list[tuple[int, ItemRow]]:
        """The rows to show: every filled one and at least one empty one."""
        rows = [row for row in self.items if row.filled]
        wanted = min(max(MIN_ITEM_ROWS, len(rows) + 1), MAX_ITEM_ROWS)
        rows += [ItemRow() for _ in range(wanted - len(rows))]
        return list(enumerate(rows))

    def label(self, name: str) -> str:
        if name.startswith("item-"):
            _, index, part = name.split("-", 2)
            return f"Item {int(index) + 1} {part.replace('_', ' ')}"
        return LABELS.get(name, name)

    def messages(self) -> list[str]:
        """Every problem in one line each, the field's label first."""
        lines = [f"{self.label(n)}: {m}" for n, ms in self.errors.items() for m in ms]
        return [*lines, *self.problems]


# -- choices -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    """What the form offers: only what the connected company has imported (plus the values
    a goal being edited already holds, marked, so an edit never drops them silently)."""

    datasets: list[tuple[str, str]]
    lines: list[tuple[str, str]]
    accounts: list[tuple[str, str]]
    item_lines: list[tuple[str, list[tuple[str, str]]]]  # (dataset label, [(group, label)])
    item_accounts: list[tuple[str, list[tuple[str, str]]]]
    bases: list[tuple[str, str]]
    filters: list[tuple[str, list[tuple[str, str]]]]
    grains: list[tuple[str, str]]
    windows: list[tuple[str, str]]
    directions: list[tuple[str, str]]
    tracks_kinds: list[tuple[str, str]]
    target_kinds: list[tuple[str, str]]
    growth_bases: list[tuple[str, str]]
    budgets: list[tuple[str, str]]  # the imported budgets, by name (newest first)


def imported_datasets(catalog: Catalog) -> list[str]:
    """The datasets with imported rows, profit and loss first (the usual goal)."""
    return [d for d in DATASETS if d in catalog.datasets]


def _accounts(catalog: Catalog, dataset: str) -> list[tuple[str, str]]:
    allowed = CLASSIFICATIONS_BY_DATASET.get(dataset, ())
    found = sorted(
        (a for a in catalog.accounts.values() if a.active and a.classification in allowed),
        key=lambda a: (a.fully_qualified_name or a.name).lower(),
    )
    return [(a.account_id, f"{a.fully_qualified_name or a.name} ({a.account_id})") for a in found]


def _lines(catalog: Catalog, dataset: str) -> list[tuple[str, str]]:
    return [(g, g) for g in available_lines(dataset, catalog.groups.get(dataset, set()))]


def _budgets(catalog: Catalog, value: str) -> list[tuple[str, str]]:
    # Offered by name: the name is what an editor knows the budget by (QuickBooks shows no
    # ids), and a name stays meaningful in the goal's YAML and history.
    options = [(name, name) for name in dict.fromkeys(catalog.budgets.values()) if name]
    if value.startswith(BUDGET_ID_PREFIX):
        budget_id = value.removeprefix(BUDGET_ID_PREFIX)
        name = catalog.budgets.get(budget_id)
        label = f"{name} (budget id {budget_id})" if name else f"budget id {budget_id}"
        return [*options, (value, label if name else f"{label} (not imported)")]
    return _keep(options, value, "not a budget of the imported data")


def _keep(options: list[tuple[str, str]], value: str, note: str) -> list[tuple[str, str]]:
    if value and value not in {code for code, _ in options}:
        return [*options, (value, f"{value} ({note})")]
    return options


def choices(catalog: Catalog, dataset: str, state: FormState | None = None) -> Choices:
    state = state or FormState()
    datasets = imported_datasets(catalog)
    filters = []
    if dataset == PROFIT_AND_LOSS:
        for dimension, label in (("class", "Classes"), ("department", "Departments")):
            options = [
                (f"{dim}:{dim_id}", f"{name or dim_id} ({dim_id})")
                for (dim, dim_id), name in sorted(catalog.dimensions.items())
                if dim == dimension
            ]
            if options:
                filters.append((label, options))
    kept_filter = state.value("filter")
    if kept_filter and all(kept_filter != code for _, opts in filters for code, _ in opts):
        filters.append(("Not in the imported data", [(kept_filter, kept_filter)]))
    windows = WINDOWS if dataset != BALANCE_SHEET else {"period": WINDOWS["period"]}
    item_lines, item_accounts = [], []
    for item_dataset in datasets:
        label = DATASET_LABELS.get(item_dataset, item_dataset)
        item_lines.append((label, _lines(catalog, item_dataset)))
        item_accounts.append((label, _accounts(catalog, item_dataset)))
    for row in state.items:
        _keep_item(item_lines, row.line, "not a line with imported rows")
        _keep_item(item_accounts, row.account, "not an active account")
    bases = [(b, BASES.get(b, b)) for b in sorted(catalog.bases.get(dataset, set()))]
    return Choices(
        datasets=[(d, DATASET_LABELS.get(d, d)) for d in datasets],
        lines=_keep(_lines(catalog, dataset), state.value("line"), "no imported rows"),
        accounts=_keep(
            _accounts(catalog, dataset), state.value("account"), "not an active account here"
        ),
        item_lines=item_lines,
        item_accounts=item_accounts,
        bases=_keep(bases, state.value("basis"), "not imported"),
        filters=filters,
        grains=list(GRAINS.items()),
        windows=_keep(list(windows.items()), state.value("window"), "not for this dataset"),
        directions=list(DIRECTIONS.items()),
        tracks_kinds=list(TRACKS_KINDS.items()),
        target_kinds=list(TARGET_KINDS.items()),
        growth_bases=list(GROWTH_BASES.items()),
        budgets=_budgets(catalog, state.value("budget")),
    )


def _keep_item(groups: list[tuple[str, list[tuple[str, str]]]], value: str, note: str) -> None:
    if value and all(value != code for _, options in groups for code, _ in options):
        groups.append(("Other", [(value, f"{value} ({note})")]))


# -- from a definition to the form ----------------------------------------------------------


def initial_state(dataset: str, catalog: Catalog) -> FormState:
    """A new goal's form: the usual defaults, the dataset's first imported basis."""
    bases = catalog.bases.get(dataset, set())
    basis = "accrual" if "accrual" in bases or not bases else sorted(bases)[0]
    values = {
        "dataset": dataset,
        "tracks_kind": "line",
        "basis": basis,
        "grain": "month",
        "window": "period",
        "direction": "increase",
        "at_risk_pct": DEFAULT_AT_RISK_PCT,
        "target_kind": "value",
        "growth_base": "previous_period",
    }
    return FormState(values=values)


def state_from_definition(definition: GoalDefinition) -> FormState:
    """The form filled in with a stored goal (the edit page)."""
    data = definition_data(definition)
    tracks, target = data["tracks"], data.get("target") or {}
    filters = data.get("filters") or {}
    values = {
        "goal_id": data["id"],
        "name": data["name"],
        "description": data.get("description", ""),
        "dataset": data["dataset"],
        "tracks_kind": next(iter(tracks)),
        "basis": data.get("basis", "accrual"),
        "grain": data["grain"],
        "window": data.get("window", "period"),
        "direction": data.get("direction", "increase"),
        "at_risk_pct": _text(data.get("at_risk_threshold_pct")),
        "tolerance_pct": _text(data.get("tolerance_pct")),
        "target_kind": next(iter(target), "none"),
        "growth_base": "previous_period",
    }
    if "line" in tracks:
        values["line"] = tracks["line"]["group"]
    if "account" in tracks:
        values["account"] = tracks["account"]["account_id"]
        values["with_subaccounts"] = "on" if tracks["account"].get("include_subaccounts") else ""
    items = []
    if "formula" in tracks:
        values["expression"] = tracks["formula"]["expression"]
        for name, item in tracks["formula"]["items"].items():
            account = item.get("account") or {}
            items.append(
                ItemRow(
                    name=name,
                    dataset=item.get("dataset", ""),
                    line=(item.get("line") or {}).get("group", ""),
                    account=account.get("account_id", ""),
                    subaccounts=bool(account.get("include_subaccounts")),
                )
            )
    if "class_id" in filters:
        values["filter"] = f"class:{filters['class_id']}"
    elif "department_id" in filters:
        values["filter"] = f"department:{filters['department_id']}"
    if "band" in data:
        values["band_low"] = _text(data["band"]["low"])
        values["band_high"] = _text(data["band"]["high"])
    if "value" in target:
        values["target_value"] = _text(target["value"])
    if "per_period" in target:
        values["per_period"] = "\n".join(
            f"{start}: {_text(amount)}" for start, amount in target["per_period"].items()
        )
    if "growth" in target:
        growth = target["growth"]
        base = growth["base"]
        if isinstance(base, str):
            values["growth_base"] = base
        else:
            values["growth_base"] = "number"
            values["growth_base_value"] = _text(base)
            values["growth_base_period"] = str(growth.get("base_period") or "")
        values["growth_rate_pct"] = _text(growth["rate_pct"])
    if "budget" in target:
        budget = target["budget"]
        values["budget"] = budget.get("name") or f"{BUDGET_ID_PREFIX}{budget['budget_id']}"
    return FormState(values=values, items=items)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- from the form to a definition ----------------------------------------------------------


def read_form(form: Mapping[str, Any]) -> tuple[dict[str, Any] | None, FormState]:
    """The raw definition the form describes (without `organization`; `id` only when typed),
    or None and the state to show again with what is wrong. Only the form's own checks are
    made here (numbers, dates, one line per target); the definition's rules come later."""
    state = FormState(values={n: str(form.get(n) or "").strip() for n in TEXT_FIELDS})
    values = state.values
    values["with_subaccounts"] = "on" if form.get("with_subaccounts") == "on" else ""
    state.items = _item_rows(form)
    raw: dict[str, Any] = {"name": values["name"], "dataset": values["dataset"]}
    if values["goal_id"]:
        raw["id"] = values["goal_id"]
    if values["description"]:
        raw["description"] = values["description"]
    if not values["name"]:
        state.add("name", "enter a name for the goal")
    raw["tracks"] = _tracks(state)
    if values["basis"]:
        raw["basis"] = values["basis"]
    if values["filter"]:
        dimension, _, dim_id = values["filter"].partition(":")
        if dimension in ("class", "department") and dim_id:
            raw["filters"] = {f"{dimension}_id": dim_id}
        else:
            state.add("filter", f"'{values['filter']}' is not one of the choices")
    for name in ("grain", "window", "direction"):
        if values[name]:
            raw[name] = values[name]
    low = _number(state, "band_low")
    high = _number(state, "band_high")
    if low is not None or high is not None:
        if low is None or high is None:
            state.add("band", "enter both the low and the high end of the band, or neither")
        else:
            raw["band"] = {"low": low, "high": high}
    tolerance = _number(state, "tolerance_pct")
    if tolerance is not None:
        raw["tolerance_pct"] = tolerance
    at_risk = _number(state, "at_risk_pct")
    if at_risk is not None:
        raw["at_risk_threshold_pct"] = at_risk
    target = _target(state)
    if target is not None:
        raw["target"] = target
    return (raw if state.ok else None), state


def _item_rows(form: Mapping[str, Any]) -> list[ItemRow]:
    rows = []
    for index in range(MAX_ITEM_ROWS):
        text = {part: str(form.get(f"item-{index}-{part}") or "").strip() for part in ITEM_FIELDS}
        rows.append(
            ItemRow(
                name=text["name"],
                dataset=text["dataset"],
                line=text["line"],
                account=text["account"],
                subaccounts=form.get(f"item-{index}-subaccounts") == "on",
            )
        )
    return rows


def _tracks(state: FormState) -> dict[str, Any]:
    values = state.values
    kind = values["tracks_kind"] or "line"
    if kind == "line":
        if not values["line"]:
            state.add("line", "choose the report line to track")
        return {"line": {"group": values["line"]}}
    if kind == "account":
        if not values["account"]:
            state.add("account", "choose the account to track")
        return {
            "account": {
                "account_id": values["account"],
                "include_subaccounts": bool(values["with_subaccounts"]),
            }
        }
    if kind != "formula":
        state.add("tracks_kind", f"'{kind}' is not one of the choices")
        return {}
    items: dict[str, Any] = {}
    for index, row in enumerate(state.items):
        if not row.filled:
            continue
        key = f"item-{index}"
        if not row.name:
            state.add(f"{key}-name", "give the item a name, such as income or gross_profit")
            continue
        if row.name in items:
            state.add(f"{key}-name", f"'{row.name}' names another item already")
            continue
        if bool(row.line) == bool(row.account):
            state.add(f"{key}-line", "choose a report line or an account for the item, not both")
            continue
        item: dict[str, Any] = (
            {"line": {"group": row.line}}
            if row.line
            else {"account": {"account_id": row.account, "include_subaccounts": row.subaccounts}}
        )
        if row.dataset:
            item["dataset"] = row.dataset
        items[row.name] = item
    if not values["expression"]:
        state.add("expression", "write the formula, such as gross_profit / income * 100")
    if not items and not any(n.startswith("item-") for n in state.errors):
        state.add("items", "name at least one item the formula uses")
    return {"formula": {"expression": values["expression"], "items": items}}


def _target(state: FormState) -> dict[str, Any] | None:
    values = state.values
    kind = values["target_kind"] or "value"
    if kind == "none":
        return None
    if kind == "value":
        value = _number(state, "target_value", required=True)
        return {"value": value} if value is not None else None
    if kind == "per_period":
        return _per_period(state)
    if kind == "budget":
        return _budget(state)
    if kind != "growth":
        state.add("target_kind", f"'{kind}' is not one of the choices")
        return None
    base_kind = values["growth_base"] or "previous_period"
    rate = _number(state, "growth_rate_pct", required=True)
    growth: dict[str, Any] = {"rate_pct": rate}
    if base_kind == "number":
        growth["base"] = _number(state, "growth_base_value", required=True)
        if not values["growth_base_period"]:
            state.add("growth_base_period", "enter the first day of the base period")
        growth["base_period"] = values["growth_base_period"]
    elif base_kind in GROWTH_BASES:
        growth["base"] = base_kind
    else:
        state.add("growth_base", f"'{base_kind}' is not one of the choices")
    return {"growth": growth}


def _budget(state: FormState) -> dict[str, Any] | None:
    # Only "chosen or not" is checked here: whether the company has that budget is the
    # definition's rule (goals/validate.py), which names target.budget.name and the value.
    chosen = state.values["budget"]
    if not chosen:
        state.add("budget", "choose the QuickBooks budget whose amounts are the targets")
        return None
    if chosen.startswith(BUDGET_ID_PREFIX):
        return {"budget": {"budget_id": chosen.removeprefix(BUDGET_ID_PREFIX)}}
    return {"budget": {"name": chosen}}


def _per_period(state: FormState) -> dict[str, Any] | None:
    targets: dict[str, float] = {}
    lines = [line for line in state.values["per_period"].splitlines() if line.strip()]
    if not lines:
        state.add("per_period", "enter one target per line, such as 2026-04-01: 25000")
        return None
    for number, line in enumerate(lines, start=1):
        start, amount = _target_line(line)
        value = _float(amount) if start and amount else None
        if value is None:
            state.add(
                "per_period",
                f"line {number} ({line.strip()!r}) is not 'YYYY-MM-DD: amount', such as "
                "2026-04-01: 25000",
            )
            continue
        if start in targets:
            state.add("per_period", f"line {number}: {start} has a target already")
            continue
        targets[start] = value
    return {"per_period": targets} if targets else None


def _target_line(line: str) -> tuple[str, str]:
    """`2026-04-01: 25000` (or `=`, or a space between) -> ("2026-04-01", "25000")."""
    text = line.strip()
    for separator in (":", "="):
        start, found, amount = text.partition(separator)
        if found:
            return start.strip(), amount.strip()
    parts = text.split()
    return (parts[0], parts[1]) if len(parts) == 2 else ("", "")


def _float(text: str) -> float | None:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _number(state: FormState, name: str, *, required: bool = False) -> float | None:
    text = state.values[name]
    if not text:
        if required:
            state.add(name, "enter a number, such as 12000 or 1250.50")
        return None
    value = _float(text)
    if value is None:
        state.add(name, f"'{text}' is not a number; write it like 12000 or 1250.50")
    return value


def with_kept_fields(raw: dict[str, Any], previous: GoalDefinition | None) -> dict[str, Any]:
    """`raw` plus the fields of the stored definition the form does not show."""
    if previous is None:
        return raw
    data = definition_data(previous)
    return {**{k: data[k] for k in KEPT_FIELDS if k in data}, **raw}


# -- from the definition's refusals back to the form ------------------------------------------

_SIMPLE = {
    "id": "goal_id",
    "name": "name",
    "description": "description",
    "dataset": "dataset",
    "basis": "basis",
    "grain": "grain",
    "window": "window",
    "direction": "direction",
    "tolerance_pct": "tolerance_pct",
    "at_risk_threshold_pct": "at_risk_pct",
    "tracks": "tracks_kind",
    "target": "target_kind",
    "target.value": "target_value",
    "target.growth": "growth_base",
    "target.growth.base": "growth_base_value",
    "target.growth.base_period": "growth_base_period",
    "target.growth.rate_pct": "growth_rate_pct",
    "tracks.formula": "expression",
    "tracks.formula.expression": "expression",
    "tracks.formula.items": "items",
}
_PREFIXES = (
    ("tracks.line", "line"),
    ("tracks.account.include_subaccounts", "with_subaccounts"),
    ("tracks.account", "account"),
    ("filters", "filter"),
    ("band", "band"),
    ("target.per_period", "per_period"),
    ("target.budget", "budget"),
)


def form_field(path: str, state: FormState) -> str | None:
    """The form field a definition field (dotted path) was typed in; None: the whole form."""
    if path in _SIMPLE:
        return _SIMPLE[path]
    items_prefix = "tracks.formula.items."
    if path.startswith(items_prefix):
        name, _, rest = path.removeprefix(items_prefix).partition(".")
        for index, row in enumerate(state.items):
            if row.filled and row.name == name:
                part = (
                    "subaccounts"
                    if rest.endswith("include_subaccounts")
                    else rest.split(".")[0]
                    if rest.split(".")[0] in ("line", "account", "dataset")
                    else "name"
                )
                return f"item-{index}-{part}"
        return "items"
    for prefix, name in _PREFIXES:
        if path == prefix or path.startswith(prefix + "."):
            return name
    return None


def place_issues(state: FormState, issues: Iterable[FieldIssue]) -> FormState:
    """Put the definition's refusals under the fields they are about."""
    for issue in issues:
        name = form_field(issue.field, state)
        if name is None:
            state.problems.append(
                f"{issue.field}: {issue.message}" if issue.field else issue.message
            )
        else:
            state.add(name, issue.message)
    return state


def refused_state(state: FormState, message: str) -> FormState:
    """A refusal that is about the whole goal (a conflict, a missing connection)."""
    state.problems.append(message)
    return state


__all__ = [
    "DATASET_LABELS",
    "GRAINS",
    "LABELS",
    "WINDOWS",
    "Choices",
    "FormState",
    "ItemRow",
    "choices",
    "form_field",
    "imported_datasets",
    "initial_state",
    "place_issues",
    "read_form",
    "refused_state",
    "state_from_definition",
    "with_kept_fields",
]
