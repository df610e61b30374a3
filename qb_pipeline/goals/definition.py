"""Goal definitions: the pydantic model behind `goal_models/**/*.yaml`.

The model checks each field on its own (types, allowed words, ranges, "exactly one of");
rules that relate fields to each other (a line must belong to the goal's dataset, a formula
must use its items, ...) live in rules.py, so that every problem can name its own field.
`goal_models/schema/goal.schema.json` is generated from these classes (see schema.py), and
goal_models/README.md documents them with examples.

Numbers are finite and bounded, so that nothing computed from them can overflow: amounts
(target values, per-period targets, a growth base, band edges) lie within ±MAX_AMOUNT
(10^15, a million times the largest real company's revenue), and a growth rate within
MIN_RATE_PCT..MAX_RATE_PCT percent per period (a rate below -100% would flip the target's
sign every period). A growth target compounded over many periods can still pass
MAX_AMOUNT: the computation leaves such a period without a target rather than storing an
overflow (sql/compute_goal_values.sql).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FiniteFloat,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from qb_pipeline.goals.lines import AGGREGATION_BY_DATASET, DATASETS, LINES

Dataset = Literal["profit_and_loss", "balance_sheet", "cash_flow"]
Basis = Literal["accrual", "cash"]
Grain = Literal["month", "quarter", "year"]
Window = Literal["period", "fiscal_ytd", "trailing_12_months"]
Direction = Literal["increase", "decrease", "maintain"]

GROWTH_BASES = ("previous_period", "same_period_last_year")
ALL_LINE_GROUPS = tuple(dict.fromkeys(g for lines in LINES.values() for g in lines))
assert set(DATASETS) == set(Dataset.__args__)  # one list of datasets, two spellings


def _id_to_text(value: Any) -> Any:
    # QuickBooks ids are numeric strings; YAML reads an unquoted 23 as a number.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


QboId = Annotated[
    str,
    BeforeValidator(_id_to_text),
    StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]+$", "maxLength": 40},
                {"type": "integer", "minimum": 0},
            ]
        }
    ),
]
GoalId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
OrgSlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,40}$")]
ItemName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,39}$")]
Percent = Annotated[FiniteFloat, Field(ge=0, le=100)]

MAX_AMOUNT = 1e15
MIN_RATE_PCT = -100.0
MAX_RATE_PCT = 1000.0


def _bounded_amount(value: float) -> float:
    if abs(value) > MAX_AMOUNT:
        raise ValueError(
            f"{value:g} is beyond ±1e15 (1,000,000,000,000,000), the largest amount a goal may name"
        )
    return value


def _bounded_rate(value: float) -> float:
    if not MIN_RATE_PCT <= value <= MAX_RATE_PCT:
        raise ValueError(
            f"{value:g} is outside {MIN_RATE_PCT:g}..{MAX_RATE_PCT:g} (percent per period)"
        )
    return value


# pydantic's own ge/le would say "greater than or equal to 1e+15"; these name the bound.
Amount = Annotated[
    FiniteFloat,
    AfterValidator(_bounded_amount),
    Field(json_schema_extra={"minimum": -MAX_AMOUNT, "maximum": MAX_AMOUNT}),
]
RatePct = Annotated[
    FiniteFloat,
    AfterValidator(_bounded_rate),
    Field(json_schema_extra={"minimum": MIN_RATE_PCT, "maximum": MAX_RATE_PCT}),
]


class _Strict(BaseModel):
    # Unknown keys are errors: a misspelt `grian:` must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _exactly_one(model: BaseModel, names: tuple[str, ...]) -> None:
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        found = ", ".join(given) if given else "none"
        raise ValueError(f"needs exactly one of {', '.join(names)} (found: {found})")


def _one_of_schema(*names: str) -> dict[str, Any]:
    return {"oneOf": [{"required": [n]} for n in names]}


class AccountRef(_Strict):
    """An account of the connected company, by its QuickBooks id."""

    account_id: QboId = Field(
        description="QuickBooks Account Id (marts.accounts.account_id), not its name or number."
    )
    include_subaccounts: bool = Field(
        False,
        description="Add the account's sub-accounts (at every depth) to its own amount.",
    )


class LineRef(_Strict):
    """A report line, by QuickBooks' group key (never its display label)."""

    group: str = Field(
        description="Report group key, e.g. Income, GrossProfit, NetIncome, TotalAssets.",
        json_schema_extra={"enum": list(ALL_LINE_GROUPS)},
    )


