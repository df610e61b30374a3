"""Report dates: the `date_macro` table, fiscal periods and the columns of summary reports.

Pure date arithmetic, no company state: callers pass `today` and the fiscal year's first
month. Weeks run Sunday to Saturday as in US QuickBooks. Fiscal quarters and years start at
the company's fiscal start month; so do `Quarter` and `Year` columns.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

MONTH_ABBR: tuple[str, ...] = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip

ONE_DAY = timedelta(days=1)


# --- calendar helpers ---------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clipped to the end of a shorter month (Mar 31 - 1 = Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def fiscal_year_start(day: date, fiscal_month: int) -> date:
    """First day of the fiscal year that contains `day`."""
    year = day.year if day.month >= fiscal_month else day.year - 1
    return date(year, fiscal_month, 1)


def fiscal_quarter_start(day: date, fiscal_month: int) -> date:
    """First day of the fiscal quarter that contains `day`."""
    back = (day.month - fiscal_month) % 3
    return add_months(month_start(day), -back)


def week_start(day: date) -> date:
    """The Sunday that starts `day`'s week."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


# --- date macros -----------------------------------------------------------------------------
Range = tuple[date, date]


def _weeks(today: date, fiscal_month: int) -> dict[str, Range]:
    sunday = week_start(today)
    return {
        "This Week": (sunday, sunday + timedelta(days=6)),
        "Last Week": (sunday - timedelta(days=7), sunday - ONE_DAY),
        "This Week-to-date": (sunday, today),
        "Last Week-to-date": (sunday - timedelta(days=7), today - timedelta(days=7)),
        "Next Week": (sunday + timedelta(days=7), sunday + timedelta(days=13)),
        # The four whole weeks after this one.
        "Next 4 Weeks": (sunday + timedelta(days=7), sunday + timedelta(days=34)),
    }


def _months(today: date, fiscal_month: int) -> dict[str, Range]:
    first = month_start(today)
    last_first = add_months(first, -1)
    next_first = add_months(first, 1)
    return {
        "This Month": (first, month_end(today)),
        "Last Month": (last_first, first - ONE_DAY),
        "This Month-to-date": (first, today),
        "Last Month-to-date": (last_first, add_months(today, -1)),
        "Next Month": (next_first, month_end(next_first)),
    }


def _periods(kind: str, span: int, start_of: Callable[[date, int], date]) -> Callable:
    """Macros for fiscal (or calendar) quarters or years: this, last, next and to-date."""

    def build(today: date, fiscal_month: int) -> dict[str, Range]:
        this = start_of(today, fiscal_month)
        last = add_months(this, -span)
        following = add_months(this, span)
        return {
            f"This {kind}": (this, following - ONE_DAY),
            f"Last {kind}": (last, this - ONE_DAY),
            f"This {kind}-to-date": (this, today),
            f"Last {kind}-to-date": (last, add_months(today, -span)),
            f"Next {kind}": (following, add_months(following, span) - ONE_DAY),
        }

    return build


def _days(today: date, fiscal_month: int) -> dict[str, Range]:
    return {"Today": (today, today), "Yesterday": (today - ONE_DAY, today - ONE_DAY)}


_FISCAL_QUARTER = _periods("Fiscal Quarter", 3, fiscal_quarter_start)
_FISCAL_YEAR = _periods("Fiscal Year", 12, fiscal_year_start)
# Calendar variants are accepted too (real QBO knows them); they ignore the fiscal month.
_CALENDAR_QUARTER = _periods("Calendar Quarter", 3, lambda d, _m: fiscal_quarter_start(d, 1))
_CALENDAR_YEAR = _periods("Calendar Year", 12, lambda d, _m: fiscal_year_start(d, 1))
_MACRO_BUILDERS = (
    _days, _weeks, _months, _FISCAL_QUARTER, _FISCAL_YEAR, _CALENDAR_QUARTER, _CALENDAR_YEAR,
)  # fmt: skip

