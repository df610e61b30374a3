"""Double-entry postings derived from a company's transactions.

Reports are computed from these postings only, never stored, so every figure agrees with
the transactions the API serves. Amounts are integer cents in the home currency, debit
positive; every transaction's postings sum to zero on both bases.

Cash basis: an Invoice (or Bill) is recognised when it is paid, in proportion to each
linked Payment (or BillPayment), on the payment's date; an unpaid invoice posts nothing.
Every other transaction posts the same on both bases.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from qb_pipeline.sandbox.accounting.companies import Company

BASES: tuple[str, str] = ("Accrual", "Cash")


class Posting(NamedTuple):
    """One side of a journal line: an amount on one account on one date.

    A NamedTuple rather than a dataclass: large companies hold millions of these and
    tuple construction is several times cheaper.
    """

    txn_date: date
    account_id: str
    amount: int  # cents, home currency, debit positive
    txn_type: str  # entity name, e.g. "Invoice"
    txn_id: str
    line_id: str | None = None
    class_id: str | None = None
    department_id: str | None = None
    name_type: str | None = None  # "Customer", "Vendor" or "Employee"
    name_id: str | None = None
    memo: str | None = None
    doc_number: str | None = None


def to_cents(value: float | int | str | Decimal, rate: float | str | Decimal | None = None) -> int:
    """Convert an API amount (and optional exchange rate) to home-currency cents."""
    amount = Decimal(str(value))
    if rate is not None:
        amount *= Decimal(str(rate))
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _ref(obj: dict | None) -> str | None:
    return obj.get("value") if obj else None


class Ledger:
    """All postings of one company on both bases, sorted by date for range look-ups."""

    def __init__(self, by_basis: dict[str, list[Posting]]) -> None:
        self._postings = {
            basis: sorted(rows, key=lambda p: (p.txn_date, p.txn_type, int(p.txn_id)))
            for basis, rows in by_basis.items()
        }
        self._dates = {
            basis: [p.txn_date.toordinal() for p in rows] for basis, rows in self._postings.items()
        }

    def postings(self, basis: str) -> Sequence[Posting]:
        """Every posting on `basis` ("Accrual" or "Cash"), ordered by date."""
        return self._postings[basis]

    def postings_between(self, basis: str, start: date | None, end: date) -> Sequence[Posting]:
        """Postings dated within [start, end] (start None: from the beginning)."""
        dates = self._dates[basis]
        lo = 0 if start is None else bisect.bisect_left(dates, start.toordinal())
        hi = bisect.bisect_right(dates, end.toordinal())
        return self._postings[basis][lo:hi]

    def balances(self, basis: str, end: date) -> dict[str, int]:
        """Each account's own balance (cents, debit positive) as of `end`."""
        totals: dict[str, int] = {}
        for p in self.postings_between(basis, None, end):
            totals[p.account_id] = totals.get(p.account_id, 0) + p.amount
        return totals


