"""Report cells and rows in QuickBooks' JSON shape, and the 400,000-cell cap.

Amounts travel as integer cents, `None` meaning "no activity": it renders as "" (not
"0.00"), as QuickBooks does for account cells and group totals; computed lines (Gross
Profit, Net Income, ...) always print a number when the report has data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from qb_pipeline.sandbox.reports.accounts import Chart

Amounts = list[int | None]

MAX_CELLS = 400_000
TRUNCATION_MESSAGE = "Unable to display more data. Please reduce the date range."


def money(cents: int | None) -> str:
    """ "1234.56", "-65.00", or "" for no value; never thousands separators."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def cell(value: str, id_: str | None = None) -> dict:
    return {"value": value} if id_ is None else {"value": value, "id": id_}


def money_cells(label: str, amounts: Sequence[int | None], id_: str | None = None) -> list[dict]:
    return [cell(label, id_), *({"value": money(a)} for a in amounts)]


def blank_cells(label: str, width: int, id_: str | None = None) -> list[dict]:
    """A label followed by empty cells, `width` cells in all."""
    return [cell(label, id_), *({"value": ""} for _ in range(width - 1))]


def data_row(cells: list[dict], group: str | None = None) -> dict:
    row: dict = {"ColData": cells, "type": "Data"}
    if group:
        row["group"] = group
    return row


def section(
    header: list[dict] | None,
    rows: list[dict] | None,
    summary: list[dict] | None,
    group: str | None = None,
) -> dict:
    """A Section row; absent parts are left out, as QuickBooks does (summary-only lines)."""
    row: dict = {}
    if header is not None:
        row["Header"] = {"ColData": header}
    if rows:
        row["Rows"] = {"Row": rows}
    if summary is not None:
        row["Summary"] = {"ColData": summary}
    row["type"] = "Section"
    if group:
        row["group"] = group
    return row


def add(a: Sequence[int | None], b: Sequence[int | None]) -> Amounts:
    """Column-wise sum where None is "no activity" (None + None stays None)."""
    return [y if x is None else x if y is None else x + y for x, y in zip(a, b, strict=True)]


def minus(a: Sequence[int | None], b: Sequence[int | None]) -> Amounts:
    return add(a, [None if v is None else -v for v in b])


def as_number(amounts: Sequence[int | None]) -> Amounts:
    """Computed lines print 0.00 rather than "" where nothing happened."""
    return [a or 0 for a in amounts]


def has_activity(amounts: Sequence[int | None]) -> bool:
    return any(a is not None for a in amounts)


def account_rows(
    chart: Chart,
    roots: Iterable[str],
    types: Iterable[str],
    amounts: Mapping[str, Amounts],
    width: int,
) -> tuple[list[dict], Amounts]:
    """Rows for accounts and their sub-accounts, and the column totals.

    An account with active sub-accounts becomes a Section whose Header carries its own
    amounts (and its id) and whose Summary "Total <name>" includes every descendant; others
    are Data rows. Accounts without activity in any column are left out.
    """
    types = tuple(types)
    empty: Amounts = [None] * width

    def render(account_id: str) -> tuple[dict | None, Amounts]:
        own = amounts.get(account_id, empty)
        account = chart[account_id]
        children = [render(c) for c in chart.children(account_id, types)]
        children = [(row, total) for row, total in children if row is not None]
        if not children:
            if not has_activity(own):
                return None, empty
            return data_row(money_cells(account.label, own, account.id)), list(own)
        total = list(own)
        for _, child_total in children:
            total = add(total, child_total)
        row = section(
            money_cells(account.label, own, account.id),
            [child for child, _ in children],
            money_cells(f"Total {account.label}", total),
        )
        return row, total

    rows: list[dict] = []
    total = empty
    for root in roots:
        row, subtotal = render(root)
        if row is not None:
            rows.append(row)
            total = add(total, subtotal)
    return rows, total


class CellBudget:
    """Counts ColData cells against QuickBooks' per-report cap."""

    def __init__(self, limit: int | None = None) -> None:
        self.left = MAX_CELLS if limit is None else limit
        self.exhausted = False

    def take(self, cells: int) -> bool:
        if self.exhausted or cells > self.left:
            self.exhausted = True
            return False
        self.left -= cells
        return True


def truncation_row(width: int) -> dict:
    """The row QuickBooks appends when it stops at the cap."""
    return data_row(blank_cells(TRUNCATION_MESSAGE, width))


def cap_rows(rows: list[dict], budget: CellBudget, width: int) -> list[dict]:
    """`rows` cut where the budget runs out: rows are kept in document order, a section cut
    short loses its Summary (as real truncated reports do), and the marker row is appended."""

    def cells(part: dict) -> int:
        return len(part["ColData"])

    def walk(items: list[dict]) -> list[dict]:
        kept: list[dict] = []
        for row in items:
            if budget.exhausted:
                break
            if "ColData" in row:
                if budget.take(cells(row)):
                    kept.append(row)
                continue
            copy = {k: v for k, v in row.items() if k not in ("Header", "Rows", "Summary")}
            parts: dict = {}
            if "Header" in row:
                if not budget.take(cells(row["Header"])):
                    break
                parts["Header"] = row["Header"]
            if "Rows" in row:
                inner = walk(row["Rows"].get("Row", []))
                if inner:
                    parts["Rows"] = {"Row": inner}
                elif not row["Rows"]:
                    parts["Rows"] = {}  # an empty container, kept as QuickBooks sends it
            if "Summary" in row and budget.take(cells(row["Summary"])):
                parts["Summary"] = row["Summary"]
            if not parts:
                break
            kept.append({**parts, **copy})
        return kept

    kept = walk(rows)
    if budget.exhausted:
        kept.append(truncation_row(width))
    return kept


@dataclass
class ReportBody:
    """What a report builder hands back: Columns, Rows and whether there was any data.
    `capped` is set by builders that already applied the cell cap while building."""

    columns: list[dict]
    rows: list[dict]
    has_data: bool
    capped: bool = False
