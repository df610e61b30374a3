"""BalanceSheet and TrialBalance: balances as of a date, with the fiscal-year income split.

Profit and loss accounts close into equity at each fiscal year start: net income of earlier
fiscal years is shown on the Retained Earnings account (the Equity account with
AccountSubType RetainedEarnings, together with its own postings), and the current fiscal
year's income up to the as-of date on the computed "Net Income" row. Liabilities and
equity carry their natural (credit-positive) sign, so TOTAL ASSETS equals TOTAL
LIABILITIES AND EQUITY in every column, on both bases (class or department filters drop
the untagged side of entries, so filtered balance sheets need not balance, as in QBO).
"""

from __future__ import annotations

from dataclasses import dataclass

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.reports.accounts import Chart
from qb_pipeline.sandbox.reports.periods import ONE_DAY, fiscal_year_start
from qb_pipeline.sandbox.reports.request import ReportRequest
from qb_pipeline.sandbox.reports.rows import (
    Amounts,
    ReportBody,
    account_rows,
    add,
    blank_cells,
    cell,
    data_row,
    has_activity,
    money,
    money_cells,
    section,
)
from qb_pipeline.sandbox.reports.summary_columns import (
    ReportColumn,
    column_json,
    dimension_bucket,
    label_column,
    summary_columns,
)
from qb_pipeline.sandbox.reports.sums import ALL, Slices


@dataclass(frozen=True)
class Group:
    """A balance-sheet group: account types (leaf) or nested groups."""

    name: str
    header: str
    summary: str
    types: tuple[str, ...] = ()
    parts: tuple[Group, ...] = ()


G = Group
BALANCE_SHEET: tuple[Group, ...] = (
    G("TotalAssets", "ASSETS", "TOTAL ASSETS", parts=(
        G("CurrentAssets", "Current Assets", "Total Current Assets", parts=(
            G("BankAccounts", "Bank Accounts", "Total Bank Accounts", ("Bank",)),
            G("AR", "Accounts Receivable", "Total Accounts Receivable", ("Accounts Receivable",)),
            G("OtherCurrentAssets", "Other Current Assets", "Total Other Current Assets",
              ("Other Current Asset",)),
        )),
        G("FixedAssets", "Fixed Assets", "Total Fixed Assets", ("Fixed Asset",)),
        G("OtherAssets", "Other Assets", "Total Other Assets", ("Other Asset",)),
    )),
    G("TotalLiabilitiesAndEquity", "LIABILITIES AND EQUITY", "TOTAL LIABILITIES AND EQUITY", parts=(
        G("Liabilities", "Liabilities", "Total Liabilities", parts=(
            G("CurrentLiabilities", "Current Liabilities", "Total Current Liabilities", parts=(
                G("AP", "Accounts Payable", "Total Accounts Payable", ("Accounts Payable",)),
                G("CreditCards", "Credit Cards", "Total Credit Cards", ("Credit Card",)),
                G("OtherCurrentLiabilities", "Other Current Liabilities",
                  "Total Other Current Liabilities", ("Other Current Liability",)),
            )),
            G("LongTermLiabilities", "Long-Term Liabilities", "Total Long-Term Liabilities",
              ("Long Term Liability",)),
        )),
        G("Equity", "Equity", "Total Equity", ("Equity",)),
    )),
)  # fmt: skip


@dataclass
class Balances:
    """Natural-sign balances per column of balance-sheet accounts (Retained Earnings
    already including earlier years' income), and the current fiscal year's net income."""

    accounts: dict[str, Amounts]
    net_income: Amounts
    prior_income: Amounts  # earlier fiscal years' net income (already in Retained Earnings)


def balance_slices(
    company: Company, request: ReportRequest, *, flow: bool = False
) -> tuple[Slices, list[ReportColumn]]:
    """One pass over the ledger for every date a balance report needs: each column's end
    and the day before its fiscal year starts (plus, for flow reports, the day before the
    column starts), and the money columns (a final Total only for flows)."""
    fiscal = company.fiscal_year_start_month
    bucket_of = dimension_bucket(request)
    columns = [] if bucket_of else summary_columns(company, request, flow_total=flow)
    spans = [(c.start, c.end) for c in columns] or [(request.start, request.end)]
    cuts = set()
    for start, end in spans:
        cuts |= {end, fiscal_year_start(end, fiscal) - ONE_DAY}
        if flow:
            cuts.add(start - ONE_DAY)
    slices = Slices(
        company.ledger,
        request.basis,
        cuts,
        from_beginning=True,
        keep=request.keep(),
        bucket_of=bucket_of,
    )
    if bucket_of:
        columns = summary_columns(company, request, flow_total=flow, buckets=slices.buckets)
    return slices, columns