class _Builder:
    """Turns the transactions of one company into postings."""

    def __init__(self, company: Company) -> None:
        self.company = company
        accounts = company.stored("Account")
        self.account_type = {a["Id"]: a["AccountType"] for a in accounts}
        self.ar_by_currency: dict[str, str] = {}
        self.ap_by_currency: dict[str, str] = {}
        home = company.home_currency
        for a in accounts:
            currency = _ref(a.get("CurrencyRef")) or home
            if a["AccountType"] == "Accounts Receivable":
                self.ar_by_currency.setdefault(currency, a["Id"])
            elif a["AccountType"] == "Accounts Payable":
                self.ap_by_currency.setdefault(currency, a["Id"])
        self.items = {i["Id"]: i for i in company.stored("Item")}
        self.accrual: list[Posting] = []
        self.cash: list[Posting] = []

    # -- helpers -------------------------------------------------------------------
    def _ar(self, txn: dict) -> str:
        currency = _ref(txn.get("CurrencyRef")) or self.company.home_currency
        return self.ar_by_currency.get(currency) or self.ar_by_currency[self.company.home_currency]

    def _ap(self, txn: dict) -> str:
        if txn.get("APAccountRef"):
            return txn["APAccountRef"]["value"]
        currency = _ref(txn.get("CurrencyRef")) or self.company.home_currency
        return self.ap_by_currency.get(currency) or self.ap_by_currency[self.company.home_currency]

    def _item_account(self, detail: dict, kind: str) -> str:
        if detail.get("ItemAccountRef") and kind == "income":
            return detail["ItemAccountRef"]["value"]
        item = self.items.get(_ref(detail.get("ItemRef")) or "")
        if item is None:
            raise KeyError(f"item {_ref(detail.get('ItemRef'))!r} not found")
        key = "IncomeAccountRef" if kind == "income" else "ExpenseAccountRef"
        return item[key]["value"]

    @staticmethod
    def _entity(txn: dict, key: str, name_type: str) -> tuple[str | None, str | None]:
        ref = txn.get(key)
        if not ref:
            return None, None
        return ref.get("type", name_type), ref.get("value")

    def _common(self, entity: str, txn: dict) -> dict:
        return {
            "txn_date": date.fromisoformat(txn["TxnDate"]),
            "txn_type": entity,
            "txn_id": txn["Id"],
            "department_id": _ref(txn.get("DepartmentRef")),
            "memo": txn.get("PrivateNote"),
            "doc_number": txn.get("DocNumber"),
        }

    def _lines(
        self, entity: str, txn: dict, detail_key: str, account_of: Callable[[dict], str], sign: int
    ) -> list[Posting]:
        """Postings for the detail lines of a transaction, `sign` +1 debit, -1 credit."""
        rate = txn.get("ExchangeRate")
        common = self._common(entity, txn)
        out = []
        for line in txn.get("Line", []):
            detail = line.get(detail_key)
            if detail is None:
                continue
            out.append(
                Posting(
                    **common,
                    account_id=account_of(detail),
                    amount=sign * to_cents(line["Amount"], rate),
                    line_id=line.get("Id"),
                    class_id=_ref(detail.get("ClassRef")),
                )
            )
        return out

    def _balance(
        self, entity: str, txn: dict, lines: list[Posting], account_id: str, name: tuple
    ) -> list[Posting]:
        """Lines plus the one posting on `account_id` that balances them."""
        total = sum(p.amount for p in lines)
        return [
            *lines,
            Posting(
                **self._common(entity, txn),
                account_id=account_id,
                amount=-total,
                name_type=name[0],
                name_id=name[1],
            ),
        ]

    # -- per transaction type ------------------------------------------------------
    def _sales_lines(self, entity: str, txn: dict, sign: int) -> list[Posting]:
        lines = self._lines(
            entity,
            txn,
            "SalesItemLineDetail",
            lambda d: self._item_account(d, "income"),
            sign,
        )
        tax = (txn.get("TxnTaxDetail") or {}).get("TotalTax")
        if tax:
            tax_account = self.company.sales_tax_account_id
            lines.append(
                Posting(
                    **self._common(entity, txn),
                    account_id=tax_account,
                    amount=sign * to_cents(tax, txn.get("ExchangeRate")),
                )
            )
        return lines

    def _expense_lines(self, entity: str, txn: dict, sign: int) -> list[Posting]:
        lines = self._lines(
            entity, txn, "AccountBasedExpenseLineDetail", lambda d: d["AccountRef"]["value"], sign
        )
        lines += self._lines(
            entity,
            txn,
            "ItemBasedExpenseLineDetail",
            lambda d: self._item_account(d, "expense"),
            sign,
        )
        return lines

    def invoice(self, txn: dict) -> list[Posting]:
        lines = self._sales_lines("Invoice", txn, -1)
        return self._balance(
            "Invoice", txn, lines, self._ar(txn), ("Customer", _ref(txn.get("CustomerRef")))
        )

    def credit_memo(self, txn: dict) -> list[Posting]:
        lines = self._sales_lines("CreditMemo", txn, +1)
        return self._balance(
            "CreditMemo", txn, lines, self._ar(txn), ("Customer", _ref(txn.get("CustomerRef")))
        )

    def sales_receipt(self, txn: dict) -> list[Posting]:
        lines = self._sales_lines("SalesReceipt", txn, -1)
        name = ("Customer", _ref(txn.get("CustomerRef")))
        return self._balance("SalesReceipt", txn, lines, txn["DepositToAccountRef"]["value"], name)

    def refund_receipt(self, txn: dict) -> list[Posting]:
        lines = self._sales_lines("RefundReceipt", txn, +1)
        name = ("Customer", _ref(txn.get("CustomerRef")))
        return self._balance("RefundReceipt", txn, lines, txn["DepositToAccountRef"]["value"], name)

    def bill(self, txn: dict) -> list[Posting]:
        lines = self._expense_lines("Bill", txn, +1)
        return self._balance(
            "Bill", txn, lines, self._ap(txn), ("Vendor", _ref(txn.get("VendorRef")))
        )

    def vendor_credit(self, txn: dict) -> list[Posting]:
        lines = self._expense_lines("VendorCredit", txn, -1)
        return self._balance(
            "VendorCredit", txn, lines, self._ap(txn), ("Vendor", _ref(txn.get("VendorRef")))
        )

    def purchase(self, txn: dict) -> list[Posting]:
        sign = -1 if txn.get("Credit") else +1
        lines = self._expense_lines("Purchase", txn, sign)
        name = self._entity(txn, "EntityRef", "Vendor")
        return self._balance("Purchase", txn, lines, txn["AccountRef"]["value"], name)

    def payment(self, txn: dict) -> list[Posting]:
        rate = txn.get("ExchangeRate")
        common = self._common("Payment", txn)
        amount = to_cents(txn["TotalAmt"], rate)
        name = {"name_type": "Customer", "name_id": _ref(txn.get("CustomerRef"))}
        ar = _ref(txn.get("ARAccountRef")) or self._ar(txn)
        deposit = _ref(txn.get("DepositToAccountRef")) or self.company.undeposited_funds_id
        return [
            Posting(**common, account_id=deposit, amount=amount, **name),
            Posting(**common, account_id=ar, amount=-amount, **name),
        ]

    def bill_payment(self, txn: dict) -> list[Posting]:
        rate = txn.get("ExchangeRate")
        common = self._common("BillPayment", txn)
        amount = to_cents(txn["TotalAmt"], rate)
        name = {"name_type": "Vendor", "name_id": _ref(txn.get("VendorRef"))}
        if txn.get("PayType") == "CreditCard":
            source = txn["CreditCardPayment"]["CCAccountRef"]["value"]
        else:
            source = txn["CheckPayment"]["BankAccountRef"]["value"]
        ap = _ref(txn.get("APAccountRef")) or self._ap(txn)
        return [
            Posting(**common, account_id=ap, amount=amount, **name),
            Posting(**common, account_id=source, amount=-amount, **name),
        ]

    def journal_entry(self, txn: dict) -> list[Posting]:
        rate = txn.get("ExchangeRate")
        common = self._common("JournalEntry", txn)
        out = []
        for line in txn.get("Line", []):
            detail = line.get("JournalEntryLineDetail")
            if detail is None:
                continue
            sign = 1 if detail["PostingType"] == "Debit" else -1
            entity = detail.get("Entity") or {}
            out.append(
                Posting(
                    **{
                        **common,
                        "department_id": _ref(detail.get("DepartmentRef"))
                        or common["department_id"],
                        "memo": line.get("Description") or common["memo"],
                    },
                    account_id=detail["AccountRef"]["value"],
                    amount=sign * to_cents(line["Amount"], rate),
                    line_id=line.get("Id"),
                    class_id=_ref(detail.get("ClassRef")),
                    name_type=entity.get("Type"),
                    name_id=_ref(entity.get("EntityRef")),
                )
            )
        return out

    def deposit(self, txn: dict) -> list[Posting]:
        rate = txn.get("ExchangeRate")
        common = self._common("Deposit", txn)
        lines = []
        for line in txn.get("Line", []):
            detail = line.get("DepositLineDetail")
            if detail is not None:
                account = detail["AccountRef"]["value"]
                class_id = _ref(detail.get("ClassRef"))
            elif line.get("LinkedTxn"):
                account = self.company.undeposited_funds_id
                class_id = None
            else:
                continue
            lines.append(
                Posting(
                    **common,
                    account_id=account,
                    amount=-to_cents(line["Amount"], rate),
                    line_id=line.get("Id"),
                    class_id=class_id,
                )
            )
        return self._balance(
            "Deposit", txn, lines, txn["DepositToAccountRef"]["value"], (None, None)
        )

    def transfer(self, txn: dict) -> list[Posting]:
        common = self._common("Transfer", txn)
        amount = to_cents(txn["Amount"], txn.get("ExchangeRate"))
        return [
            Posting(**common, account_id=txn["ToAccountRef"]["value"], amount=amount),
            Posting(**common, account_id=txn["FromAccountRef"]["value"], amount=-amount),
        ]

    # -- cash basis ----------------------------------------------------------------
    @staticmethod
    def _scaled(postings: list[Posting], fraction: Decimal, on: date) -> list[Posting]:
        """Postings scaled by `fraction` and moved to `on`, still summing to zero."""
        out = []
        running = 0
        # The balancing posting is last; give it whatever keeps the entry balanced.
        for p in postings[:-1]:
            cents = int(
                (Decimal(p.amount) * fraction).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
            )
            running += cents
            out.append(p._replace(txn_date=on, amount=cents))
        out.append(postings[-1]._replace(txn_date=on, amount=-running))
        return out

    def build(self) -> Ledger:
        handlers: dict[str, Callable[[dict], list[Posting]]] = {
            "Invoice": self.invoice,
            "CreditMemo": self.credit_memo,
            "SalesReceipt": self.sales_receipt,
            "RefundReceipt": self.refund_receipt,
            "Bill": self.bill,
            "VendorCredit": self.vendor_credit,
            "Purchase": self.purchase,
            "Payment": self.payment,
            "BillPayment": self.bill_payment,
            "JournalEntry": self.journal_entry,
            "Deposit": self.deposit,
            "Transfer": self.transfer,
        }
        deferred = {"Invoice": "Payment", "Bill": "BillPayment"}
        # payments per (linked type, id): [(date, home cents)]
        settlements: dict[tuple[str, str], list[tuple[date, Decimal]]] = {}
        for payer in ("Payment", "BillPayment"):
            for txn in self.company.stored(payer):
                when = date.fromisoformat(txn["TxnDate"])
                for line in txn.get("Line", []):
                    for link in line.get("LinkedTxn", []):
                        key = (link["TxnType"], link["TxnId"])
                        settlements.setdefault(key, []).append((when, Decimal(str(line["Amount"]))))
        for entity, handler in handlers.items():
            for txn in self.company.stored(entity):
                postings = handler(txn)
                if not postings:
                    continue
                self.accrual.extend(postings)
                if entity not in deferred:
                    self.cash.extend(postings)
                    continue
                total = Decimal(str(txn["TotalAmt"]))
                if total == 0:
                    continue
                for when, paid in settlements.get((entity, txn["Id"]), []):
                    self.cash.extend(self._scaled(postings, paid / total, when))
        return Ledger({"Accrual": self.accrual, "Cash": self.cash})


def build_ledger(company: Company) -> Ledger:
    """Derive the postings of every transaction the company holds."""
    return _Builder(company).build()


def check_balanced(postings: Iterable[Posting]) -> int:
    """Sum of postings (zero when the books balance); a testing aid."""
    return sum(p.amount for p in postings)
