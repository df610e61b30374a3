"""Fiscal periods follow the company's FiscalYearStartMonth."""

from __future__ import annotations

from datetime import date

import pytest

from qb_pipeline.goals.periods import (
    Period,
    add_months,
    calendar_rows,
    fiscal_year_label,
    fiscal_year_start,
    is_period_start,
    label,
    period_of,
    periods_between,
    window_start,
)

D = date


@pytest.mark.parametrize(
    ("day", "start_month", "year_start"),
    [
        (D(2026, 1, 15), 1, D(2026, 1, 1)),
        (D(2026, 1, 15), 4, D(2025, 4, 1)),
        (D(2026, 3, 31), 4, D(2025, 4, 1)),
        (D(2026, 4, 1), 4, D(2026, 4, 1)),
        (D(2026, 6, 30), 7, D(2025, 7, 1)),
        (D(2026, 12, 1), 12, D(2026, 12, 1)),
        (D(2026, 11, 30), 12, D(2025, 12, 1)),
    ],
)
def test_fiscal_year_start(day, start_month, year_start):
    assert fiscal_year_start(day, start_month) == year_start


def test_fiscal_quarters_of_an_april_year():
    quarters = periods_between(D(2025, 4, 1), D(2026, 3, 31), "quarter", 4)

    assert quarters == [
        Period(D(2025, 4, 1), D(2025, 6, 30), "quarter"),
        Period(D(2025, 7, 1), D(2025, 9, 30), "quarter"),
        Period(D(2025, 10, 1), D(2025, 12, 31), "quarter"),
        Period(D(2026, 1, 1), D(2026, 3, 31), "quarter"),
    ]


def test_fiscal_quarters_of_a_february_year_cross_calendar_quarters():
    assert period_of(D(2026, 4, 10), "quarter", 2) == Period(
        D(2026, 2, 1), D(2026, 4, 30), "quarter"
    )


def test_a_fiscal_year_ends_the_day_before_the_next_starts():
    assert period_of(D(2026, 2, 28), "year", 4) == Period(D(2025, 4, 1), D(2026, 3, 31), "year")
    assert period_of(D(2024, 2, 29), "month", 1).end == D(2024, 2, 29)


def test_windows():
    june = period_of(D(2026, 6, 1), "month", 4)
    q1 = period_of(D(2026, 1, 1), "quarter", 4)

    assert window_start(june, "period", 4) == D(2026, 6, 1)
    assert window_start(june, "fiscal_ytd", 4) == D(2026, 4, 1)
    assert window_start(june, "trailing_12_months", 4) == D(2025, 7, 1)
    assert window_start(q1, "fiscal_ytd", 4) == D(2025, 4, 1)  # Jan-Mar is the 4th quarter
    assert window_start(q1, "trailing_12_months", 4) == D(2025, 4, 1)


def test_period_starts():
    assert is_period_start(D(2026, 1, 1), "quarter", 4)
    assert not is_period_start(D(2026, 2, 1), "quarter", 4)
    assert is_period_start(D(2026, 4, 1), "year", 4)
    assert not is_period_start(D(2026, 1, 1), "year", 4)


def test_labels_name_fiscal_years_by_the_year_they_end_in():
    assert fiscal_year_label(D(2025, 4, 1), 4) == "FY2026"
    assert fiscal_year_label(D(2025, 4, 1), 1) == "FY2025"
    assert label(period_of(D(2026, 1, 5), "quarter", 4), 4) == "FY2026 Q4"
    assert label(period_of(D(2026, 4, 5), "year", 4), 4) == "FY2027"
    assert label(period_of(D(2026, 4, 5), "month", 4), 4) == "2026-04"


def test_add_months_crosses_years():
    assert add_months(D(2025, 11, 20), 3) == D(2026, 2, 1)
    assert add_months(D(2025, 1, 31), -1) == D(2024, 12, 1)


def test_calendar_rows_cover_every_grain_and_window():
    rows = calendar_rows(D(2025, 4, 1), D(2025, 6, 1), 4, span=(D(2025, 5, 1), D(2025, 6, 1)))
    by_key = {(r["grain"], r["window"], r["period_start"]): r for r in rows}

    assert len(rows) == (3 + 1 + 1) * 3
    april = by_key[("month", "period", D(2025, 4, 1))]
    assert april["in_span"] is False
    assert april["previous_start"] == D(2025, 3, 1)
    assert april["year_ago_start"] == D(2024, 4, 1)
    year = by_key[("year", "trailing_12_months", D(2025, 4, 1))]
    assert (year["period_end"], year["window_start"], year["months"]) == (
        D(2026, 3, 31),
        D(2025, 4, 1),
        12,
    )


def test_fiscal_year_start_month_is_checked():
    with pytest.raises(ValueError, match=r"1\.\.12"):
        fiscal_year_start(D(2026, 1, 1), 13)
