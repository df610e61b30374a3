"""Transaction lines of a QuickBooks detail report (ProfitAndLossDetail).

A detail report nests its lines in sections (report groups, then accounts and their
sub-accounts, reference section 4.3); each Data row is one transaction's posting to one
account. The rows are read by their columns' ColKey (`tx_date`, `txn_type`, ...), never by
position or title, so a request's `columns=` decides the order freely. What each line keeps:

- `account_id` from the `account_name` cell's id (the posting's own account: a parent's own
  postings and its sub-accounts' postings are told apart without following the nesting);
- `txn_type` as QuickBooks prints it ("Credit Memo"), and the transaction's id from that
  cell's id, which is how a line leads back to its record;
- the name (customer, vendor, employee), class and department as label and id;
- `amount` in the account's natural sign, as the summary ProfitAndLoss adds it up.

Rows with neither a transaction nor an amount (a GeneralLedger's "Beginning Balance", whose
amount sits under the balance columns) are not transaction lines and are left out. The
client has already checked the answer's shape (answers.py) and raised ReportRangeTooWide for
a truncated one; what is checked here is what this reader needs: the columns it reads, a
date in every line, an id on every line's account and transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from qb_pipeline.quickbooks.errors import UnexpectedAnswer

# The columns a detail-lines request asks for, in this order (`columns=`).
DETAIL_COLUMNS: tuple[str, ...] = (
    "tx_date", "txn_type", "doc_num", "name", "klass_name", "dept_name", "memo",
    "account_name", "subt_nat_amount",
)  # fmt: skip
REQUIRED_COLUMNS: frozenset[str] = frozenset(
    {"tx_date", "txn_type", "account_name", "subt_nat_amount"}
)


@dataclass(frozen=True)
class DetailLine:
    """One posting of one transaction to one account."""

    txn_date: date
    txn_type: str
    txn_id: str
    doc_number: str | None
    name: str | None
    name_id: str | None
    class_name: str | None
    class_id: str | None
    department_name: str | None
    department_id: str | None
    memo: str | None
    account_id: str
    account_name: str
    amount: Decimal


def detail_lines(report: dict) -> list[DetailLine]:
    """Every transaction line of `report` (one detail report's JSON), in report order."""
    name = (report.get("Header") or {}).get("ReportName") or "detail report"
    endpoint = f"reports/{name}"
    index = _column_index(report, endpoint)
    lines = (_line(cells, index, endpoint) for cells in _data_rows(_rows(report)))
    return [line for line in lines if line is not None]


def _column_index(report: dict, endpoint: str) -> dict[str, int]:
    columns = ((report.get("Columns") or {}).get("Column")) or []
    index: dict[str, int] = {}
    for position, column in enumerate(columns):
        for meta in column.get("MetaData") or []:
            if meta.get("Name") == "ColKey":
                index[str(meta.get("Value"))] = position
    rows = _rows(report)
    missing = sorted(REQUIRED_COLUMNS - set(index))
    if rows and missing:
        raise UnexpectedAnswer(endpoint, f"Columns has no ColKey {', '.join(missing)}")
    return index


def _rows(report: dict) -> list[dict]:
    return ((report.get("Rows") or {}).get("Row")) or []


def _data_rows(rows: list[dict]) -> Iterator[list[dict]]:
    for row in rows:
        if "ColData" in row:
            yield row["ColData"]
        else:  # a Section: its Header and Summary are labels and totals, not lines
            yield from _data_rows(((row.get("Rows") or {}).get("Row")) or [])


def _line(cells: list[dict], index: dict[str, int], endpoint: str) -> DetailLine | None:
    def value(key: str) -> str | None:
        position = index.get(key)
        if position is None or position >= len(cells):
            return None
        text = str(cells[position].get("value") or "").strip()
        return text or None

    def ref(key: str) -> str | None:
        position = index.get(key)
        if position is None or position >= len(cells):
            return None
        return str(cells[position].get("id") or "").strip() or None

    raw_date = value("tx_date")
    if ref("txn_type") is None and value("subt_nat_amount") is None:
        return None  # a "Beginning Balance" or label row: no transaction, no amount
    try:
        txn_date = date.fromisoformat(raw_date or "")
    except ValueError:
        raise UnexpectedAnswer(
            endpoint, f"a transaction line's tx_date is {raw_date!r}, not a date (YYYY-MM-DD)"
        ) from None
    txn_type, txn_id = value("txn_type"), ref("txn_type")
    account_name, account_id = value("account_name"), ref("account_name")
    if txn_type is None or txn_id is None:
        raise UnexpectedAnswer(endpoint, f"a line of {txn_date} has no transaction type or id")
    if account_id is None:
        raise UnexpectedAnswer(endpoint, f"{txn_type} {txn_id}: a line has no account id")
    amount_text = (value("subt_nat_amount") or "0").replace(",", "")
    try:
        amount = Decimal(amount_text)
    except InvalidOperation:
        raise UnexpectedAnswer(
            endpoint, f"{txn_type} {txn_id}: subt_nat_amount {amount_text!r} is not a number"
        ) from None
    return DetailLine(
        txn_date=txn_date,
        txn_type=txn_type,
        txn_id=txn_id,
        doc_number=value("doc_num"),
        name=value("name"),
        name_id=ref("name"),
        class_name=value("klass_name"),
        class_id=ref("klass_name"),
        department_name=value("dept_name"),
        department_id=ref("dept_name"),
        memo=value("memo"),
        account_id=account_id,
        account_name=account_name or account_id,
        amount=amount,
    )


__all__ = ["DETAIL_COLUMNS", "DetailLine", "detail_lines"]
