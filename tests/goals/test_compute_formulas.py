"""Formula goals: ratios recomputed from their parts every period, never averaged."""

from __future__ import annotations

from datetime import date

import pytest

from tests.goals.conftest import goal, line

GROSS_MARGIN = {
    "formula": {
        "expression": "gross_profit / income * 100",
        "items": {"gross_profit": line("GrossProfit"), "income": line("Income")},
    }
}


def test_gross_margin_per_month(values):
    rows = values(goal(tracks=GROSS_MARGIN, target={"value": 80}))

    # May 2025: income 1620, gross profit 1320.
    assert rows[date(2025, 5, 1)] == (pytest.approx(1320 / 1620 * 100), 80, "on_track")


def test_a_quarters_ratio_is_recomputed_from_its_parts_not_averaged(values):
    rows = values(goal(tracks=GROSS_MARGIN, grain="quarter"))

    # Apr 1220/1520, May 1320/1620, Jun 1420/1720: the quarter is 3960 / 4860,
    # not the mean of the three monthly ratios (81.434...).
    actual = rows[date(2025, 4, 1)][0]
    assert actual == pytest.approx(3960 / 4860 * 100)
    monthly_mean = (1220 / 1520 + 1320 / 1620 + 1420 / 1720) / 3 * 100
    assert actual != pytest.approx(monthly_mean, abs=1e-3)


def test_ratio_over_a_fiscal_year_to_date(values):
    rows = values(goal(tracks=GROSS_MARGIN, window="fiscal_ytd"))

    # Apr + May 2025: (1220 + 1320) / (1520 + 1620)
    assert rows[date(2025, 5, 1)][0] == pytest.approx(2540 / 3140 * 100)


def test_equivalent_formula_forms_agree(values):
    reshaped = {
        "formula": {
            "expression": "(income - cogs) / income * 100",
            "items": {"income": line("Income"), "cogs": line("COGS")},
        }
    }
    direct = values(goal(tracks=GROSS_MARGIN))
    other = values(goal(tracks=reshaped))

    assert other[date(2025, 5, 1)][0] == pytest.approx(direct[date(2025, 5, 1)][0])


def test_division_by_zero_gives_no_data(values):
    events_margin = goal(tracks=GROSS_MARGIN, filters={"class_id": "C3"}, target={"value": 50})
    rows = values(events_margin)

    # Class Events: April 2025 income 100, COGS 30; nothing afterwards (0 / 0).
    assert rows[date(2025, 4, 1)] == (pytest.approx(70), 50, "on_track")
    assert rows[date(2025, 5, 1)] == (None, 50, "no_data")


def test_formula_across_datasets_reads_balances_at_period_end(values):
    return_on_assets = {
        "formula": {
            "expression": "net_income / total_assets * 100",
            "items": {
                "net_income": line("NetIncome"),
                "total_assets": {"line": {"group": "TotalAssets"}, "dataset": "balance_sheet"},
            },
        }
    }
    rows = values(goal(tracks=return_on_assets, grain="quarter"))

    # Q1 FY2026: net income 4860 - 3 * 1455 = 495; total assets at 30 June 12000 + 5000.
    assert rows[date(2025, 4, 1)][0] == pytest.approx(495 / 17000 * 100)


def test_balance_sheet_ratio(values):
    current_ratio = {
        "formula": {
            "expression": "assets / liabilities",
            "items": {"assets": line("CurrentAssets"), "liabilities": line("CurrentLiabilities")},
        }
    }
    rows = values(goal(dataset="balance_sheet", tracks=current_ratio, grain="quarter"))

    assert rows[date(2025, 4, 1)][0] == pytest.approx(17000 / 500)
    assert rows[date(2026, 7, 1)][0] == pytest.approx((26000 + 5000) / 500)


def test_a_formula_with_a_constant(values):
    share_beyond_half = {
        "formula": {
            "expression": "products / income - 0.1",
            "items": {"products": {"account": {"account_id": "13"}}, "income": line("Income")},
        }
    }
    rows = values(goal(tracks=share_beyond_half))

    assert rows[date(2025, 5, 1)][0] == pytest.approx(200 / 1620 - 0.1)