def balances(
    company: Company, chart: Chart, slices: Slices, columns: list[ReportColumn]
) -> Balances:
    fiscal = company.fiscal_year_start_month
    width = len(columns)
    accounts: dict[str, Amounts] = {}
    net_income: Amounts = [None] * width
    prior_income: Amounts = [None] * width

    def income(window: dict[str, int]) -> int | None:
        pnl = [cents for a, cents in window.items() if a in chart and chart[a].is_pnl]
        return -sum(pnl) if pnl else None

    for i, column in enumerate(columns):
        year_before = fiscal_year_start(column.end, fiscal) - ONE_DAY
        for account_id, cents in slices.window(None, column.end, column.bucket).items():
            account = chart.by_id.get(account_id)
            if account is not None and not account.is_pnl:
                accounts.setdefault(account_id, [None] * width)[i] = account.sign * cents
        prior_income[i] = income(slices.window(None, year_before, column.bucket))
        net_income[i] = income(slices.window(year_before, column.end, column.bucket))
    retained = chart.retained_earnings_id
    if retained is not None and has_activity(prior_income):
        accounts[retained] = add(accounts.get(retained, [None] * width), prior_income)
    return Balances(accounts, net_income, prior_income)


def _render(
    group: Group, chart: Chart, figures: Balances, width: int
) -> tuple[dict | None, Amounts]:
    if group.parts:
        rows, total = [], [None] * width
        for part in group.parts:
            row, subtotal = _render(part, chart, figures, width)
            if row is not None:
                rows.append(row)
                total = add(total, subtotal)
    else:
        rows, total = account_rows(
            chart, chart.roots(group.types), group.types, figures.accounts, width
        )
        if group.name == "Equity":
            if chart.retained_earnings_id is None and has_activity(figures.prior_income):
                rows.append(data_row(money_cells("Retained Earnings", figures.prior_income)))
                total = add(total, figures.prior_income)
            if has_activity(figures.net_income):
                rows.append(data_row(money_cells("Net Income", figures.net_income), "NetIncome"))
                total = add(total, figures.net_income)
    if not rows and group.name not in ("TotalAssets", "TotalLiabilitiesAndEquity"):
        return None, total
    row = section(
        blank_cells(group.header, width + 1),
        rows,
        money_cells(group.summary, total),
        group=group.name,
    )
    return row, total


def build_balance_sheet(company: Company, request: ReportRequest, chart: Chart) -> ReportBody:
    slices, columns = balance_slices(company, request)
    figures = balances(company, chart, slices, columns)
    width = len(columns)
    rows = [_render(group, chart, figures, width)[0] for group in BALANCE_SHEET]
    return ReportBody(
        columns=[label_column(), *(column_json(c) for c in columns)],
        rows=[row for row in rows if row is not None],
        has_data=bool(figures.accounts) or has_activity(figures.net_income),
    )


def build_trial_balance(company: Company, request: ReportRequest, chart: Chart) -> ReportBody:
    """Debit/Credit balance of every account with a non-zero balance as of end_date:
    balance-sheet accounts since the beginning, P&L accounts since the fiscal year start."""
    end = request.end
    year_before = fiscal_year_start(end, company.fiscal_year_start_month) - ONE_DAY
    slices = Slices(
        company.ledger, request.basis, [year_before, end], from_beginning=True, keep=request.keep()
    )
    to_date = slices.window(None, end, ALL)
    this_year = slices.window(year_before, end, ALL)
    earlier = slices.window(None, year_before, ALL)
    prior = sum(c for a, c in earlier.items() if a in chart and chart[a].is_pnl)
    rows: list[dict] = []
    debits = credits = 0

    def add_row(label: str, cents: int, id_: str | None) -> None:
        nonlocal debits, credits
        debit, credit = (cents, None) if cents > 0 else (None, -cents)
        debits += debit or 0
        credits += credit or 0
        rows.append(data_row([cell(label, id_), {"value": money(debit)}, {"value": money(credit)}]))

    retained = chart.retained_earnings_id
    for account_id in chart.tree_order():
        account = chart[account_id]
        cents = (this_year if account.is_pnl else to_date).get(account_id, 0)
        if account_id == retained:
            cents += prior
        if cents:
            add_row(account.full_label, cents, account_id)
    if retained is None and prior:
        add_row("Retained Earnings", prior, None)
    if rows:
        total = [cell("TOTAL"), {"value": money(debits)}, {"value": money(credits)}]
        rows.append(section(None, None, total, group="GrandTotal"))
    columns = [
        label_column(),
        {
            "ColTitle": "Debit",
            "ColType": "Money",
            "MetaData": [{"Name": "ColKey", "Value": "debit"}],
        },
        {
            "ColTitle": "Credit",
            "ColType": "Money",
            "MetaData": [{"Name": "ColKey", "Value": "credit"}],
        },
    ]
    return ReportBody(columns=columns, rows=rows, has_data=bool(rows))
