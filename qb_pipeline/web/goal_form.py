"""The "New QuickBooks Goal" form: its choices, reading it into a CreateRequest, and putting
the create flow's refusals next to the fields they are about.

The rules of a goal live in one place, `qb_pipeline.goals.cli.create_goal` (the CLI's create
flow). This module only does what the CLI's option parser does there: types (numbers),
"one of line or account", and turning the web's field names into a CreateRequest. Refusals
come back worded for the CLI's options (`--account: ...`); FIELD_OF_OPTION maps each option
to the form field it came from, so the message appears under that field with its label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from qb_pipeline.goals.catalog import Catalog
from qb_pipeline.goals.cli import CreateRequest
from qb_pipeline.goals.lines import (
    BALANCE_SHEET,
    CLASSIFICATIONS_BY_DATASET,
    DATASETS,
    PROFIT_AND_LOSS,
    available_lines,
)

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
    "maintain": "Stay within a band around the target (maintain)",
}
BASES = {"accrual": "Accrual", "cash": "Cash"}

LABELS = {
    "name": "Name",
    "description": "Description",
    "dataset": "Dataset",
    "tracks": "Report line or account",
    "line": "Report line",
    "account": "Account",
    "with_subaccounts": "Include sub-accounts",
    "basis": "Basis",
    "filter": "Class or department",
    "grain": "Period",
    "window": "Each value covers",
    "target": "Target",
    "direction": "Direction",
    "tolerance_pct": "Band (± % of target)",
    "at_risk_pct": "At risk within (% of target)",
}
# The `goals create` option a refusal names -> the form field it is about.
FIELD_OF_OPTION = {
    "--name": "name",
    "--description": "description",
    "--dataset": "dataset",
    "--account": "account",
    "--with-subaccounts": "with_subaccounts",
    "--line": "line",
    "--account/--line": "tracks",
    "--basis": "basis",
    "--class/--department": "filter",
    "--class": "filter",
    "--department": "filter",
    "--grain": "grain",
    "--window": "window",
    "--target": "target",
    "--direction": "direction",
    "--band-low/--band-high": "tolerance_pct",
    "--tolerance-pct": "tolerance_pct",
    "--at-risk-pct": "at_risk_pct",
}
DEFAULT_AT_RISK_PCT = "10"
TEXT_FIELDS = (
    "name", "description", "dataset", "line", "account", "basis", "filter", "grain", "window",
    "target", "direction", "tolerance_pct", "at_risk_pct",
)  # fmt: skip


@dataclass
class FormState:
    """What was typed, and what is wrong with it: by field, and for the whole form."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # not about one field

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.problems

    def messages(self) -> list[str]:
        """Every problem in one line each, the field's label first."""
        lines = [f"{LABELS.get(n, n)}: {m}" for n, ms in self.errors.items() for m in ms]
        return [*lines, *self.problems]


def initial_state(dataset: str, catalog: Catalog) -> FormState:
    bases = catalog.bases.get(dataset, set())
    basis = "accrual" if "accrual" in bases or not bases else sorted(bases)[0]
    values = {
        "dataset": dataset,
        "basis": basis,
        "grain": "month",
        "window": "period",
        "direction": "increase",
        "at_risk_pct": DEFAULT_AT_RISK_PCT,
    }
    return FormState(values=values)


@dataclass(frozen=True)
class Choices:
    """What the form offers for one dataset: only what the connected company has."""

    datasets: list[tuple[str, str]]
    lines: list[str]
    accounts: list[tuple[str, str]]  # (id, "id · Parent:Name")
    bases: list[tuple[str, str]]
    filters: list[tuple[str, list[tuple[str, str]]]]  # (group label, [(value, label)])
    grains: list[tuple[str, str]]
    windows: list[tuple[str, str]]
    directions: list[tuple[str, str]]