class FormulaItem(_Strict):
    """One named input of a formula: an account or a line, optionally of another dataset."""

    model_config = ConfigDict(json_schema_extra=_one_of_schema("account", "line"))

    account: AccountRef | None = None
    line: LineRef | None = None
    dataset: Dataset | None = Field(
        None, description="This item's dataset when it differs from the goal's."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> FormulaItem:
        _exactly_one(self, ("account", "line"))
        return self


class Formula(_Strict):
    """A ratio recomputed from its parts for every period, e.g. gross margin %."""

    expression: str = Field(
        min_length=1,
        max_length=500,
        description="Arithmetic (+ - * / and parentheses) over item names and numbers, "
        "e.g. 'gross_profit / income * 100'.",
    )
    items: dict[ItemName, FormulaItem] = Field(
        min_length=1, description="The named inputs the expression uses."
    )


class Tracks(_Strict):
    """What the goal measures: exactly one of account, line or formula."""

    model_config = ConfigDict(json_schema_extra=_one_of_schema("account", "line", "formula"))

    account: AccountRef | None = None
    line: LineRef | None = None
    formula: Formula | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Tracks:
        _exactly_one(self, ("account", "line", "formula"))
        return self

    @property
    def kind(self) -> str:
        return "account" if self.account else "line" if self.line else "formula"


class Filters(_Strict):
    """Restrict a profit-and-loss goal to one class or one department (location)."""

    class_id: QboId | None = Field(None, description="QuickBooks Class Id.")
    department_id: QboId | None = Field(None, description="QuickBooks Department Id.")


class Growth(_Strict):
    """A target that grows from a base by `rate_pct` percent per period."""

    base: float | str = Field(
        description="A number (the target of `base_period`), or previous_period, or "
        "same_period_last_year (the actual of that period).",
        json_schema_extra={
            "anyOf": [
                {"type": "number", "minimum": -MAX_AMOUNT, "maximum": MAX_AMOUNT},
                {"enum": list(GROWTH_BASES)},
            ]
        },
    )
    base_period: date | None = Field(
        None, description="First day of the period whose target is `base` (numeric base only)."
    )
    rate_pct: RatePct = Field(
        description="Growth per period in percent, -100 to 1000; may be negative."
    )

    @field_validator("base")
    @classmethod
    def _known_base(cls, value: float | str) -> float | str:
        if isinstance(value, str) and value not in GROWTH_BASES:
            raise ValueError(f"must be a number or one of {', '.join(GROWTH_BASES)}")
        if isinstance(value, float) and not math.isfinite(value):  # NaN, inf
            raise ValueError(f"{value} is not a finite number")
        if isinstance(value, float):
            _bounded_amount(value)
        return value


class BudgetRef(_Strict):
    """A budget of the connected company (marts.budgets), by its name or its id."""

    model_config = ConfigDict(json_schema_extra=_one_of_schema("name", "budget_id"))

    name: str | None = Field(
        None, min_length=1, max_length=200, description="Budget.Name, e.g. 'FY2026 Budget'."
    )
    budget_id: QboId | None = Field(None, description="QuickBooks Budget.Id.")

    @model_validator(mode="after")
    def _one_kind(self) -> BudgetRef:
        _exactly_one(self, ("name", "budget_id"))
        return self


class Target(_Strict):
    """Exactly one of value, per_period, growth or budget."""

    model_config = ConfigDict(
        json_schema_extra=_one_of_schema("value", "per_period", "growth", "budget")
    )

    value: Amount | None = Field(None, description="The same target for every period.")
    per_period: dict[date, Amount] | None = Field(
        None,
        min_length=1,
        description="Targets by the first day of their period; other periods have none.",
    )
    growth: Growth | None = None
    budget: BudgetRef | None = Field(
        None,
        description="The budget's amounts of the tracked accounts over each period's window "
        "(profit_and_loss account or line goals only).",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Target:
        _exactly_one(self, ("value", "per_period", "growth", "budget"))
        return self


class Band(_Strict):
    """The range a `maintain` goal must stay in."""

    low: Amount
    high: Amount

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must not be above high ({self.high:g})")
        return self


class GoalDefinition(_Strict):
    """A QuickBooks Goal: a KPI on imported data, with a target and a status per period."""

    model_config = ConfigDict(title="QuickBooks Goal")

    id: GoalId = Field(description="Unique within the organization; a-z, 0-9, '-' and '_'.")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    organization: OrgSlug = Field(description="Slug of the organization the goal belongs to.")
    description: str | None = None
    dataset: Dataset
    tracks: Tracks
    basis: Basis = "accrual"
    filters: Filters | None = None
    grain: Grain = Field(description="Length of a period; quarters and years are fiscal.")
    window: Window = Field(
        "period",
        description="What each period's value covers: the period itself, the fiscal year "
        "to date, or the twelve months ending with the period.",
    )
    target: Target | None = None
    direction: Direction = "increase"
    band: Band | None = Field(None, description="maintain only: the range to stay in.")
    tolerance_pct: Percent | None = Field(
        None, description="maintain only: the range is target ± this percent of |target|."
    )
    at_risk_threshold_pct: Percent = Field(
        10,
        description="How far (in percent of |target| or of the band's edge) an actual may "
        "miss and still be at_risk rather than off_track.",
    )
    created_by: str | None = None
    created_at: datetime | None = None

    @property
    def item_datasets(self) -> set[str]:
        """Every dataset the goal reads."""
        formula = self.tracks.formula
        if formula is None:
            return {self.dataset}
        return {item.dataset or self.dataset for item in formula.items.values()}

    @property
    def aggregation(self) -> str:
        """How values add up over a period; derived, never configured."""
        if self.tracks.formula is not None:
            return "ratio"
        return AGGREGATION_BY_DATASET[self.dataset]

    def to_yaml_data(self) -> dict[str, Any]:
        """Plain data in field order, for writing a goal file (unset options left out)."""
        return self.model_dump(mode="json", exclude_none=True)


__all__ = [
    "ALL_LINE_GROUPS",
    "GROWTH_BASES",
    "MAX_AMOUNT",
    "MAX_RATE_PCT",
    "MIN_RATE_PCT",
    "AccountRef",
    "Band",
    "Basis",
    "BudgetRef",
    "Dataset",
    "Direction",
    "Filters",
    "Formula",
    "FormulaItem",
    "GoalDefinition",
    "Grain",
    "Growth",
    "LineRef",
    "Target",
    "Tracks",
    "Window",
]
