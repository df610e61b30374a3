"""Date arithmetic for reports: fiscal years, which months a sync re-pulls, request ranges.

The re-pull rule. The first sync pulls the history: `history_years` whole fiscal years
before the current one, plus the current one up to today. Every later sync pulls again
from the earliest of
- the start of the current fiscal year (open periods: a year is not closed yet),
- the first day of the month `TRAILING_DAYS` (60) days ago (back-dated entries and
  adjustments land in months that already closed), and
- the first day of the month of the previous pull (that month was partial then; without
  this a sync gap across a year end would leave months half pulled)
up to today, and also any history the window newly asks for (a larger `history_years`).
A caller may leave out the first two (`open_year=False`, `trailing=False`): between its
weekly whole pulls the P&L by dimension re-pulls only the months since its previous pull
(dimension_reports.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from qb_pipeline.sources.quickbooks.settings import MAX_REPORT_MONTHS, TRAILING_DAYS


@dataclass(frozen=True, order=True)
class DateRange:
    """An inclusive range of days."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"a date range must not end before it starts: {self}")

    @property
    def months(self) -> int:
        """How many calendar months the range touches."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def month_periods(self) -> list[DateRange]:
        """The range cut at month boundaries (QuickBooks' Month columns)."""
        periods = []
        start = self.start
        while start <= self.end:
            end = min(month_end(start), self.end)
            periods.append(DateRange(start, end))
            start = end + timedelta(days=1)
        return periods

    def halves(self) -> tuple[DateRange, DateRange]:
        """Two ranges split at a month boundary (a range of two or more months)."""
        if self.months < 2:
            raise ValueError(f"{self} is a single month; it cannot be split further")
        cut = add_months(month_start(self.start), self.months // 2)
        return DateRange(self.start, cut - timedelta(days=1)), DateRange(cut, self.end)

    def as_params(self) -> dict[str, str]:
        return {"start_date": self.start.isoformat(), "end_date": self.end.isoformat()}


@dataclass(frozen=True)
class PulledRange:
    """What earlier syncs pulled of one report and basis (kept in the resource state)."""

    start: date
    through: date

    def to_state(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "through": self.through.isoformat()}

    @classmethod
    def from_state(cls, value: object) -> PulledRange | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(date.fromisoformat(value["from"]), date.fromisoformat(value["through"]))
        except (KeyError, TypeError, ValueError):
            return None


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return add_months(month_start(day), 1) - timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """`day` (the first of a month) moved by whole months."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def fiscal_year_start(day: date, first_month: int) -> date:
    """The first day of the fiscal year containing `day`."""
    if not 1 <= first_month <= 12:
        raise ValueError(f"fiscal year start month must be 1..12, not {first_month}")
    year = day.year if day.month >= first_month else day.year - 1
    return date(year, first_month, 1)


def history_start(today: date, first_month: int, history_years: int) -> date:
    """The start of the fiscal year `history_years` before the current one."""
    if history_years < 0:
        raise ValueError(f"history_years must not be negative, not {history_years}")
    return add_months(fiscal_year_start(today, first_month), -12 * history_years)


def windows_to_pull(
    today: date,
    first_month: int,
    history_years: int,
    previous: PulledRange | None,
    *,
    open_year: bool = True,
    trailing: bool = True,
) -> list[DateRange]:
    """The ranges a sync pulls for one report and basis (the rule in the module docstring).
    `open_year=False` leaves the start of the current fiscal year out of a later sync's
    window and `trailing=False` the trailing months; the month of the previous pull
    always remains, and the first sync pulls the whole history either way."""
    wanted_from = history_start(today, first_month, history_years)
    if previous is None:
        return [DateRange(wanted_from, today)]
    starts = [month_start(min(previous.through, today))]
    if trailing:
        starts.append(month_start(today - timedelta(days=TRAILING_DAYS)))
    if open_year:
        starts.append(fiscal_year_start(today, first_month))
    trailing_from = min(starts)
    windows = [DateRange(trailing_from, today)]
    if wanted_from < previous.start and wanted_from < trailing_from:
        gap_end = min(previous.start, trailing_from) - timedelta(days=1)
        windows.insert(0, DateRange(wanted_from, gap_end))
    return windows


def pulled_after(
    previous: PulledRange | None, windows: list[DateRange], today: date
) -> PulledRange:
    """The state to keep once `windows` are pulled."""
    start = min(w.start for w in windows)
    if previous is not None:
        start = min(start, previous.start)
    return PulledRange(start, today)


def request_ranges(window: DateRange, first_month: int) -> Iterator[DateRange]:
    """`window` cut at fiscal year starts and at most `MAX_REPORT_MONTHS` months per range."""
    start = window.start
    while start <= window.end:
        next_year = add_months(fiscal_year_start(start, first_month), 12)
        limit = add_months(month_start(start), MAX_REPORT_MONTHS)
        end = min(next_year, limit) - timedelta(days=1)
        end = min(end, window.end)
        yield DateRange(start, end)
        start = end + timedelta(days=1)
