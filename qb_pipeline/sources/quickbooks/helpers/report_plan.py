"""Which monthly report requests a sync makes for `report_lines`, from its resource state.

One plan serves the resource (which reads the answers and keeps the new state) and the
prefetch (report_prefetch.py), which sends the same requests ahead while the entities load;
so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from qb_pipeline.sources.quickbooks.helpers.periods import (
    DateRange,
    PulledRange,
    request_ranges,
    windows_to_pull,
)
from qb_pipeline.sources.quickbooks.helpers.reads import SyncSession
from qb_pipeline.sources.quickbooks.helpers.report_rows import report_params
from qb_pipeline.sources.quickbooks.settings import REPORTS


@dataclass(frozen=True)
class ReportPull:
    """What one sync pulls of one report and basis."""

    name: str
    basis: str
    previous: PulledRange | None
    windows: list[DateRange]

    @property
    def state_key(self) -> str:
        return f"{self.name}:{self.basis}"


def report_pulls(
    session: SyncSession, history_years: int, pulled: Mapping[str, object]
) -> Iterator[ReportPull]:
    """Each report and basis with its windows (periods.py), given the resource state's
    `pulled` ranges."""
    today = session.today()
    first_month = session.fiscal_year_start_month()
    for name, bases in REPORTS:
        for basis in bases:
            previous = PulledRange.from_state(pulled.get(f"{name}:{basis}"))
            windows = windows_to_pull(today, first_month, history_years, previous)
            yield ReportPull(name, basis, previous, windows)


def report_chunks(session: SyncSession, pull: ReportPull) -> Iterator[DateRange]:
    """The request ranges of one pull (cut at fiscal years and MAX_REPORT_MONTHS)."""
    first_month = session.fiscal_year_start_month()
    for window in pull.windows:
        yield from request_ranges(window, first_month)


def report_line_requests(
    session: SyncSession, history_years: int, resource_state: Mapping[str, object]
) -> Iterator[tuple[str, dict[str, str]]]:
    """(report name, parameters) of every first request `report_lines` makes."""
    pulled = resource_state.get("pulled")
    for pull in report_pulls(session, history_years, pulled if isinstance(pulled, dict) else {}):
        for chunk in report_chunks(session, pull):
            yield pull.name, report_params(pull.basis, chunk)
