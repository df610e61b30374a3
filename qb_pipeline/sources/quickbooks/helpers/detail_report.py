"""The resource `pnl_detail_lines`: every P&L transaction line, from ProfitAndLossDetail.

Daily and weekly figures and the drill-down from a goal's period to its transactions need
lines, not monthly totals. They come from the ProfitAndLossDetail report, on both bases,
rather than from the entities' own lines: the report is QuickBooks' own attribution of each
posting to an account and a basis (an invoice's income lines, its discounts and the cost of
goods QuickBooks computes for inventory items; on cash basis, the part of each sale a payment
settled), so the lines of a month add up to the summary ProfitAndLoss of that month, account
by account, on either basis (docs/decisions.md).

The months pulled follow the summary ProfitAndLoss's re-pull rule (periods.py) with a state
of their own, so after every sync both tables cover the same months. A request covers up to
a fiscal year (request_ranges); QuickBooks truncates a detail report past 400,000 cells, and
a truncated answer is asked again in halves (fetch_report).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

import dlt

from qb_pipeline.quickbooks.detail_reports import DETAIL_COLUMNS
from qb_pipeline.sources.quickbooks.helpers.arrow_pages import ROOT_KEY_COLUMNS
from qb_pipeline.sources.quickbooks.helpers.detail_rows import (
    DETAIL_LINE_COLUMNS,
    DETAIL_LINES_TABLE,
    DETAIL_PERIOD_KEY,
    DETAIL_REPORT,
    REQUIRED,
    detail_rows,
)
from qb_pipeline.sources.quickbooks.helpers.periods import (
    DateRange,
    PulledRange,
    pulled_after,
    request_ranges,
    windows_to_pull,
)
from qb_pipeline.sources.quickbooks.helpers.reads import SyncSession
from qb_pipeline.sources.quickbooks.helpers.report_plan import ReportPull
from qb_pipeline.sources.quickbooks.helpers.report_rows import fetch_report
from qb_pipeline.sources.quickbooks.helpers.row_tables import rows_table
from qb_pipeline.sources.quickbooks.settings import LOADER_FILE_FORMAT, MERGE

log = logging.getLogger("qb_pipeline.sources.quickbooks")

BASES: tuple[str, ...] = ("Accrual", "Cash")


def detail_params(basis: str, window: DateRange) -> dict[str, str]:
    """The parameters of one ProfitAndLossDetail request over `window`."""
    return {
        **window.as_params(),
        "accounting_method": basis,
        "columns": ",".join(DETAIL_COLUMNS),
    }


def detail_pulls(
    session: SyncSession, history_years: int, pulled: Mapping[str, object]
) -> Iterator[ReportPull]:
    """Each basis with its windows, given the resource state's `pulled` ranges. Shared by
    the resource and the requests sent ahead, so both ask for the same ranges."""
    today = session.today()
    first_month = session.fiscal_year_start_month()
    for basis in BASES:
        previous = PulledRange.from_state(pulled.get(f"{DETAIL_REPORT}:{basis}"))
        windows = windows_to_pull(today, first_month, history_years, previous)
        yield ReportPull(DETAIL_REPORT, basis, previous, windows)


def _chunks(session: SyncSession, pull: ReportPull) -> Iterator[DateRange]:
    first_month = session.fiscal_year_start_month()
    for window in pull.windows:
        yield from request_ranges(window, first_month)


def detail_requests(
    session: SyncSession, history_years: int, resource_state: Mapping[str, object]
) -> Iterator[tuple[str, dict[str, str]]]:
    """(report name, parameters) of every first request `pnl_detail_lines` makes."""
    pulled = resource_state.get("pulled")
    for pull in detail_pulls(session, history_years, pulled if isinstance(pulled, dict) else {}):
        for chunk in _chunks(session, pull):
            yield DETAIL_REPORT, detail_params(pull.basis, chunk)


# Replaced by month (merge_key) only, without a primary key: with both, dlt's delete-insert
# deletes where either matches, which DuckDB cannot run as a join (OR of two correlated
# EXISTS): on the large company's 90,000 lines that load took 120 s and 20 GB. The months
# of one sync never overlap (request ranges and their halves are disjoint), so the rows need
# no dedup; `line_key` stays unique within a month (tested).
@dlt.resource(
    name=DETAIL_LINES_TABLE,
    merge_key=DETAIL_PERIOD_KEY,
    write_disposition=MERGE,
    columns={**DETAIL_LINE_COLUMNS, **ROOT_KEY_COLUMNS},
    file_format=LOADER_FILE_FORMAT,
)
def pnl_detail_lines(session: SyncSession, history_years: int) -> Iterator[object]:
    """P&L transaction lines over the history on the first sync, then the re-pull window."""
    state = dlt.current.resource_state().setdefault("pulled", {})
    today = session.today()
    pulled_at = session.server_now()
    for pull in detail_pulls(session, history_years, state):
        for chunk in _chunks(session, pull):
            answers = fetch_report(
                session.reports.report, DETAIL_REPORT, pull.basis, chunk, params=detail_params
            )
            for part, report in answers:
                rows = detail_rows(
                    report,
                    org_id=session.org_id,
                    realm_id=session.realm_id,
                    basis=pull.basis,
                    window=part,
                    pulled_at=pulled_at,
                )
                log.info("%s %s %s..%s: %d rows", DETAIL_REPORT, pull.basis, part.start,
                         part.end, len(rows))  # fmt: skip
                yield rows_table(rows, DETAIL_LINE_COLUMNS, REQUIRED)
        state[pull.state_key] = pulled_after(pull.previous, pull.windows, today).to_state()
