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
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import dlt

from qb_pipeline.quickbooks import QuickBooksClient
from qb_pipeline.sources.quickbooks.dimension_rows import (
    DIMENSION_LINE_COLUMNS,
    DIMENSION_LINE_KEY,
    DIMENSION_LINES_TABLE,
    DIMENSION_PERIOD_KEY,
    Dimension,
    dimension_rows,
    tracked_dimensions,
)
from qb_pipeline.sources.quickbooks.helpers import entity_pages
from qb_pipeline.sources.quickbooks.periods import (
    DateRange,
    PulledRange,
    pulled_after,
    windows_to_pull,
)
from qb_pipeline.sources.quickbooks.session import SyncSession
from qb_pipeline.sources.quickbooks.settings import LOADER_FILE_FORMAT
from qb_pipeline.sources.quickbooks.tables import MERGE

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
    columns=DIMENSION_LINE_COLUMNS,
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
    first_month = session.fiscal_year_start_month()
    pulled_at = session.server_now()
    names = MemberNames(session.client)
    for dimension in dimensions:
        for basis in BASES:
            key = f"{REPORT_NAME}:{basis}:{dimension.name}"
            previous = PulledRange.from_state(state.get(key))
            # The first sync's history holds the open year too.
            whole = previous is None or open_year_due(open_year_pulled.get(key), today)
            windows = windows_to_pull(
                today, first_month, history_years, previous, open_year=whole, trailing=whole
            )
            months = [month for window in windows for month in window.month_periods()]
            for month, report in fetch_months(session.client, dimension, basis, months):
                rows = dimension_rows(
                    report,
                    org_id=session.org_id,
                    realm_id=session.realm_id,
                    dimension=dimension,
                    basis=basis,
                    month=month,
                    pulled_at=pulled_at,
                    lookup=names.member_id,
                )
                yield rows
            log.info("%s by %s %s: %d months%s", REPORT_NAME, dimension.name, basis,
                     len(months), "" if whole else " (since the previous pull)")  # fmt: skip
            state[key] = pulled_after(previous, windows, today).to_state()
            if whole:
                open_year_pulled[key] = today.isoformat()


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
    client: QuickBooksClient, dimension: Dimension, basis: str, months: Sequence[DateRange]
) -> Iterator[tuple[DateRange, dict]]:
    """(month, report) for each month, in order, REQUEST_WORKERS requests at a time. A
    month is the narrowest range there is: a too-wide answer (ReportRangeTooWide) fails."""

    def fetch(month: DateRange) -> dict:
        params = {
            **month.as_params(),
            "accounting_method": basis,
            "summarize_column_by": dimension.summarize_by,
        }
        return client.report(REPORT_NAME, params)

    if not months:
        return
    with ThreadPoolExecutor(REQUEST_WORKERS, thread_name_prefix="qbo-dimension") as pool:
        futures = [pool.submit(fetch, month) for month in months]
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
