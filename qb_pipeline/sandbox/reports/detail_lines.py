"""How ledger postings become detail-report lines: transactions, names, records, splits.

The columns and their cells are in detail_columns.py; this module groups postings into
transactions, finds each transaction's header account, its party and split, and looks up
the names and records the cells show (cached for one report).

The split of a line is the transaction's other account: the one other posting of a
two-sided entry, else the header account (A/R, A/P, the bank) for a line, "-Split-" for the
header account of a multi-line entry and for every line of a journal entry with 3+ lines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from qb_pipeline.sandbox.accounting.companies import Company, EntityNotFound
from qb_pipeline.sandbox.accounting.ledger import Posting
from qb_pipeline.sandbox.reports.accounts import Chart
from qb_pipeline.sandbox.reports.rows import cell

SPLIT = "-Split-"

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
        self._records: dict[tuple[str, str], dict] = {}
        self._lines: dict[tuple[str, str], dict[str, dict]] = {}

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

    def record(self, entity: str, record_id: str) -> dict:
        """The stored transaction (an empty dict if it is gone)."""
        key = ("record:" + entity, record_id)
        found = self._records.get(key)
        if found is None:
            try:
                found = self.company.get(entity, record_id)
            except EntityNotFound:
                found = {}
            self._records[key] = found
        return found

    def line_detail(self, p: Posting) -> dict:
        """The detail object (SalesItemLineDetail, ...) of the record line behind `p`."""
        if p.line_id is None:
            return {}
        key = (p.txn_type, p.txn_id)
        lines = self._lines.get(key)
        if lines is None:
            lines = {}
            for line in self.record(p.txn_type, p.txn_id).get("Line", []):
                detail = next((v for k, v in line.items() if k.endswith("Detail")), None)
                if line.get("Id") is not None and isinstance(detail, dict):
                    lines[str(line["Id"])] = detail
            self._lines[key] = lines
        return lines.get(p.line_id, {})

    def list_name(self, entity: str, ref: dict | None) -> str:
        """The Name of a referenced list record (Term, PaymentMethod, ...); "" if none."""
        if not ref or not ref.get("value"):
            return ""
        return self._record_field(entity, ref["value"], "Name")

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
    net_balance: int | None = None  # the running balance net of sales tax, when asked for


def split(line: Line, lookup: Lookup) -> dict:
    """The Split cell: the transaction's other account, or -Split- (see the module doc)."""
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


def party(group: list[Posting]) -> tuple[str | None, str | None]:
    """The transaction's customer, vendor or employee: the first posting that names one."""
    for p in group:
        if p.name_id:
            return p.name_type, p.name_id
    return None, None
