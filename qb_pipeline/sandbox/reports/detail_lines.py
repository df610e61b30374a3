"""How ledger postings become detail-report rows: columns, cells, names, splits.

Columns are chosen with `columns=` (keys as in reference 4.2; unknown keys are ignored, and
none valid means the defaults) and carry `ColType` plus `MetaData` ColKey, the modern form.
Transaction cells carry ids: `txn_type` the transaction's, `name` the customer/vendor/
employee's ("" when none), `split_acc`/`other_account`/`account_name` the account's.

The split of a line is the transaction's other account: the one other posting of a
two-sided entry, else the header account (A/R, A/P, the bank) for a line, "-Split-" for the
header account of a multi-line entry and for every line of a journal entry with 3+ lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from qb_pipeline.sandbox.accounting.companies import Company, EntityNotFound
from qb_pipeline.sandbox.accounting.ledger import Posting
from qb_pipeline.sandbox.reports.accounts import Chart
from qb_pipeline.sandbox.reports.request import ReportRequest
from qb_pipeline.sandbox.reports.rows import blank_cells, cell, money

SPLIT = "-Split-"

# key: (title, ColType)
COLUMN_CATALOG: dict[str, tuple[str, str]] = {
    "tx_date": ("Date", "Date"),
    "txn_type": ("Transaction Type", "String"),
    "doc_num": ("Num", "String"),
    "is_no_post": ("Posting", "Boolean"),
    "name": ("Name", "String"),
    "cust_name": ("Customer", "String"),
    "vend_name": ("Vendor", "String"),
    "emp_name": ("Employee", "String"),
    "klass_name": ("Class", "String"),
    "dept_name": ("Location", "String"),
    "memo": ("Memo/Description", "String"),
    "account_name": ("Account", "String"),
    "account_num": ("Account #", "String"),
    "split_acc": ("Split", "String"),
    "other_account": ("Split", "String"),
    "debt_amt": ("Debit", "Money"),
    "credit_amt": ("Credit", "Money"),
    "debt_home_amt": ("Debit (home currency)", "Money"),
    "credit_home_amt": ("Credit (home currency)", "Money"),
    "subt_nat_amount": ("Amount", "Money"),
    "subt_nat_home_amount": ("Amount (home currency)", "Money"),
    "rbal_nat_amount": ("Balance", "Money"),
}
LEDGER_COLUMNS = (
    "tx_date", "txn_type", "doc_num", "name", "memo", "split_acc", "subt_nat_amount",
    "rbal_nat_amount",
)  # fmt: skip
LIST_COLUMNS = (
    "tx_date", "txn_type", "doc_num", "is_no_post", "name", "dept_name", "memo", "account_name",
    "other_account", "subt_nat_amount",
)  # fmt: skip
AMOUNT_KEYS = ("subt_nat_amount", "subt_nat_home_amount")

TXN_LABELS: dict[str, str] = {
    "Invoice": "Invoice",
    "CreditMemo": "Credit Memo",
    "SalesReceipt": "Sales Receipt",
    "RefundReceipt": "Refund",
    "Bill": "Bill",
    "VendorCredit": "Vendor Credit",
    "Payment": "Payment",
    "JournalEntry": "Journal Entry",
    "Deposit": "Deposit",
    "Transfer": "Transfer",
}
PURCHASE_LABELS = {"Cash": "Expense", "Check": "Check", "CreditCard": "Credit Card Expense"}
# Transactions whose last posting is the header account (A/R, A/P, bank, card).
HEADER_LAST = frozenset({
    "Invoice", "CreditMemo", "SalesReceipt", "RefundReceipt", "Bill", "VendorCredit",
    "Purchase", "Deposit", "BillPayment",
})  # fmt: skip


# --- transactions ------------------------------------------------------------------------
def transactions(postings: Sequence[Posting]) -> Iterator[list[Posting]]:
    """The postings of each transaction (the ledger keeps them adjacent, in date order)."""
    for _, group in groupby(postings, key=lambda p: (p.txn_date, p.txn_type, p.txn_id)):
        yield list(group)


def header_index(group: list[Posting]) -> int | None:
    """Which posting is the transaction's header account (None for journal entries)."""
    if group[0].txn_type in HEADER_LAST:
        return len(group) - 1
    if group[0].txn_type in ("Payment", "Transfer") or len(group) <= 2:
        return 0
    return None


class Lookup:
    """Display names for ids, resolved lazily and cached for one report."""

    def __init__(self, company: Company, chart: Chart) -> None:
        self.company = company
        self.chart = chart
        self._cache: dict[tuple[str, str], str] = {}

    def _record_field(self, entity: str, record_id: str, field: str) -> str:
        key = (entity, record_id)
        if key not in self._cache:
            try:
                record = self.company.get(entity, record_id)
                self._cache[key] = record.get(field) or record.get("Name") or ""
            except EntityNotFound:
                self._cache[key] = ""
        return self._cache[key]

    def party(self, name_type: str | None, name_id: str | None) -> str:
        if not name_type or not name_id:
            return ""
        return self._record_field(name_type.capitalize(), name_id, "DisplayName")

    def dimension(self, entity: str, record_id: str | None) -> str:
        return self._record_field(entity, record_id, "FullyQualifiedName") if record_id else ""

    def txn_label(self, txn_type: str, txn_id: str) -> str:
        key = ("label:" + txn_type, txn_id)
        if key in self._cache:
            return self._cache[key]
        label = TXN_LABELS.get(txn_type, txn_type)
        try:
            if txn_type == "Purchase":
                record = self.company.get("Purchase", txn_id)
                label = PURCHASE_LABELS.get(record.get("PaymentType", "Cash"), "Expense")
                if record.get("Credit") and record.get("PaymentType") == "CreditCard":
                    label = "Credit Card Credit"
            elif txn_type == "BillPayment":
                record = self.company.get("BillPayment", txn_id)
                kind = "Credit Card" if record.get("PayType") == "CreditCard" else "Check"
                label = f"Bill Payment ({kind})"
        except EntityNotFound:
            pass
        self._cache[key] = label
        return label

    def account_cell(self, account_id: str) -> dict:
        account = self.chart.by_id.get(account_id)
        return cell(account.full_label if account else "", account_id)


