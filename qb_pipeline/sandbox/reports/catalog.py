"""QuickBooks reports computed from a company's ledger: the one entry point the HTTP layer calls.

`build_report(company, name, params)` validates the parameters, runs the named report's
builder and wraps its Columns and Rows in QuickBooks' Header. Report names are
case-sensitive, as in QuickBooks; an unknown name answers the API's response to an unknown
resource path (400, code 500 "Unsupported Operation"), and so do real report names the
emulator does not compute (JournalReport, the sales reports, ...), with a detail saying so.

Most reports cover a date range; the aging reports and CustomerBalance / VendorBalance are
as of one date (open_items.py), each parsed by its kind's `parse`.

Every report is capped at 400,000 cells: past it the rows stop and the row "Unable to
display more data. Please reduce the date range." ends the report, as QuickBooks does.
That is the only limit on detail reports (GeneralLedger, ProfitAndLossDetail,
TransactionList) too: Intuit's "about six months of detail per request" is advice, and a
longer range is served whole while it fits in the cap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qb_pipeline.sandbox.accounting.clock import format_timestamp
from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.reports.account_list import build_account_list
from qb_pipeline.sandbox.reports.accounts import Chart
from qb_pipeline.sandbox.reports.aging import (
    build_aged_payable_detail,
    build_aged_payables,
    build_aged_receivable_detail,
    build_aged_receivables,
)
from qb_pipeline.sandbox.reports.balances import build_balance_sheet, build_trial_balance
from qb_pipeline.sandbox.reports.cash_flow import build_cash_flow
from qb_pipeline.sandbox.reports.detail import (
    build_general_ledger,
    build_pnl_detail,
    build_transaction_list,
)
from qb_pipeline.sandbox.reports.open_items import (
    PAYABLE,
    RECEIVABLE,
    AsOfRequest,
    Side,
    parse_as_of_request,
)
from qb_pipeline.sandbox.reports.party_balances import build_customer_balance, build_vendor_balance
from qb_pipeline.sandbox.reports.profit_and_loss import build_profit_and_loss
from qb_pipeline.sandbox.reports.request import ReportError, ReportRequest, parse_request
from qb_pipeline.sandbox.reports.rows import CellBudget, ReportBody, cap_rows

__all__ = ["REPORT_NAMES", "ReportError", "build_report"]

Request = ReportRequest | AsOfRequest
Builder = Callable[[Company, Any, Chart], ReportBody]
Parser = Callable[[Company, str, Mapping[str, str]], Request]


def _ranged(default_macro: str) -> Parser:
    """Reports over a date range (start_date/end_date or a date_macro)."""

    def parse(company: Company, name: str, params: Mapping[str, str]) -> Request:
        return parse_request(company, name, params, default_macro)

    return parse


def _as_of(side: Side) -> Parser:
    """Reports as of one date (report_date or the end of a date_macro, default today)."""

    def parse(company: Company, name: str, params: Mapping[str, str]) -> Request:
        return parse_as_of_request(company, name, params, side)

    return parse


@dataclass(frozen=True)
class ReportKind:
    builder: Builder
    parse: Parser
    summarized: bool  # Header.SummarizeColumnsBy present
    gaap: bool  # Option AccountingStandard present (P&L and balance sheet only)
    dated: bool = True  # Header carries the period
    basis: bool = True  # Header carries ReportBasis (aging is accrual by nature: no basis)


YEAR_TO_DATE = "This Fiscal Year-to-date"
MONTH_TO_DATE = "This Month-to-date"

YTD, MTD = _ranged(YEAR_TO_DATE), _ranged(MONTH_TO_DATE)
REPORTS: dict[str, ReportKind] = {
    "ProfitAndLoss": ReportKind(build_profit_and_loss, YTD, True, True),
    "BalanceSheet": ReportKind(build_balance_sheet, YTD, True, True),
    "CashFlow": ReportKind(build_cash_flow, YTD, True, False),
    "TrialBalance": ReportKind(build_trial_balance, MTD, False, False),
    "GeneralLedger": ReportKind(build_general_ledger, MTD, False, False),
    "ProfitAndLossDetail": ReportKind(build_pnl_detail, MTD, False, False),
    "TransactionList": ReportKind(build_transaction_list, MTD, False, False),
    "AccountList": ReportKind(build_account_list, MTD, False, False, dated=False),
    "AgedReceivables": ReportKind(
        build_aged_receivables, _as_of(RECEIVABLE), True, False, basis=False
    ),
    "AgedReceivableDetail": ReportKind(
        build_aged_receivable_detail, _as_of(RECEIVABLE), False, False, basis=False
    ),
    "AgedPayables": ReportKind(build_aged_payables, _as_of(PAYABLE), True, False, basis=False),
    "AgedPayableDetail": ReportKind(
        build_aged_payable_detail, _as_of(PAYABLE), False, False, basis=False
    ),
    "CustomerBalance": ReportKind(build_customer_balance, _as_of(RECEIVABLE), True, False),
    "VendorBalance": ReportKind(build_vendor_balance, _as_of(PAYABLE), True, False),
}
REPORT_NAMES: tuple[str, ...] = tuple(REPORTS)

# Real report names the emulator does not compute.
NOT_COMPUTED: frozenset[str] = frozenset({
    "JournalReport", "CustomerBalanceDetail", "CustomerIncome", "CustomerSales",
    "VendorBalanceDetail", "VendorExpenses", "ItemSales", "ClassSales", "DepartmentSales",
    "InventoryValuationSummary", "InventoryValuationDetail",
})  # fmt: skip


def _unknown_report(company: Company, name: str) -> ReportError:
    path = f"/v3/company/{company.realm_id}/reports/{name}"
    detail = f"Operation Could not find resource for relative : {path} is not supported."
    if name in NOT_COMPUTED:
        detail = f"The emulator does not compute the {name} report; it serves {', '.join(REPORTS)}."
    return ReportError(400, "500", "Unsupported Operation", detail)


def _header(company: Company, kind: ReportKind, request: Request, has_data: bool) -> dict:
    header: dict = {"Time": format_timestamp(company.now()), "ReportName": request.name}
    if kind.dated:
        if request.date_macro:
            header["DateMacro"] = request.date_macro
        if kind.basis:
            header["ReportBasis"] = request.basis
        header["StartPeriod"] = request.start.isoformat()
        header["EndPeriod"] = request.end.isoformat()
        if kind.summarized:
            header["SummarizeColumnsBy"] = request.summarize
    header["Currency"] = company.home_currency
    for key, value in request.echoed_filters:
        header[key] = value
    options = [{"Name": "AccountingStandard", "Value": "GAAP"}] if kind.gaap else []
    options.append({"Name": "NoReportData", "Value": "false" if has_data else "true"})
    header["Option"] = options
    return header


def build_report(company: Company, name: str, params: Mapping[str, str]) -> dict:
    """The full report JSON (Header, Columns, Rows); raises ReportError for bad requests."""
    kind = REPORTS.get(name)
    if kind is None:
        raise _unknown_report(company, name)
    request = kind.parse(company, name, params)
    with company.lock:
        chart = Chart(company)
        body = kind.builder(company, request, chart)
    rows = body.rows
    if not body.capped:
        rows = cap_rows(rows, CellBudget(), len(body.columns))
    return {
        "Header": _header(company, kind, request, body.has_data),
        "Columns": {"Column": body.columns},
        "Rows": {"Row": rows} if rows else {},
    }
