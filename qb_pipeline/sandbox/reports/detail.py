"""Detail reports: GeneralLedger, ProfitAndLossDetail and TransactionList.

GeneralLedger and ProfitAndLossDetail nest sub-accounts as QuickBooks does: a parent with
its own transactions gets them in a headerless Section ("Total for <parent>") followed by
its sub-account sections, under "Total for <parent> with sub-accounts"; a parent without
any of its own has only its sub-account sections ("Total for <parent>") and no id on its
header. GeneralLedger starts each account with its "Beginning Balance" (balance-sheet
accounts: all history; P&L accounts: since the fiscal year start) when it had history, and
lists accounts with activity in the range or a non-zero beginning balance.
ProfitAndLossDetail groups accounts under "Ordinary Income/Expenses" (Gross Profit first,
as in a real capture) and "Other Income/Expense". TransactionList lists one row per
transaction: its header account, split, and amount in that account's natural sign (journal
entries: their total debits). Rows and cells come from report_lines.

Detail reports cover the whole requested range, however long: like every report they stop
only at the 400,000-cell cap, with the truncation row last (rows.py). Intuit advises
keeping detail requests to about six months, but that is advice; the limit it enforces is
the number of cells.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.accounting.ledger import Posting
from qb_pipeline.sandbox.reports.accounts import Chart
from qb_pipeline.sandbox.reports.detail_columns import (
    LEDGER_COLUMNS,
    LIST_COLUMNS,
    Layout,
    detail_layout,
    row_cells,
    row_tax,
)
from qb_pipeline.sandbox.reports.detail_lines import Line, Lookup, header_index, transactions
from qb_pipeline.sandbox.reports.periods import ONE_DAY, fiscal_year_start
from qb_pipeline.sandbox.reports.profit_and_loss import PNL_GROUPS
from qb_pipeline.sandbox.reports.request import ReportRequest
from qb_pipeline.sandbox.reports.rows import (
    CellBudget,
    ReportBody,
    cap_rows,
    data_row,
    section,
    truncation_row,
)
from qb_pipeline.sandbox.reports.sums import ALL, Slices


def _finish(rows: list[dict], width: int, built: CellBudget) -> list[dict]:
    """Apply the cell cap to the finished tree. `built` is the budget the transaction rows
    spent while being built: if it ran out, rows were left out and the report ends in the
    truncation row even when what was kept fits exactly."""
    rows = cap_rows(rows, CellBudget(), width)
    marker = truncation_row(width)
    if built.exhausted and (not rows or rows[-1] != marker):
        rows.append(marker)
    return rows


OwnRows = Callable[[str], tuple[list[dict], int | None]]


def _account_tree(
    chart: Chart,
    layout: Layout,
    roots: list[str],
    types: tuple[str, ...],
    own: OwnRows,
    shown: set[str],
) -> tuple[list[dict], int | None]:
    """Account sections in QuickBooks' detail-report nesting, and their amount total."""

    def render(account_id: str) -> tuple[dict | None, int | None]:
        account = chart[account_id]
        # Own rows first: they come first in the document, so they spend the cell budget first.
        own_rows, own_total = own(account_id) if account_id in shown else ([], None)
        children = [render(c) for c in chart.children(account_id, types)]
        children = [(row, total) for row, total in children if row is not None]
        if not children:
            if account_id not in shown:
                return None, None
            summary = layout.summary(f"Total for {account.label}", own_total)
            return section(layout.header(account.label, account_id), own_rows, summary), own_total
        total = own_total
        for _, child_total in children:
            if child_total is not None:
                total = child_total if total is None else total + child_total
        rows = [row for row, _ in children]
        if own_rows:
            own_section = section(
                None, own_rows, layout.summary(f"Total for {account.label}", own_total)
            )
            label = f"Total for {account.label} with sub-accounts"
            header = layout.header(account.label, account_id)
            return section(header, [own_section, *rows], layout.summary(label, total)), total
        summary = layout.summary(f"Total for {account.label}", total)
        return section(layout.header(account.label), rows, summary), total

    out, grand = [], None
    for root in roots:
        row, total = render(root)
        if row is not None:
            out.append(row)
            if total is not None:
                grand = total if grand is None else grand + total
    return out, grand


