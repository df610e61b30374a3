"""Fiscal periods: months, fiscal quarters and fiscal years, and the windows over them.

Everything follows the company's `FiscalYearStartMonth` (1 = January ... 12 = December).
With April, the fiscal year 2025-04-01 .. 2026-03-31 has the quarters Apr-Jun, Jul-Sep,
Oct-Dec and Jan-Mar; its year to date at 2026-01-31 runs from 2025-04-01. A fiscal year is
labelled by the calendar year it ends in (Apr 2025 - Mar 2026 is FY2026), as QuickBooks and
most companies do.

A period's window is what its value covers:
- `period`: the period itself;
- `fiscal_ytd`: from the start of the fiscal year containing the period to the period's end;
- `trailing_12_months`: the twelve months ending with the period's last month.

The computation registers `calendar_rows(...)` as a table, so this module is the only place
that knows the fiscal arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

GRAINS = ("month", "quarter", "year")
WINDOWS = ("period", "fiscal_ytd", "trailing_12_months")
MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    return add_months(day, 1) - timedelta(days=1)


def fiscal_year_start(day: date, start_month: int) -> date:
    """First day of the fiscal year that contains `day`."""
    _check_month(start_month)
    offset = (day.month - start_month) % 12
    return add_months(date(day.year, day.month, 1), -offset)


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # last day, inclusive
    grain: str

    @property
    def months(self) -> int:
        return MONTHS_IN[self.grain]


def period_of(day: date, grain: str, start_month: int) -> Period:
    """The month, fiscal quarter or fiscal year that contains `day`."""
    if grain not in MONTHS_IN:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}, not {grain!r}")
    year_start = fiscal_year_start(day, start_month)
    months_in = MONTHS_IN[grain]
    elapsed = (day.year - year_start.year) * 12 + day.month - year_start.month
    start = add_months(year_start, elapsed - elapsed % months_in)
    return Period(start, add_months(start, months_in) - timedelta(days=1), grain)


def is_period_start(day: date, grain: str, start_month: int) -> bool:
    return period_of(day, grain, start_month).start == day


def period_starts_near(day: date, grain: str, start_month: int, count: int = 4) -> list[date]:
    """A few period starts around `day`, to show what a valid date looks like."""
    first = period_of(day, grain, start_month).start
    return [add_months(first, MONTHS_IN[grain] * i) for i in range(count)]


def window_start(period: Period, window: str, start_month: int) -> date:
    """First day of what a period's value covers (see the module docstring)."""
    if window == "period":
        return period.start
    if window == "fiscal_ytd":
        return fiscal_year_start(period.start, start_month)
    if window == "trailing_12_months":
        return add_months(period.end, -11)
    raise ValueError(f"window must be one of {', '.join(WINDOWS)}, not {window!r}")


def periods_between(first: date, last: date, grain: str, start_month: int) -> list[Period]:
    """Every period of `grain` that overlaps [first, last], in order."""
    periods: list[Period] = []
    current = period_of(first, grain, start_month)
    while current.start <= last:
        periods.append(current)
        current = period_of(current.end + timedelta(days=1), grain, start_month)
    return periods


def fiscal_year_label(day: date, start_month: int) -> str:
    """'FY2026' for the fiscal year containing `day` (named by the year it ends in)."""
    end = add_months(fiscal_year_start(day, start_month), 12) - timedelta(days=1)
    return f"FY{end.year}"


def label(period: Period, start_month: int) -> str:
    """'2026-04', 'FY2027 Q1' or 'FY2027' (for tables and charts)."""
    if period.grain == "month":
        return period.start.strftime("%Y-%m")
    year = fiscal_year_label(period.start, start_month)
    if period.grain == "year":
        return year
    quarter = (period.start.month - start_month) % 12 // 3 + 1
    return f"{year} Q{quarter}"


def calendar_rows(
    first: date, last: date, start_month: int, span: tuple[date, date] | None
) -> list[dict]:
    """One row per (grain, window, period) for periods overlapping [first, last].

    Columns: grain, window, period_start, period_end, window_start, months (in the
    period), previous_start (the period before), year_ago_start (the same period a year
    earlier), in_span (the period overlaps `span`, the months holding imported data).
    """
    rows: list[dict] = []
    for grain in GRAINS:
        for period in periods_between(first, last, grain, start_month):
            in_span = span is not None and period.start <= span[1] and period.end >= span[0]
            for window in WINDOWS:
                rows.append(
                    {
                        "grain": grain,
                        "window": window,
                        "period_start": period.start,
                        "period_end": period.end,
                        "window_start": window_start(period, window, start_month),
                        "months": period.months,
                        "previous_start": add_months(period.start, -period.months),
                        "year_ago_start": add_months(period.start, -12),
                        "in_span": in_span,
                    }
                )
    return rows


def _check_month(start_month: int) -> None:
    if not isinstance(start_month, int) or not 1 <= start_month <= 12:
        raise ValueError(f"the fiscal year start month must be 1..12, not {start_month!r}")


__all__ = [
    "GRAINS",
    "MONTHS_IN",
    "WINDOWS",
    "Period",
    "add_months",
    "calendar_rows",
    "fiscal_year_label",
    "fiscal_year_start",
    "is_period_start",
    "label",
    "month_end",
    "month_start",
    "period_of",
    "period_starts_near",
    "periods_between",
    "window_start",
]
