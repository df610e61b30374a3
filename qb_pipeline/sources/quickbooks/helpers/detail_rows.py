"""ProfitAndLossDetail answers into `pnl_detail_lines` rows: the table's shape and keys.

One row per transaction line (detail_reports.py), dated by the transaction, in the month it
falls in. Every month a request covers also gets one `row_kind = 'period'` marker row, and the
table merges on (org_id, realm_id, report_name, basis, period_start), as `report_lines`
does: loading a month replaces everything stored for it, so a line deleted or moved out of
a re-pulled month leaves the table, even when the month came back empty.

`line_key` is unique within a month: the transaction's type and id and the account, and for
the second and later postings of one transaction to one account (two invoice lines on one
income account) their place among them in the report's order, which QuickBooks keeps from
one answer to the next.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from qb_pipeline.quickbooks.detail_reports import detail_lines
from qb_pipeline.quickbooks.errors import UnexpectedAnswer
from qb_pipeline.sources.quickbooks.helpers.periods import DateRange, month_end, month_start
from qb_pipeline.sources.quickbooks.helpers.report_rows import LINE, PERIOD

DETAIL_REPORT = "ProfitAndLossDetail"
DETAIL_LINES_TABLE = "pnl_detail_lines"
DETAIL_PERIOD_KEY: tuple[str, ...] = (
    "org_id", "realm_id", "report_name", "basis", "period_start",
)  # fmt: skip
DETAIL_LINE_KEY: tuple[str, ...] = (*DETAIL_PERIOD_KEY, "line_key")


def _text(description: str) -> dict[str, Any]:
    return {"data_type": "text", "description": description}


DETAIL_LINE_COLUMNS: dict[str, dict[str, Any]] = {
    "org_id": _text("Organization (tenant) slug"),
    "realm_id": _text("QuickBooks company id (realmId)"),
    "report_name": _text("ProfitAndLossDetail"),
    "basis": _text("Accounting basis asked for: Accrual or Cash"),
    "period_start": {"data_type": "date", "description": "First day of the line's month"},
    "period_end": {
        "data_type": "date",
        "description": "Last day of the month the request covered (the sync's date for the "
        "current month)",
    },
    "line_key": _text("transaction type:id:account id[~n], unique within the month; '' on markers"),
    "row_kind": _text("'line', or 'period' for the marker row of each pulled month"),
    "txn_date": {"data_type": "date", "description": "Transaction date"},
    "txn_type": _text("Transaction type as QuickBooks prints it, e.g. 'Credit Memo'"),
    "txn_id": _text("Id of the transaction record"),
    "doc_number": _text("Document number (Num)"),
    "name": _text("Customer, vendor or employee on the transaction"),
    "name_id": _text("Id of that customer, vendor or employee"),
    "class_name": _text("Class of the line (fully qualified)"),
    "class_id": _text("Class Id of the line"),
    "department_name": _text("Department (location) of the transaction"),
    "department_id": _text("Department Id"),
    "memo": _text("Memo/description of the line"),
    "account_id": _text("Account Id the line posts to"),
    "account_name": _text("Account label QuickBooks printed (localized; not a key)"),
    "amount": {
        "data_type": "decimal",
        "description": "Amount in the home currency, in the account's natural sign",
    },
    "currency": _text("Home currency of the report"),
    "pulled_at": {"data_type": "timestamp", "description": "Server time of the sync"},
}
REQUIRED: tuple[str, ...] = (*DETAIL_LINE_KEY, "row_kind")


def detail_rows(
    report: dict,
    *,
    org_id: str,
    realm_id: str,
    basis: str,
    window: DateRange,
    pulled_at: datetime | None,
) -> list[dict]:
    """The `pnl_detail_lines` rows of one ProfitAndLossDetail answer covering `window`."""
    common = {
        "org_id": org_id,
        "realm_id": realm_id,
        "report_name": DETAIL_REPORT,
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
    for line in detail_lines(report):
        if not window.start <= line.txn_date <= window.end:
            raise UnexpectedAnswer(
                f"reports/{DETAIL_REPORT}",
                f"{basis} {window.start}..{window.end}: {line.txn_type} {line.txn_id} is "
                f"dated {line.txn_date}, outside the range asked for",
            )
        month = month_start(line.txn_date)
        key = f"{line.txn_type}:{line.txn_id}:{line.account_id}"
        seen[(month, key)] += 1
        count = seen[(month, key)]
        rows.append(
            {
                **common,
                "period_start": month,
                "period_end": min(month_end(month), window.end),
                "line_key": key if count == 1 else f"{key}~{count}",
                "row_kind": LINE,
                "txn_date": line.txn_date,
                "txn_type": line.txn_type,
                "txn_id": line.txn_id,
                "doc_number": line.doc_number,
                "name": line.name,
                "name_id": line.name_id,
                "class_name": line.class_name,
                "class_id": line.class_id,
                "department_name": line.department_name,
                "department_id": line.department_id,
                "memo": line.memo,
                "account_id": line.account_id,
                "account_name": line.account_name,
                "amount": line.amount,
                "currency": currency,
            }
        )
    return rows
