"""Formulas reduce exactly to (sum of items) / (sum of items), or are refused with a reason."""

from __future__ import annotations

import pytest

from qb_pipeline.goals.formula import FormulaError, Ratio, compile_formula

ITEMS = frozenset({"income", "cogs", "gross_profit", "assets", "liabilities"})


def ratio(expression: str, items: set[str]) -> Ratio:
    return compile_formula(expression, frozenset(items))


def test_gross_margin_percent():
    assert ratio("gross_profit / income * 100", {"gross_profit", "income"}) == Ratio(
        numerator={"gross_profit": 100.0},
        denominator={"income": 1.0},
        numerator_constant=0.0,
        denominator_constant=0.0,
    )


def test_sums_and_constants_are_folded_exactly():
    result = ratio("(income - cogs) / income * 100", {"income", "cogs"})

    assert result.numerator == {"cogs": -100.0, "income": 100.0}
    assert result.denominator == {"income": 1.0}


def test_a_plain_sum_has_a_denominator_of_one():
    result = ratio("income - cogs + 5", {"income", "cogs"})

    assert result.is_plain
    assert (result.numerator, result.numerator_constant) == ({"cogs": -1.0, "income": 1.0}, 5.0)


def test_division_by_a_constant_and_unary_minus():
    result = ratio("-(income / 4)", {"income"})

    assert result.numerator == {"income": -0.25}
    assert result.is_plain


def test_adding_ratios_over_the_same_denominator():
    result = ratio("assets / liabilities - 1", {"assets", "liabilities"})

    assert result.numerator == {"assets": 1.0, "liabilities": -1.0}
    assert result.denominator == {"liabilities": 1.0}


def test_growth_rate_form():
    result = ratio("(income - cogs) / cogs * 100", {"income", "cogs"})

    assert result.numerator == {"cogs": -100.0, "income": 100.0}
    assert result.denominator == {"cogs": 1.0}


@pytest.mark.parametrize(
    ("expression", "items", "message"),
    [
        ("income *", {"income"}, "is not a valid formula (invalid syntax"),
        ("income / revenue", {"income"}, "uses 'revenue', which is not one of its items (income)"),
        ("income", {"income", "cogs"}, "does not use item(s) cogs"),
        ("income * cogs", {"income", "cogs"}, "multiplies or divides items by each other"),
        ("income / cogs / assets", {"income", "cogs", "assets"}, "its denominator is not a sum"),
        ("income / cogs + assets / liabilities", ITEMS - {"gross_profit"}, "multiplies"),
        ("income ** 2", {"income"}, "the operator '**'"),
        ("income % 2", {"income"}, "the operator '%'"),
        ("abs(income)", {"income"}, "a function call"),
        ("income.real", {"income"}, "an attribute access"),
        ("income if True else 0", {"income"}, "a conditional"),
        ("'text'", {"income"}, "the value 'text'"),
        ("income > 0", {"income"}, "a comparison"),
        ("income / 0", {"income"}, "divides by zero"),
        ("income / (cogs - cogs)", {"income", "cogs"}, "divides by zero"),
    ],
)
def test_refused_formulas(expression, items, message):
    with pytest.raises(FormulaError) as error:
        ratio(expression, items)

    assert message in str(error.value)
