"""QuickBooks reports computed from a company's ledger: the one entry point the HTTP layer calls.

`build_report(company, name, params)` validates the parameters, runs the named report's
builder and wraps its Columns and Rows in QuickBooks' Header. Report names are
case-sensitive, as in QuickBooks; an unknown name answers the API's response to an unknown
resource path (400, code 500 "Unsupported Operation"), and so do real report names the
emulator does not compute (JournalReport, the aging reports, ...), with a detail saying so.

Every report is capped at 400,000 cells: past it the rows stop and the row "Unable to
display more data. Please reduce the date range." ends the report, as QuickBooks does.
That is the only limit on detail reports (GeneralLedger, ProfitAndLossDetail,
TransactionList) too: Intuit's "about six months of detail per request" is advice, and a
longer range is served whole while it fits in the cap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from qb_pipeline.sandbox.accounting.clock import format_timestamp
from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.reports.account_list import build_account_list
from qb_pipeline.sandbox.reports.accounts import Chart
from qb_pipeline.sandbox.reports.balances import build_balance_sheet, build_trial_balance
from qb_pipeline.sandbox.reports.cash_flow import build_cash_flow
from qb_pipeline.sandbox.reports.detail import (
    build_general_ledger,
    build_pnl_detail,
    build_transaction_list,
)
from qb_pipeline.sandbox.reports.profit_and_loss import build_profit_and_loss
from qb_pipeline.sandbox.reports.request import ReportError, ReportRequest, parse_request
from qb_pipeline.sandbox.reports.rows import CellBudget, ReportBody, cap_rows

__all__ = ["REPORT_NAMES", "ReportError", "build_report"]

Builder = Callable[[Company, ReportRequest, Chart], ReportBody]


@dataclass(frozen=True)
class ReportKind:
    builder: Builder
    default_macro: str
    summarized: bool  # Header.SummarizeColumnsBy present
    gaap: bool  # Option AccountingStandard present (P&L and balance sheet only)
    dated: bool = True  # Header carries the basis and the period


YEAR_TO_DATE = "This Fiscal Year-to-date"
MONTH_TO_DATE = "This Month-to-date"

REPORTS: dict[str, ReportKind] = {
    "ProfitAndLoss": ReportKind(build_profit_and_loss, YEAR_TO_DATE, True, True),
    "BalanceSheet": ReportKind(build_balance_sheet, YEAR_TO_DATE, True, True),
    "CashFlow": ReportKind(build_cash_flow, YEAR_TO_DATE, True, False),
    "TrialBalance": ReportKind(build_trial_balance, MONTH_TO_DATE, False, False),
    "GeneralLedger": ReportKind(build_general_ledger, MONTH_TO_DATE, False, False),
    "ProfitAndLossDetail": ReportKind(build_pnl_detail, MONTH_TO_DATE, False, False),
    "TransactionList": ReportKind(build_transaction_list, MONTH_TO_DATE, False, False),
    "AccountList": ReportKind(build_account_list, MONTH_TO_DATE, False, False, dated=False),
}
REPORT_NAMES: tuple[str, ...] = tuple(REPORTS)

# Real report names (reference 4.1) the emulator does not compute.
NOT_COMPUTED: frozenset[str] = frozenset({
    "JournalReport", "AgedReceivables", "AgedReceivableDetail", "AgedPayables",
    "AgedPayableDetail", "CustomerBalance", "CustomerBalanceDetail", "CustomerIncome",
    "CustomerSales", "VendorBalance", "VendorBalanceDetail", "VendorExpenses", "ItemSales",
    "ClassSales", "DepartmentSales", "InventoryValuationSummary", "InventoryValuationDetail",
})  # fmt: skip


def _unknown_report(company: Company, name: str) -> ReportError:
    path = f"/v3/company/{company.realm_id}/reports/{name}"
    detail = f"Operation Could not find resource for relative : {path} is not supported."
    if name in NOT_COMPUTED:
        detail = f"The emulator does not compute the {name} report; it serves {', '.join(REPORTS)}."
    return ReportError(400, "500", "Unsupported Operation", detail)


def _header(company: Company, kind: ReportKind, request: ReportRequest, has_data: bool) -> dict:
    header: dict = {"Time": format_timestamp(company.now()), "ReportName": request.name}
    if kind.dated:
        if request.date_macro:
            header["DateMacro"] = request.date_macro
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
    request = parse_request(company, name, params, kind.default_macro)
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
