"""The `report_dimension_lines` resource: ProfitAndLoss by class and by department, monthly.

Only for what the company tracks (Preferences.AccountingInfoPrefs: ClassTrackingPerTxn or
ClassTrackingPerTxnLine for classes, TrackDepartments for departments); a company that
tracks neither costs one Preferences request and nothing else.

A report summarized by Classes or Departments has member columns instead of month columns,
so each month is one request: `summarize_column_by=Classes` (or `Departments`) with the
month as its range, accrual and cash. Which months (periods.py):

- the first sync pulls the history, as the monthly reports do;
- a later sync re-pulls the months since the previous pull: the current month, and the
  month before as well on the first sync of a new month (its last days were still open);
- once a week (`OPEN_YEAR_REPULL_DAYS`, 7 days after the last whole pull) a sync re-pulls
  what the monthly reports re-pull every night: the whole open fiscal year and the trailing
  window (`TRAILING_DAYS`, 60, days back), so back-dated entries and class or department
  reassignments in earlier months reach the mart within a week.

Why weekly: a month costs 2 bases x 2 dimensions = 4 requests, so re-pulling the trailing
window every night would cost 12 requests (the whole open year 44, 11 months in), more than
the rest of a nightly sync together; the current month alone costs 4. What was pulled, and
the day of the last whole pull, are kept per dimension and basis in the resource state, so
a company that starts tracking a dimension gets its whole history on the next sync. Rows of
a dimension the company stops tracking stay as they were.

Months are asked for a few at a time (REQUEST_WORKERS threads; the client's per-realm
limiter keeps the pace within QuickBooks' limits) and yielded in order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import dlt

from qb_pipeline.quickbooks import QuickBooksClient
from qb_pipeline.sources.quickbooks.helpers.arrow_pages import ROOT_KEY_COLUMNS
from qb_pipeline.sources.quickbooks.helpers.dimension_rows import (
    DIMENSION_LINE_COLUMNS,
    DIMENSION_LINE_KEY,
    DIMENSION_LINES_TABLE,
    DIMENSION_PERIOD_KEY,
    Dimension,
    dimension_rows,
    tracked_dimensions,
)
from qb_pipeline.sources.quickbooks.helpers.paging import entity_pages
from qb_pipeline.sources.quickbooks.helpers.periods import (
    DateRange,
    PulledRange,
    pulled_after,
    windows_to_pull,
)
from qb_pipeline.sources.quickbooks.helpers.reads import SyncSession
from qb_pipeline.sources.quickbooks.helpers.report_rows import ReportFetcher
from qb_pipeline.sources.quickbooks.helpers.row_tables import rows_table
from qb_pipeline.sources.quickbooks.settings import LOADER_FILE_FORMAT, MERGE

log = logging.getLogger("qb_pipeline.sources.quickbooks")

REPORT_NAME = "ProfitAndLoss"
BASES: tuple[str, ...] = ("Accrual", "Cash")
# Requests in flight at once: one month per request makes many small requests, and a
# single thread would be paced by round trips rather than by the rate limit.
REQUEST_WORKERS = 4
# Days after which a sync re-pulls the whole open fiscal year and the trailing window by
# dimension; in between it re-pulls only the months since the previous pull (module
# docstring: a nightly sync then costs 4 requests for it instead of 12 to 44).
OPEN_YEAR_REPULL_DAYS = 7


@dlt.resource(
    name=DIMENSION_LINES_TABLE,
    primary_key=DIMENSION_LINE_KEY,
    merge_key=DIMENSION_PERIOD_KEY,
    write_disposition=MERGE,
    columns={**DIMENSION_LINE_COLUMNS, **ROOT_KEY_COLUMNS},
    file_format=LOADER_FILE_FORMAT,
)
def report_dimension_lines(session: SyncSession, history_years: int) -> Iterator[object]:
    """P&L lines by class and by department, one request per month (module docstring)."""
    # The table exists after every sync, even for a company that tracks no dimension, so
    # the staging views over it always build.
    yield dlt.mark.materialize_table_schema()
    dimensions = tracked_dimensions(_preferences(session))
    if not dimensions:
        log.info("%s: tracks neither classes nor departments; no P&L by dimension",
                 session.realm_id)  # fmt: skip
        return
    resource_state = dlt.current.resource_state()
    state = resource_state.setdefault("pulled", {})
    open_year_pulled = resource_state.setdefault("open_year_pulled", {})  # key -> ISO day
    today = session.today()
    pulled_at = session.server_now()
    names = MemberNames(session.client)
    for pull in dimension_pulls(session, history_years, dimensions, resource_state):
        months = pull.months
        for month, report in fetch_months(session.reports.report, pull.dimension, pull.basis,
                                          months):  # fmt: skip
            rows = dimension_rows(
                report,
                org_id=session.org_id,
                realm_id=session.realm_id,
                dimension=pull.dimension,
                basis=pull.basis,
                month=month,
                pulled_at=pulled_at,
                lookup=names.member_id,
            )
            yield rows_table(rows, DIMENSION_LINE_COLUMNS, DIMENSION_LINE_KEY)
        log.info("%s by %s %s: %d months%s", REPORT_NAME, pull.dimension.name, pull.basis,
                 len(months), "" if pull.whole else " (since the previous pull)")  # fmt: skip
        state[pull.state_key] = pulled_after(pull.previous, pull.windows, today).to_state()
        if pull.whole:
            open_year_pulled[pull.state_key] = today.isoformat()


@dataclass(frozen=True)
class DimensionPull:
    """What one sync pulls of the P&L by one dimension on one basis."""

    dimension: Dimension
    basis: str
    previous: PulledRange | None
    windows: list[DateRange]
    whole: bool  # the weekly re-pull of the open year and trailing window (or the first)

    @property
    def state_key(self) -> str:
        return f"{REPORT_NAME}:{self.basis}:{self.dimension.name}"

    @property
    def months(self) -> list[DateRange]:
        return [month for window in self.windows for month in window.month_periods()]


def dimension_pulls(
    session: SyncSession,
    history_years: int,
    dimensions: Sequence[Dimension],
    resource_state: Mapping[str, object],
) -> Iterator[DimensionPull]:
    """Each tracked dimension and basis with its windows, given the resource state (its
    `pulled` ranges and `open_year_pulled` days). Shared by the resource and the prefetch
    (report_prefetch.py), so both ask for the same months."""
    pulled = resource_state.get("pulled")
    pulled = pulled if isinstance(pulled, dict) else {}
    open_year_pulled = resource_state.get("open_year_pulled")
    open_year_pulled = open_year_pulled if isinstance(open_year_pulled, dict) else {}
    today = session.today()
    first_month = session.fiscal_year_start_month()
    for dimension in dimensions:
        for basis in BASES:
            key = f"{REPORT_NAME}:{basis}:{dimension.name}"
            previous = PulledRange.from_state(pulled.get(key))
            # The first sync's history holds the open year too.
            whole = previous is None or open_year_due(open_year_pulled.get(key), today)
            windows = windows_to_pull(
                today, first_month, history_years, previous, open_year=whole, trailing=whole
            )
            yield DimensionPull(dimension, basis, previous, windows, whole)


def dimension_requests(
    session: SyncSession, history_years: int, resource_state: Mapping[str, object]
) -> Iterator[tuple[str, dict[str, str]]]:
    """(report name, parameters) of every request `report_dimension_lines` makes."""
    dimensions = tracked_dimensions(_preferences(session))
    for pull in dimension_pulls(session, history_years, dimensions, resource_state):
        for month in pull.months:
            yield REPORT_NAME, dimension_params(pull.dimension, pull.basis, month)


def dimension_params(dimension: Dimension, basis: str, month: DateRange) -> dict[str, str]:
    return {
        **month.as_params(),
        "accounting_method": basis,
        "summarize_column_by": dimension.summarize_by,
    }


def open_year_due(last_pulled: object, today: date) -> bool:
    """Whether the whole open fiscal year is re-pulled: its last whole pull (an ISO day from
    the resource state) is OPEN_YEAR_REPULL_DAYS or more days before `today`, unknown (state
    written before this rule), or after `today` (a clock moved back)."""
    if not isinstance(last_pulled, str):
        return True
    try:
        pulled_on = date.fromisoformat(last_pulled)
    except ValueError:
        return True
    return not 0 <= (today - pulled_on).days < OPEN_YEAR_REPULL_DAYS


def fetch_months(
    fetch: ReportFetcher, dimension: Dimension, basis: str, months: Sequence[DateRange]
) -> Iterator[tuple[DateRange, dict]]:
    """(month, report) for each month, in order, REQUEST_WORKERS requests at a time
    (`fetch`: the session's `reports.report`, which hands out answers sent ahead). A month
    is the narrowest range there is: a too-wide answer (ReportRangeTooWide) fails."""

    def one(month: DateRange) -> dict:
        return fetch(REPORT_NAME, dimension_params(dimension, basis, month))

    if not months:
        return
    with ThreadPoolExecutor(REQUEST_WORKERS, thread_name_prefix="qbo-dimension") as pool:
        futures = [pool.submit(one, month) for month in months]
        try:
            for month, future in zip(months, futures, strict=True):
                yield month, future.result()
        finally:
            for future in futures:  # on failure (or a closed generator), ask no more
                future.cancel()


class MemberNames:
    """Fully qualified name -> Id of the company's classes or departments, read from
    QuickBooks (inactive ones included) the first time a column arrives without an id."""

    def __init__(self, client: QuickBooksClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._by_entity: dict[str, dict[str, str]] = {}

    def member_id(self, dimension: Dimension, name: str) -> str | None:
        with self._lock:
            if dimension.entity not in self._by_entity:
                self._by_entity[dimension.entity] = {
                    str(r.get("FullyQualifiedName") or r.get("Name")): str(r["Id"])
                    for page in entity_pages(self._client, dimension.entity)
                    for r in page
                }
            return self._by_entity[dimension.entity].get(name)


def _preferences(session: SyncSession) -> dict:
    """The company's Preferences: the session's copy, read once per sync (in the sync's one
    batch request)."""
    return session.preferences()