def imported_datasets(catalog: Catalog) -> list[str]:
    """The datasets with imported rows, profit and loss first (the usual goal)."""
    return [d for d in DATASETS if d in catalog.datasets]


def choices(catalog: Catalog, dataset: str) -> Choices:
    allowed = CLASSIFICATIONS_BY_DATASET.get(dataset, ())
    accounts = sorted(
        (a for a in catalog.accounts.values() if a.active and a.classification in allowed),
        key=lambda a: (a.fully_qualified_name or a.name).lower(),
    )
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
    windows = WINDOWS if dataset != BALANCE_SHEET else {"period": WINDOWS["period"]}
    return Choices(
        datasets=[(d, DATASET_LABELS.get(d, d)) for d in imported_datasets(catalog)],
        lines=list(available_lines(dataset, catalog.groups.get(dataset, set()))),
        accounts=[
            (a.account_id, f"{a.fully_qualified_name or a.name} ({a.account_id})") for a in accounts
        ],
        bases=[(b, BASES.get(b, b)) for b in sorted(catalog.bases.get(dataset, set()))],
        filters=filters,
        grains=list(GRAINS.items()),
        windows=list(windows.items()),
        directions=list(DIRECTIONS.items()),
    )


def read_form(
    form: Mapping[str, object], org: str, actor: str
) -> tuple[CreateRequest | None, FormState]:
    """A CreateRequest from the submitted form, or the state to show again with its errors."""
    state = FormState(values={n: str(form.get(n) or "").strip() for n in TEXT_FIELDS})
    values = state.values
    values["with_subaccounts"] = "on" if form.get("with_subaccounts") == "on" else ""
    if not values["name"]:
        state.add("name", "enter a name for the goal")
    line, account = values["line"] or None, values["account"] or None
    if line is None and account is None:
        state.add("tracks", "choose a report line or an account to track")
    elif line is not None and account is not None:
        state.add("tracks", "choose a report line or an account, not both")
    if values["with_subaccounts"] and account is None:
        state.add("with_subaccounts", "goes with an account, not with a report line")
    target = _number(state, "target", required=True)
    tolerance = _number(state, "tolerance_pct", required=False)
    at_risk = _number(state, "at_risk_pct", required=True)
    class_id = department_id = None
    if values["filter"]:
        dimension, _, dim_id = values["filter"].partition(":")
        if dimension == "class" and dim_id:
            class_id = dim_id
        elif dimension == "department" and dim_id:
            department_id = dim_id
        else:
            state.add("filter", f"'{values['filter']}' is not one of the choices")
    if not state.ok:
        return None, state
    request = CreateRequest(
        org=org,
        actor=actor,
        name=values["name"],
        dataset=values["dataset"],
        grain=values["grain"],
        account=account,
        with_subaccounts=bool(values["with_subaccounts"]),
        line=line,
        description=values["description"] or None,
        window=values["window"],
        basis=values["basis"],
        target=target,
        direction=values["direction"],
        tolerance_pct=tolerance,
        at_risk_pct=at_risk if at_risk is not None else float(DEFAULT_AT_RISK_PCT),
        class_id=class_id,
        department_id=department_id,
    )
    return request, state


def _number(state: FormState, name: str, *, required: bool) -> float | None:
    text = state.values[name]
    if not text:
        if required:
            state.add(name, "enter a number, such as 12000 or 1250.50")
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        state.add(name, f"'{text}' is not a number; write it like 12000 or 1250.50")
        return None
    return value


def place_refusal(state: FormState, problems: list[str]) -> FormState:
    """Put the create flow's refusals (worded for CLI options) under the fields they name."""
    for problem in problems:
        option, separator, message = problem.partition(": ")
        name = FIELD_OF_OPTION.get(option) if separator else None
        if name is None:
            state.problems.append(problem)
        else:
            state.add(name, message)
    return state


__all__ = [
    "LABELS",
    "Choices",
    "FormState",
    "choices",
    "initial_state",
    "place_refusal",
    "read_form",
]