# Every macro name, in the order of Intuit's table, then the calendar extras.
MACRO_NAMES: tuple[str, ...] = tuple(
    name for builder in _MACRO_BUILDERS for name in builder(date(2000, 1, 1), 1)
)
_CANONICAL = {name.lower(): name for name in MACRO_NAMES}


def canonical_macro(name: str) -> str | None:
    """The macro's canonical spelling for any casing, or None if QuickBooks has no such macro."""
    return _CANONICAL.get(" ".join(name.split()).lower())


def macro_range(name: str, today: date, fiscal_month: int) -> Range:
    """The (start, end) a canonical macro name covers on `today`."""
    for builder in _MACRO_BUILDERS:
        ranges = builder(today, fiscal_month)
        if name in ranges:
            return ranges[name]
    raise KeyError(name)


def macro_header_text(name: str, fiscal_month: int) -> str:
    """`Header.DateMacro`: the macro in lower case. Real captures of companies whose fiscal
    year is the calendar year say "calendar" ("this calendar year-to-date"), so we do too."""
    text = name.lower()
    if fiscal_month == 1:
        text = text.replace("fiscal", "calendar")
    return text


# --- period columns --------------------------------------------------------------------------
PERIOD_UNITS: tuple[str, ...] = ("Days", "Week", "Month", "Quarter", "Year")


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    title: str


def range_title(start: date, end: date) -> str:
    """A column title for an arbitrary span: "Apr 29, 2026", "Apr 1-29, 2026",
    "Mar 29 - Apr 4, 2026" or "Dec 27, 2026 - Jan 2, 2027"."""
    a, b = MONTH_ABBR[start.month - 1], MONTH_ABBR[end.month - 1]
    if start == end:
        return f"{a} {start.day}, {start.year}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{a} {start.day}-{end.day}, {start.year}"
    if start.year == end.year:
        return f"{a} {start.day} - {b} {end.day}, {start.year}"
    return f"{a} {start.day}, {start.year} - {b} {end.day}, {end.year}"


def _month_span_title(first: date, last: date) -> str:
    """Title of whole months: "Jan 2024", "Jan - Mar, 2024", "Nov 2024 - Jan 2025", "2024"."""
    a, b = MONTH_ABBR[first.month - 1], MONTH_ABBR[last.month - 1]
    if first == last:
        return f"{a} {first.year}"
    if first.year == last.year:
        if first.month == 1 and last.month == 12:
            return str(first.year)
        return f"{a} - {b}, {first.year}"
    return f"{a} {first.year} - {b} {last.year}"


def _unit_start(day: date, unit: str, fiscal_month: int) -> date:
    if unit == "Days":
        return day
    if unit == "Week":
        return week_start(day)
    if unit == "Month":
        return month_start(day)
    if unit == "Quarter":
        return fiscal_quarter_start(day, fiscal_month)
    return fiscal_year_start(day, fiscal_month)


_UNIT_MONTHS = {"Month": 1, "Quarter": 3, "Year": 12}


def _unit_next(start: date, unit: str) -> date:
    if unit == "Days":
        return start + ONE_DAY
    if unit == "Week":
        return start + timedelta(days=7)
    return add_months(start, _UNIT_MONTHS[unit])


def periods(start: date, end: date, unit: str, fiscal_month: int) -> list[Period]:
    """Consecutive periods covering [start, end], clipped at both ends.

    Whole months, quarters and years get month titles; clipped ones and weeks get a date-range
    title; days get their date.
    """
    out: list[Period] = []
    cursor = _unit_start(start, unit, fiscal_month)
    while cursor <= end:
        following = _unit_next(cursor, unit)
        first, last = max(cursor, start), min(following - ONE_DAY, end)
        whole = first == cursor and last == following - ONE_DAY
        if unit in _UNIT_MONTHS and whole:
            title = _month_span_title(first, month_start(last))
        else:
            title = range_title(first, last)
        out.append(Period(first, last, title))
        cursor = following
    return out