def _lines_by_account(
    postings: Sequence[Posting], request: ReportRequest, wanted: Callable[[str], bool]
) -> dict[str, list[tuple[list[Posting], int, int | None]]]:
    keep = request.keep()
    accounts = request.account_ids
    out: dict[str, list[tuple[list[Posting], int, int | None]]] = {}
    for group in transactions(postings):
        head = header_index(group)
        for k, p in enumerate(group):
            kept = (keep is None or keep(p)) and (accounts is None or p.account_id in accounts)
            if kept and wanted(p.account_id):
                out.setdefault(p.account_id, []).append((group, k, head))
    return out


def _row_builder(
    chart: Chart, layout: Layout, lookup: Lookup, budget: CellBudget
) -> Callable[[str, list, int | None], tuple[list[dict], int | None]]:
    """Rows of one account's lines with a running balance from `opening` (None: none)."""
    makers = layout.makers

    def build(account_id: str, lines: list, opening: int | None) -> tuple[list[dict], int | None]:
        sign = chart[account_id].sign
        rows: list[dict] = []
        if opening is not None and budget.take(layout.width):
            rows.append(data_row(layout.opening(opening)))
        balance = opening or 0
        net_balance = balance if layout.tracks_net_balance else None
        total = None
        for group, k, head in lines:
            amount = sign * group[k].amount
            balance += amount
            total = amount if total is None else total + amount
            line = Line(group, k, head, amount, balance)
            if net_balance is not None:
                net_balance += amount - (row_tax(line, lookup) or 0)
                line.net_balance = net_balance
            if budget.exhausted or not budget.take(layout.width):
                continue  # keep totals right; QuickBooks truncates rows, not sums
            rows.append(data_row(row_cells(makers, line, lookup)))
        return rows, total

    return build


# --- reports ------------------------------------------------------------------------------
def build_general_ledger(company: Company, request: ReportRequest, chart: Chart) -> ReportBody:
    layout = detail_layout(company, request, LEDGER_COLUMNS)
    end = request.end
    before = request.start - ONE_DAY
    year_before = fiscal_year_start(request.start, company.fiscal_year_start_month) - ONE_DAY
    slices = Slices(
        company.ledger,
        request.basis,
        [year_before, before],
        from_beginning=True,
        keep=request.keep(),
    )
    opening: dict[str, int] = {}
    for account_id, cents in slices.window(None, before, ALL).items():
        if account_id in chart and not chart[account_id].is_pnl:
            opening[account_id] = chart[account_id].sign * cents
    for account_id, cents in slices.window(year_before, before, ALL).items():
        if account_id in chart and chart[account_id].is_pnl:
            opening[account_id] = chart[account_id].sign * cents
    if request.account_ids is not None:
        opening = {a: v for a, v in opening.items() if a in request.account_ids}
    lines = _lines_by_account(
        company.ledger.postings_between(request.basis, request.start, end),
        request,
        lambda a: a in chart,
    )
    shown = set(lines) | {a for a, cents in opening.items() if cents}
    budget = CellBudget()
    build = _row_builder(chart, layout, Lookup(company, chart), budget)

    def own(account_id: str) -> tuple[list[dict], int | None]:
        return build(account_id, lines.get(account_id, []), opening.get(account_id))

    rows = _same_type_trees(chart, layout, own, shown)
    return ReportBody(layout.columns, _finish(rows, layout.width, budget), bool(rows), capped=True)


