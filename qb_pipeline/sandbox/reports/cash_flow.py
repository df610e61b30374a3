"""CashFlow (indirect method): net income, adjusted by the change of every non-cash account.

Cash is the Bank accounts. Each other balance-sheet account's change over a column's
period enters with the opposite of its debit change (an A/R increase uses cash, an A/P
increase provides it): receivables, payables, other current assets and liabilities and
credit cards under operating adjustments; fixed and other assets under investing;
long-term liabilities and equity (Retained Earnings' own postings included, its computed
prior-year income not) under financing. As every entry balances, BeginningCash +
CashIncrease == EndingCash == the bank balances, column by column. Accounts are listed
flat by fully qualified name; Investing and Financing appear only with activity, and the
BeginningCash line only once the banks have history before the period.
"""

from __future__ import annotations

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.reports.accounts import Chart
from qb_pipeline.sandbox.reports.balances import balance_slices
from qb_pipeline.sandbox.reports.periods import ONE_DAY
from qb_pipeline.sandbox.reports.request import ReportRequest
from qb_pipeline.sandbox.reports.rows import (
    Amounts,
    ReportBody,
    add,
    as_number,
    blank_cells,
    data_row,
    has_activity,
    money_cells,
    section,
)
from qb_pipeline.sandbox.reports.summary_columns import column_json, label_column

OPERATING_TYPES = (
    "Accounts Receivable", "Other Current Asset", "Accounts Payable", "Credit Card",
    "Other Current Liability",
)  # fmt: skip
INVESTING_TYPES = ("Fixed Asset", "Other Asset")
FINANCING_TYPES = ("Long Term Liability", "Equity")
ADJUSTMENTS = "Adjustments to reconcile Net Income to Net Cash provided by operations:"


def build_cash_flow(company: Company, request: ReportRequest, chart: Chart) -> ReportBody:
    slices, columns = balance_slices(company, request, flow=True)
    width = len(columns)
    effects: dict[str, Amounts] = {}
    net_income: Amounts = [None] * width
    opening: Amounts = [None] * width
    for i, column in enumerate(columns):
        before = column.start - ONE_DAY
        pnl = []
        for account_id, cents in slices.window(before, column.end, column.bucket).items():
            account = chart.by_id.get(account_id)
            if account is None or account.account_type == "Bank":
                continue
            if account.is_pnl:
                pnl.append(cents)
            else:
                effects.setdefault(account_id, [None] * width)[i] = -cents
        net_income[i] = -sum(pnl) if pnl else None
        opening[i] = _cash(chart, slices.window(None, before, column.bucket))

    def listed(types: tuple[str, ...]) -> tuple[list[dict], Amounts]:
        rows, total = [], [None] * width
        for account_id in chart.ordered(a for a in effects if chart[a].account_type in types):
            account = chart[account_id]
            rows.append(data_row(money_cells(account.full_label, effects[account_id], account_id)))
            total = add(total, effects[account_id])
        return rows, total

    has_data = bool(effects) or has_activity(net_income) or has_activity(opening)
    if not has_data:
        return ReportBody([label_column(), *(column_json(c) for c in columns)], [], False)
    adjustments, adjusted = listed(OPERATING_TYPES)
    operating_rows = [data_row(money_cells("Net Income", as_number(net_income)), "NetIncome")]
    if adjustments:
        operating_rows.append(
            section(
                blank_cells(ADJUSTMENTS, width + 1),
                adjustments,
                money_cells(f"Total {ADJUSTMENTS}", as_number(adjusted)),
                group="OperatingAdjustments",
            )
        )
    operating = as_number(add(net_income, adjusted))
    rows = [
        section(
            blank_cells("OPERATING ACTIVITIES", width + 1),
            operating_rows,
            money_cells("Net cash provided by operating activities", operating),
            group="OperatingActivities",
        )
    ]
    increase = operating
    for group, header, types in (
        ("InvestingActivities", "INVESTING ACTIVITIES", INVESTING_TYPES),
        ("FinancingActivities", "FINANCING ACTIVITIES", FINANCING_TYPES),
    ):
        listed_rows, total = listed(types)
        if listed_rows:
            label = f"Net cash provided by {header.split()[0].lower()} activities"
            rows.append(
                section(
                    blank_cells(header, width + 1),
                    listed_rows,
                    money_cells(label, as_number(total)),
                    group=group,
                )
            )
            increase = as_number(add(increase, total))
    rows.append(
        section(None, None, money_cells("Net cash increase for period", increase), "CashIncrease")
    )
    if has_activity(opening):
        rows.append(
            section(
                None,
                None,
                money_cells("Cash at beginning of period", as_number(opening)),
                "BeginningCash",
            )
        )
    ending = as_number(add(opening, increase))
    rows.append(section(None, None, money_cells("Cash at end of period", ending), "EndingCash"))
    return ReportBody([label_column(), *(column_json(c) for c in columns)], rows, True)


def _cash(chart: Chart, window: dict[str, int]) -> int | None:
    banks = [cents for a, cents in window.items() if a in chart and chart[a].account_type == "Bank"]
    return sum(banks) if banks else None