@dataclass(slots=True)
class Line:
    """One posting as a report row: the amount and running balance in natural sign."""

    group: list[Posting]
    index: int
    header: int | None
    amount: int
    balance: int | None


def _split(line: Line, lookup: Lookup) -> dict:
    group, k, head = line.group, line.index, line.header
    if len(group) == 1:
        return cell("", "")
    if len(group) == 2:
        return lookup.account_cell(group[1 - k].account_id)
    if head is None:
        return cell(SPLIT, "")
    if k != head:
        return lookup.account_cell(group[head].account_id)
    others = {p.account_id for i, p in enumerate(group) if i != k}
    if len(others) == 1:
        return lookup.account_cell(others.pop())
    return cell(SPLIT, "")


def _party(group: list[Posting]) -> tuple[str | None, str | None]:
    for p in group:
        if p.name_id:
            return p.name_type, p.name_id
    return None, None


def _name_cell(wanted: str | None) -> CellMaker:
    def make(line: Line, p: Posting, lookup: Lookup) -> dict:
        name_type, name_id = _party(line.group)
        if wanted and (name_type or "").lower() != wanted:
            return cell("", "")
        return cell(lookup.party(name_type, name_id), name_id or "")

    return make


def _account_number(line: Line, p: Posting, lookup: Lookup) -> dict:
    account = lookup.chart.by_id.get(p.account_id)
    return cell(account.number if account else "")


CellMaker = Callable[[Line, Posting, Lookup], dict]
# One maker per column key, so a row is a list comprehension over the chosen keys.
CELL_MAKERS: dict[str, CellMaker] = {
    "tx_date": lambda line, p, lookup: cell(p.txn_date.isoformat()),
    "txn_type": lambda line, p, lookup: cell(lookup.txn_label(p.txn_type, p.txn_id), p.txn_id),
    "doc_num": lambda line, p, lookup: cell(p.doc_number or ""),
    "is_no_post": lambda line, p, lookup: cell("Yes"),
    "name": _name_cell(None),
    "cust_name": _name_cell("customer"),
    "vend_name": _name_cell("vendor"),
    "emp_name": _name_cell("employee"),
    "klass_name": lambda line, p, lookup: cell(lookup.dimension("Class", p.class_id), p.class_id),
    "dept_name": lambda line, p, lookup: cell(
        lookup.dimension("Department", p.department_id), p.department_id
    ),
    "memo": lambda line, p, lookup: cell(p.memo or ""),
    "account_name": lambda line, p, lookup: lookup.account_cell(p.account_id),
    "account_num": _account_number,
    "split_acc": lambda line, p, lookup: _split(line, lookup),
    "other_account": lambda line, p, lookup: _split(line, lookup),
    "debt_amt": lambda line, p, lookup: cell(money(p.amount) if p.amount > 0 else ""),
    "credit_amt": lambda line, p, lookup: cell(money(-p.amount) if p.amount < 0 else ""),
    "subt_nat_amount": lambda line, p, lookup: cell(money(line.amount)),
    "rbal_nat_amount": lambda line, p, lookup: cell(money(line.balance)),
}
CELL_MAKERS["debt_home_amt"] = CELL_MAKERS["debt_amt"]
CELL_MAKERS["credit_home_amt"] = CELL_MAKERS["credit_amt"]
CELL_MAKERS["subt_nat_home_amount"] = CELL_MAKERS["subt_nat_amount"]


def row_cells(makers: Sequence[CellMaker], line: Line, lookup: Lookup) -> list[dict]:
    p = line.group[line.index]
    return [make(line, p, lookup) for make in makers]


# --- shared layout ------------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    keys: tuple[str, ...]
    columns: list[dict]

    @property
    def width(self) -> int:
        return len(self.keys)

    @property
    def makers(self) -> list[CellMaker]:
        return [CELL_MAKERS[key] for key in self.keys]

    def summary(self, label: str, amount: int | None) -> list[dict]:
        """A total line: the label, then the amount under Amount, blanks elsewhere."""
        cells = blank_cells(label, self.width)
        for i, key in enumerate(self.keys):
            if i and key in AMOUNT_KEYS:
                cells[i] = cell(money(amount))
        return cells

    def header(self, label: str, id_: str | None = None) -> list[dict]:
        return blank_cells(label, self.width, id_)


def detail_layout(company: Company, request: ReportRequest, defaults: tuple[str, ...]) -> Layout:
    keys = tuple(k for k in request.columns or () if k in COLUMN_CATALOG) or defaults
    if keys is LIST_COLUMNS and not _tracks_departments(company):
        keys = tuple(k for k in keys if k != "dept_name")
    terminology = accounting_prefs(company).get("DepartmentTerminology") or "Location"
    columns = []
    for key in keys:
        title, col_type = COLUMN_CATALOG[key]
        if key == "dept_name":
            title = terminology
        columns.append(
            {"ColTitle": title, "ColType": col_type, "MetaData": [{"Name": "ColKey", "Value": key}]}
        )
    return Layout(keys, columns)


def accounting_prefs(company: Company) -> dict:
    prefs = company.records("Preferences")
    return (prefs[0].get("AccountingInfoPrefs") or {}) if prefs else {}


def _tracks_departments(company: Company) -> bool:
    return bool(accounting_prefs(company).get("TrackDepartments"))
