"""What customers owe and what is owed to vendors on a date, from the ledger.

The basis of the aging reports (aging.py) and of CustomerBalance / VendorBalance
(party_balances.py). Everything comes from the postings on the Accounts Receivable (or
Accounts Payable) accounts up to the date, so the totals are the balance sheet's A/R (A/P)
line on that date, to the cent:

- `party_balances`: each customer's (vendor's) share of those postings, on either basis.
- `open_items`: the same postings per document, accrual basis. An invoice (bill) starts at
  its own posting; each payment (bill payment) dated up to the date moves the amounts its
  lines apply (`LinkedTxn`) from the payment to the documents they pay, so what a payment
  leaves unapplied stays open as a credit of its own, and credit memos, vendor credits and
  journal entries on the account stay open until something applies them. Open amounts are
  in natural sign: what a customer owes, or what is owed to a vendor, is positive.
  Amounts are home-currency cents as the ledger holds them: a foreign-currency document
  posts each line at its rate and a payment its total, so a paid one can keep a cent of
  rounding open, exactly as the A/R account on the balance sheet does.

Requests for these reports are "as of" one date (`report_date`, or the end of a
`date_macro`, default today); `start_date`/`end_date` do not apply to them and are ignored,
as QuickBooks ignores parameters a report does not take.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.accounting.ledger import BASES, to_cents
from qb_pipeline.sandbox.reports.periods import canonical_macro, macro_header_text, macro_range
from qb_pipeline.sandbox.reports.request import default_basis, invalid_parameter


@dataclass(frozen=True)
class Side:
    """Receivables or payables: which accounts, which payments, whose sign is natural."""

    account_type: str
    payment: str  # the entity that settles documents: Payment or BillPayment
    party: str  # Customer or Vendor
    party_parameter: str  # the report parameter that filters by party
    sign: int  # +1: debit balances are owed to us (A/R); -1: credit balances we owe (A/P)


RECEIVABLE = Side("Accounts Receivable", "Payment", "Customer", "customer", +1)
PAYABLE = Side("Accounts Payable", "BillPayment", "Vendor", "vendor", -1)
AGING_METHODS: tuple[str, ...] = ("Report_Date", "Current")


@dataclass(frozen=True)
class AsOfRequest:
    """An as-of report request, validated. `start` and `end` are both the as-of date (the
    Header's period); aging counts days past due up to `aging_date`."""

    name: str
    start: date
    end: date
    date_macro: str | None
    basis: str
    summarize: str
    party_ids: frozenset[str] | None
    echoed_filters: tuple[tuple[str, str], ...]
    aging_period: int
    num_periods: int
    aging_date: date


@dataclass
class OpenItem:
    """One document's open amount on the date (cents, natural sign)."""

    txn_type: str
    txn_id: str
    txn_date: date
    due_date: date
    doc_number: str
    party_id: str | None
    amount: int  # the document's own amount
    open: int  # what is still open of it


def _positive_int(params: Mapping[str, str], key: str, default: int, minimum: int) -> int:
    raw = (params.get(key) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise invalid_parameter(key, params[key], f"It must be a whole number >= {minimum}.")
    return int(raw)


def parse_as_of_request(
    company: Company, name: str, params: Mapping[str, str], side: Side
) -> AsOfRequest:
    """Validate an as-of report's parameters; ReportError names a bad one."""
    today = company.today()
    as_of, macro_text = today, None
    raw_date = (params.get("report_date") or "").strip()
    raw_macro = (params.get("date_macro") or "").strip()
    if raw_date:
        try:
            as_of = date.fromisoformat(raw_date)
        except ValueError:
            raise invalid_parameter(
                "report_date", params["report_date"], "Dates must be in the format yyyy-MM-dd."
            ) from None
    elif raw_macro:
        macro = canonical_macro(raw_macro)
        if macro is None:
            raise invalid_parameter("date_macro", raw_macro, "See the date_macro values.")
        as_of = macro_range(macro, today, company.fiscal_year_start_month)[1]
        macro_text = macro_header_text(macro, company.fiscal_year_start_month)
    basis = default_basis(company)
    raw_basis = (params.get("accounting_method") or "").strip()
    if raw_basis:
        by_lower = {b.lower(): b for b in BASES}
        if raw_basis.lower() not in by_lower:
            raise invalid_parameter(
                "accounting_method", raw_basis, f"Supported values: {', '.join(BASES)}."
            )
        basis = by_lower[raw_basis.lower()]
    method = (params.get("aging_method") or "Report_Date").strip()
    by_lower = {m.lower(): m for m in AGING_METHODS}
    if method.lower() not in by_lower:
        raise invalid_parameter(
            "aging_method", method, f"Supported values: {', '.join(AGING_METHODS)}."
        )
    raw_parties = params.get(side.party_parameter)
    party_ids = frozenset(p.strip() for p in (raw_parties or "").split(",") if p.strip())
    echoed = ((side.party, raw_parties.strip()),) if party_ids and raw_parties else ()
    return AsOfRequest(
        name=name,
        start=as_of,
        end=as_of,
        date_macro=macro_text,
        basis=basis,
        summarize="Total",
        party_ids=party_ids or None,
        echoed_filters=echoed,
        aging_period=_positive_int(params, "aging_period", 30, 1),
        num_periods=_positive_int(params, "num_periods", 4, 1),
        aging_date=as_of if by_lower[method.lower()] == "Report_Date" else today,
    )


def _side_accounts(company: Company, side: Side) -> frozenset[str]:
    return frozenset(
        a["Id"] for a in company.stored("Account") if a.get("AccountType") == side.account_type
    )


def party_balances(company: Company, side: Side, as_of: date, basis: str) -> dict[str | None, int]:
    """Each party's balance on the side's accounts on `as_of` (natural sign, cents)."""
    accounts = _side_accounts(company, side)
    out: dict[str | None, int] = {}
    for p in company.ledger.postings_between(basis, None, as_of):
        if p.account_id in accounts:
            party = p.name_id if p.name_type in (side.party, None) else None
            out[party] = out.get(party, 0) + side.sign * p.amount
    return out


def open_items(company: Company, side: Side, as_of: date) -> list[OpenItem]:
    """Every document with an open amount on `as_of`, in date order (accrual basis)."""
    accounts = _side_accounts(company, side)
    items: dict[tuple[str, str], OpenItem] = {}
    for p in company.ledger.postings_between("Accrual", None, as_of):
        if p.account_id not in accounts:
            continue
        key = (p.txn_type, p.txn_id)
        item = items.get(key)
        if item is None:
            record = company.store.get(p.txn_type, {}).get(p.txn_id, {})
            due = record.get("DueDate")
            item = items[key] = OpenItem(
                txn_type=p.txn_type,
                txn_id=p.txn_id,
                txn_date=p.txn_date,
                due_date=date.fromisoformat(due) if due else p.txn_date,
                doc_number=p.doc_number or "",
                party_id=p.name_id,
                amount=0,
                open=0,
            )
        item.amount += side.sign * p.amount
        item.open += side.sign * p.amount
    for (txn_type, txn_id), payment in list(items.items()):
        if txn_type != side.payment:
            continue
        record = company.store.get(txn_type, {}).get(txn_id, {})
        rate = record.get("ExchangeRate")
        for line in record.get("Line", []):
            for link in line.get("LinkedTxn", []):
                document = items.get((link.get("TxnType"), link.get("TxnId")))
                if document is None:  # dated after as_of, or deleted: stays unapplied
                    continue
                applied = to_cents(line["Amount"], rate)
                direction = 1 if document.amount >= 0 else -1
                document.open -= direction * applied
                payment.open += direction * applied
    return [item for item in items.values() if item.open != 0]


def party_names(company: Company, side: Side) -> dict[str, str]:
    """Display names of the side's parties by id."""
    return {
        r["Id"]: r.get("DisplayName") or r.get("Name") or r["Id"]
        for r in company.stored(side.party)
    }
