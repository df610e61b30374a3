"""ProfitAndLoss: income and expense groups, sub-account trees and the computed lines.

Sections carry `group` (Income, COGS, Expenses, OtherIncome, OtherExpenses) and so do the
summary-only computed lines (GrossProfit, NetOperatingIncome, NetOtherIncome, NetIncome);
nested sub-account sections do not. Income and Expenses always appear (Header + Summary
with "" when empty, as in the empty-report capture); COGS, Other Income and Other Expenses
only with activity, and Net Other Income only when one of those two appears.
"""

from __future__ import annotations

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.reports.accounts import Chart
from qb_pipeline.sandbox.reports.periods import ONE_DAY
from qb_pipeline.sandbox.reports.request import ReportRequest
from qb_pipeline.sandbox.reports.rows import (
    Amounts,
    ReportBody,
    account_rows,
    add,
    as_number,
    blank_cells,
    minus,
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
from qb_pipeline.sandbox.reports.sums import Slices

# (group, section label, account types)
PNL_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Income", "Income", ("Income",)),
    ("COGS", "Cost of Goods Sold", ("Cost of Goods Sold",)),
    ("Expenses", "Expenses", ("Expense",)),
    ("OtherIncome", "Other Income", ("Other Income",)),
    ("OtherExpenses", "Other Expenses", ("Other Expense",)),
)
ALWAYS_SHOWN = frozenset({"Income", "Expenses"})


def pnl_slices_and_columns(
    company: Company, request: ReportRequest, chart: Chart, *, flow_total: bool = True
) -> tuple[Slices, list[ReportColumn]]:
    """The period sums and money columns of a flow report over the request's range.

    Only the range itself is read (never earlier history), which keeps a monthly P&L of a
    million-posting company fast.
    """
    bucket_of = dimension_bucket(request)
    before = request.start - ONE_DAY
    if bucket_of is None:
        columns = summary_columns(company, request, flow_total=flow_total)
        cuts = [before, *(c.end for c in columns)]
        slices = Slices(
            company.ledger, request.basis, cuts, from_beginning=False, keep=request.keep()
        )
        return slices, columns
    slices = Slices(
        company.ledger,
        request.basis,
        [before, request.end],
        from_beginning=False,
        keep=request.keep(),
        bucket_of=bucket_of,
    )
    active = {
        bucket
        for bucket in slices.buckets
        if any(a in chart and chart[a].is_pnl for a in slices.window(before, request.end, bucket))
    }
    return slices, summary_columns(company, request, flow_total=flow_total, buckets=active)


def pnl_amounts(chart: Chart, slices: Slices, columns: list[ReportColumn]) -> dict[str, Amounts]:
    """Natural-sign amounts of every P&L account with activity, per column."""
    out: dict[str, Amounts] = {}
    width = len(columns)
    for i, column in enumerate(columns):
        window = slices.window(column.start - ONE_DAY, column.end, column.bucket)
        for account_id, cents in window.items():
            account = chart.by_id.get(account_id)
            if account is not None and account.is_pnl:
                out.setdefault(account_id, [None] * width)[i] = account.sign * cents
    return out


def pnl_rows(chart: Chart, amounts: dict[str, Amounts], width: int) -> list[dict]:
    """The statement rows for `amounts` (one entry per money column)."""
    has_data = bool(amounts)
    totals: dict[str, Amounts] = {}
    groups: dict[str, dict] = {}
    for group, label, types in PNL_GROUPS:
        rows, total = account_rows(chart, chart.roots(types), types, amounts, width)
        totals[group] = total
        if rows or group in ALWAYS_SHOWN:
            groups[group] = section(
                blank_cells(label, width + 1),
                rows,
                money_cells(f"Total {label}", total),
                group=group,
            )

    def computed(group: str, label: str, amounts: Amounts) -> dict:
        values = as_number(amounts) if has_data else [None] * width
        return section(None, None, money_cells(label, values), group=group)

    gross = minus(totals["Income"], totals["COGS"])
    operating = minus(gross, totals["Expenses"])
    other = minus(totals["OtherIncome"], totals["OtherExpenses"])
    out = [groups["Income"]]
    if "COGS" in groups:
        out.append(groups["COGS"])
    out += [
        computed("GrossProfit", "Gross Profit", gross),
        groups["Expenses"],
        computed("NetOperatingIncome", "Net Operating Income", operating),
    ]
    if "OtherIncome" in groups or "OtherExpenses" in groups:
        out += [groups[g] for g in ("OtherIncome", "OtherExpenses") if g in groups]
        out.append(computed("NetOtherIncome", "Net Other Income", other))
    out.append(computed("NetIncome", "Net Income", add(operating, other)))
    return out


def build_profit_and_loss(company: Company, request: ReportRequest, chart: Chart) -> ReportBody:
    slices, columns = pnl_slices_and_columns(company, request, chart)
    amounts = pnl_amounts(chart, slices, columns)
    return ReportBody(
        columns=[label_column(), *(column_json(c) for c in columns)],
        rows=pnl_rows(chart, amounts, len(columns)),
        has_data=bool(amounts),
    )
