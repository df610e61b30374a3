"""Flatten a QuickBooks summary report (ProfitAndLoss, BalanceSheet, CashFlow, ...) into rows.

One row per (line, money column). Lines are keyed by account id and by the `group` of the
nearest enclosing section, never by display labels (QuickBooks localizes and renames them).
The shapes handled are those of reference section 4.3:

- a Data row with an id on its first cell is an account's line;
- a Section whose Header's first cell has an id is an account with sub-accounts: its Header
  amounts are the account's *own* postings (a row with `is_summary` False and
  `has_sub_accounts` True), its children are rows of their own, and its Summary ("Total X")
  is a summary row with `account_id` None and `summary_of_account_id` = the parent's id; so
  summing the non-summary rows never counts anything twice;
- Sections with a `group` (Income, COGS, Expenses, BS groups, ...) label everything inside
  them; a summary-only Section is a computed line (GrossProfit, NetIncome, ...);
- a Data row without an id (the balance sheet's "Net Income", group NetIncome) is a line with
  `account_id` None and `is_summary` False;
- `type` may be missing: a row with ColData is Data, one with Rows/Header/Summary a Section;
- empty reports (NoReportData, `"Rows": {}`) give no rows;
- the row "Unable to display more data. Please reduce the date range." raises
  ReportRangeTooWide: the caller asks again with a shorter range.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from qb_pipeline.quickbooks.errors import ReportRangeTooWide

TRUNCATION_TEXT = "unable to display more data"


@dataclass(frozen=True)
class _MoneyColumn:
    index: int  # position in every row's ColData
    key: str
    title: str
    start: date | None
    end: date | None


def flatten_report(report: dict) -> list[dict]:
    """Rows of `report` (one QBO report JSON): see the module docstring for the rules.

    Each row: report_name, basis, currency, column_key, column_title, period_start,
    period_end, account_id, account_name, group, section_path, is_summary,
    summary_of_account_id, has_sub_accounts, amount (Decimal, None for a blank cell).
    """
    header = report.get("Header") or {}
    if _option(header, "NoReportData") == "true":
        return []
    rows = _rows_of(report)
    if not rows:
        return []
    columns = _money_columns(report, header)
    context = {
        "report_name": header.get("ReportName"),
        "basis": header.get("ReportBasis"),
        "currency": header.get("Currency"),
    }
    out: list[dict] = []
    for line in _lines(rows, path=(), group=None):
        for column in columns:
            out.append(
                {
                    **context,
                    "column_key": column.key,
                    "column_title": column.title,
                    "period_start": column.start,
                    "period_end": column.end,
                    **line.describe(),
                    "amount": _amount(line.cells, column.index, line.name),
                }
            )
    return out


def truncation_marker(report: dict) -> str | None:
    """The text of the truncation row if QuickBooks cut the report short, else None."""
    return _find_truncation(_rows_of(report))


# --- lines ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Line:
    cells: list[dict]
    account_id: str | None
    name: str | None
    group: str | None
    section_path: tuple[str, ...]
    is_summary: bool
    summary_of_account_id: str | None = None
    has_sub_accounts: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "account_name": self.name,
            "group": self.group,
            "section_path": list(self.section_path),
            "is_summary": self.is_summary,
            "summary_of_account_id": self.summary_of_account_id,
            "has_sub_accounts": self.has_sub_accounts,
        }


def _lines(rows: list[dict], path: tuple[str, ...], group: str | None) -> Iterator[_Line]:
    for row in rows:
        if not isinstance(row, dict):
            continue
        kind = row.get("type") or ("Data" if "ColData" in row else "Section")
        if kind == "Data" or "ColData" in row:
            cells = row.get("ColData") or []
            first = cells[0] if cells else {}
            name = first.get("value")
            if _is_truncation(name):
                raise ReportRangeTooWide(f"QuickBooks truncated the report: {name}")
            yield _Line(
                cells=cells,
                account_id=first.get("id") or None,
                name=name,
                group=row.get("group") or group,
                section_path=path,
                is_summary=False,
            )
            continue
        yield from _section(row, path, group)


def _section(row: dict, path: tuple[str, ...], group: str | None) -> Iterator[_Line]:
    own_group = row.get("group") or group
    header_cells = (row.get("Header") or {}).get("ColData") or []
    first = header_cells[0] if header_cells else {}
    account_id = first.get("id") or None
    key = account_id or row.get("group") or first.get("value") or ""
    inner = (*path, key)
    if account_id is not None:
        # An account with sub-accounts: its Header amounts are its own postings.
        yield _Line(
            cells=header_cells,
            account_id=account_id,
            name=first.get("value"),
            group=own_group,
            section_path=path,
            is_summary=False,
            has_sub_accounts=True,
        )
    yield from _lines(((row.get("Rows") or {}).get("Row") or []), inner, own_group)
    summary_cells = (row.get("Summary") or {}).get("ColData")
    if summary_cells:
        name = summary_cells[0].get("value")
        if _is_truncation(name):
            raise ReportRangeTooWide(f"QuickBooks truncated the report: {name}")
        yield _Line(
            cells=summary_cells,
            account_id=None,
            name=name,
            group=own_group,
            section_path=inner,
            is_summary=True,
            summary_of_account_id=account_id,
        )


# --- columns and cells ----------------------------------------------------------------------
def _money_columns(report: dict, header: dict) -> list[_MoneyColumn]:
    """The money columns (leaves of the column tree, in ColData order)."""
    report_start = _date(header.get("StartPeriod"))
    report_end = _date(header.get("EndPeriod"))
    top = ((report.get("Columns") or {}).get("Column")) or []
    columns: list[_MoneyColumn] = []
    for index, column in enumerate(_leaves(top)):
        if column.get("ColType") != "Money":
            continue
        meta = {m.get("Name"): m.get("Value") for m in column.get("MetaData") or []}
        start, end = _date(meta.get("StartDate")), _date(meta.get("EndDate"))
        if start is None or end is None:  # Total (and member) columns span the report
            start, end = report_start, report_end
        title = column.get("ColTitle") or ""
        columns.append(_MoneyColumn(index, meta.get("ColKey") or title, title, start, end))
    return columns


def _leaves(columns: list[dict]) -> Iterator[dict]:
    for column in columns:
        children = ((column.get("Columns") or {}).get("Column")) or []
        if children:
            yield from _leaves(children)
        else:
            yield column


def _amount(cells: list[dict], index: int, label: str | None) -> Decimal | None:
    if index >= len(cells):
        return None
    raw = cells[index].get("value")
    if raw is None:
        return None
    text = str(raw).strip().replace(",", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"report line {label!r}: money cell {raw!r} is not a number") from None


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _option(header: dict, name: str) -> str | None:
    for option in header.get("Option") or []:
        if option.get("Name") == name:
            return str(option.get("Value", "")).lower()
    return None


def _rows_of(report: dict) -> list[dict]:
    return ((report.get("Rows") or {}).get("Row")) or []


def _is_truncation(text: Any) -> bool:
    return isinstance(text, str) and TRUNCATION_TEXT in text.lower()


def _find_truncation(rows: list[dict]) -> str | None:
    for row in rows:
        if not isinstance(row, dict):
            continue
        for part in (row, row.get("Header") or {}, row.get("Summary") or {}):
            cells = part.get("ColData") or []
            if cells and _is_truncation(cells[0].get("value")):
                return cells[0]["value"]
        found = _find_truncation(((row.get("Rows") or {}).get("Row")) or [])
        if found is not None:
            return found
    return None


__all__ = ["TRUNCATION_TEXT", "flatten_report", "truncation_marker"]