def _same_type_trees(chart: Chart, layout: Layout, own: OwnRows, shown: set[str]) -> list[dict]:
    """Account sections for every type in statement order (sub-accounts under parents of
    the same type)."""
    rows: list[dict] = []
    seen_types: list[str] = []
    for account_id in chart.tree_order():
        account_type = chart[account_id].account_type
        if account_type not in seen_types:
            seen_types.append(account_type)
    for account_type in seen_types:
        types = (account_type,)
        part, _ = _account_tree(chart, layout, chart.roots(types), types, own, shown)
        rows += part
    return rows


def build_pnl_detail(company: Company, request: ReportRequest, chart: Chart) -> ReportBody:
    layout = detail_layout(company, request, LEDGER_COLUMNS)
    end = request.end
    lines = _lines_by_account(
        company.ledger.postings_between(request.basis, request.start, end),
        request,
        lambda a: a in chart and chart[a].is_pnl,
    )
    budget = CellBudget()
    build = _row_builder(chart, layout, Lookup(company, chart), budget)

    def own(account_id: str) -> tuple[list[dict], int | None]:
        return build(account_id, lines.get(account_id, []), None)

    shown = set(lines)
    groups: dict[str, tuple[dict, int]] = {}
    for group, label, types in PNL_GROUPS:
        rows, total = _account_tree(chart, layout, chart.roots(types), types, own, shown)
        if rows:
            summary = layout.summary(f"Total for {label}", total)
            groups[group] = (section(layout.header(label), rows, summary), total or 0)
    if not groups:
        return ReportBody(layout.columns, _finish([], layout.width, budget), False, capped=True)

    def total(name: str) -> int:
        return groups[name][1] if name in groups else 0

    def line(label: str, amount: int) -> dict:
        return {
            "Rows": {},
            "Summary": {"ColData": layout.summary(label, amount)},
            "type": "Section",
        }

    gross = total("Income") - total("COGS")
    operating = gross - total("Expenses")
    other = total("OtherIncome") - total("OtherExpenses")
    has_other = "OtherIncome" in groups or "OtherExpenses" in groups
    ordinary = [line("Gross Profit", gross)]
    ordinary += [groups[g][0] for g in ("Income", "COGS", "Expenses") if g in groups]
    ordinary_label = "Net Ordinary Income" if has_other else "Net Income"
    rows = [
        section(
            layout.header("Ordinary Income/Expenses"),
            ordinary,
            layout.summary(ordinary_label, operating),
        )
    ]
    if has_other:
        rows.append(
            section(
                layout.header("Other Income/Expense"),
                [groups[g][0] for g in ("OtherIncome", "OtherExpenses") if g in groups],
                layout.summary("Net Other Income", other),
            )
        )
        rows.append(section(None, None, layout.summary("Net Income", operating + other)))
    return ReportBody(layout.columns, _finish(rows, layout.width, budget), True, capped=True)


def build_transaction_list(company: Company, request: ReportRequest, chart: Chart) -> ReportBody:
    layout = detail_layout(company, request, LIST_COLUMNS)
    end = request.end
    keep = request.keep()
    accounts = request.account_ids
    lookup = Lookup(company, chart)
    budget = CellBudget()
    makers = layout.makers
    rows: list[dict] = []
    for group in transactions(company.ledger.postings_between(request.basis, request.start, end)):
        if keep is not None and not any(keep(p) for p in group):
            continue
        if accounts is not None and not any(p.account_id in accounts for p in group):
            continue
        head = header_index(group)
        k = head or 0
        posting = group[k]
        if head is None or posting.txn_type == "JournalEntry":  # the entry's total debits
            amount = sum(p.amount for p in group if p.amount > 0)
        else:
            account = chart.by_id.get(posting.account_id)
            amount = (account.sign if account else 1) * posting.amount
        if not budget.take(layout.width):
            break
        line = Line(group, k, head if head is not None else k, amount, None)
        rows.append(data_row(row_cells(makers, line, lookup)))
    return ReportBody(layout.columns, _finish(rows, layout.width, budget), bool(rows), capped=True)
