"""Reports into `report_lines` rows: fetching with range splitting, and the rows' shape.

One row per report line and month: `flatten_report` (qb_pipeline.quickbooks.reports) keys
lines by account id and section `group`; here each row gets the company, the basis that was
asked for, a `line_key` unique within its report month, and `row_kind = 'line'`. The Total
column is dropped (it repeats the months).

Every month a request covers also gets one `row_kind = 'period'` marker row. The table
merges on (org_id, realm_id, report_name, basis, period_start): loading a month replaces
everything stored for that month, so a line that vanished from a re-pulled month vanishes
from the table, even when the whole month came back empty (no lines, only the marker).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

from qb_pipeline.quickbooks import ReportRangeTooWide, flatten_report
from qb_pipeline.sources.quickbooks.helpers.periods import DateRange
from qb_pipeline.sources.quickbooks.settings import REPORT_SUMMARIZE_BY

# (report name, parameters) -> the report's JSON.
ReportFetcher = Callable[[str, Mapping[str, str]], dict]

log = logging.getLogger("qb_pipeline.sources.quickbooks")

LINE = "line"
PERIOD = "period"
TOTAL_COLUMN_KEY = "total"


def report_params(basis: str, window: DateRange) -> dict[str, str]:
    """The parameters of the monthly report request over `window`."""
    return {
        **window.as_params(),
        "accounting_method": basis,
        "summarize_column_by": REPORT_SUMMARIZE_BY,
    }


def fetch_report(
    fetch: ReportFetcher, name: str, basis: str, window: DateRange
) -> Iterator[tuple[DateRange, dict]]:
    """The monthly report over `window`, as one response or, when QuickBooks answers that
    the range is too wide (504, truncation), as responses for halves of it. `fetch` is
    `client.report`, or the session's `reports.report` (answers sent ahead)."""
    try:
        report = fetch(name, report_params(basis, window))
    except ReportRangeTooWide:
        if window.months < 2:
            raise
        first, second = window.halves()
        log.info("%s %s %s..%s too wide; splitting", name, basis, window.start, window.end)
        yield from fetch_report(fetch, name, basis, first)
        yield from fetch_report(fetch, name, basis, second)
        return
    yield window, report


def report_rows(
    report: dict,
    *,
    org_id: str,
    realm_id: str,
    name: str,
    basis: str,
    window: DateRange,
    pulled_at: datetime | None,
) -> list[dict]:
    """The `report_lines` rows of one report response covering `window`."""
    common = {
        "org_id": org_id,
        "realm_id": realm_id,
        "report_name": name,
        "basis": basis,
        "pulled_at": pulled_at,
    }
    currency = (report.get("Header") or {}).get("Currency")
    rows = [
        {
            **common,
            "period_start": period.start,
            "period_end": period.end,
            "line_key": "",
            "row_kind": PERIOD,
            "currency": currency,
        }
        for period in window.month_periods()
    ]
    seen: Counter[tuple] = Counter()
    for line in flatten_report(report):
        if line["column_key"] == TOTAL_COLUMN_KEY or line["period_start"] is None:
            continue
        key = line_key(line)
        seen[(line["period_start"], key)] += 1
        count = seen[(line["period_start"], key)]
        if count > 1:  # never seen in QuickBooks' reports; keep both lines all the same
            key = f"{key}~{count}"
        rows.append(
            {
                **common,
                "period_start": line["period_start"],
                "period_end": line["period_end"],
                "line_key": key,
                **line_fields(line, currency),
            }
        )
    return rows


def line_fields(line: dict, currency: str | None) -> dict:
    """The columns a stored report line takes from one flattened line."""
    return {
        "row_kind": LINE,
        "account_id": line["account_id"],
        "account_name": line["account_name"],
        "report_group": line["group"],
        "section_path": "/".join(line["section_path"]),
        "is_summary": line["is_summary"],
        "summary_of_account_id": line.get("summary_of_account_id"),
        "has_sub_accounts": bool(line.get("has_sub_accounts")),
        "amount": line["amount"],
        "currency": line.get("currency") or currency,
    }


def line_key(line: dict) -> str:
    """A key for a report line that does not depend on display labels where QuickBooks gives
    ids or groups: the enclosing sections, then the account, `total`, or the group."""
    path = "/".join(line["section_path"])
    if line["is_summary"]:
        return f"{path}#total"
    if line["account_id"]:
        return f"{path}#account:{line['account_id']}"
    return f"{path}#line:{line['group'] or line['account_name'] or ''}"
