"""The chart of accounts as reports see it: types, signs, order, labels and sub-account trees.

Reports list accounts by type (balance-sheet types first, in statement order), then by
account number when the company uses them, then by name; sub-accounts nest under their
parent when both sit in the same report group. With `UseAccountNumbers` on, report labels
are prefixed with the number ("6100 Rent or Lease"), as QuickBooks prints them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from qb_pipeline.sandbox.accounting.account_types import CLASSIFICATION_BY_TYPE
from qb_pipeline.sandbox.accounting.companies import Company

# Statement order of account types.
TYPE_ORDER: tuple[str, ...] = (
    "Bank", "Accounts Receivable", "Other Current Asset", "Fixed Asset", "Other Asset",
    "Accounts Payable", "Credit Card", "Other Current Liability", "Long Term Liability",
    "Equity", "Income", "Cost of Goods Sold", "Expense", "Other Income", "Other Expense",
)  # fmt: skip
PNL_TYPES: frozenset[str] = frozenset(TYPE_ORDER[10:])
DEBIT_CLASSIFICATIONS: frozenset[str] = frozenset({"Asset", "Expense"})


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    label: str  # the name as reports print it (number-prefixed when numbers are on)
    full_label: str  # the fully qualified name as reports print it
    number: str  # AcctNum ("" when none)
    account_type: str
    sub_type: str
    parent_id: str | None
    active: bool
    description: str
    sign: int  # +1 debit-natural (assets, expenses), -1 credit-natural

    @property
    def is_pnl(self) -> bool:
        return self.account_type in PNL_TYPES


def detail_type_label(sub_type: str) -> str:
    """AccountSubType as the UI shows it: "AccountsReceivable" -> "Accounts Receivable"."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", sub_type)


def _uses_numbers(company: Company) -> bool:
    prefs = company.records("Preferences")
    info = (prefs[0].get("AccountingInfoPrefs") or {}) if prefs else {}
    return bool(info.get("UseAccountNumbers"))


class Chart:
    """One company's accounts, indexed for report building."""

    def __init__(self, company: Company) -> None:
        numbers = _uses_numbers(company)
        records = company.records("Account")
        self.by_id: dict[str, Account] = {}
        self._sort_key: dict[str, tuple] = {}
        for record in records:
            account_type = record["AccountType"]
            classification = record.get("Classification") or CLASSIFICATION_BY_TYPE.get(
                account_type, "Asset"
            )
            number = record.get("AcctNum") if numbers else None
            prefix = f"{number} " if number else ""
            account = Account(
                id=record["Id"],
                name=record["Name"],
                label=prefix + record["Name"],
                full_label=prefix + record.get("FullyQualifiedName", record["Name"]),
                number=record.get("AcctNum") or "",
                account_type=account_type,
                sub_type=record.get("AccountSubType", ""),
                parent_id=(record.get("ParentRef") or {}).get("value"),
                active=record.get("Active", True),
                description=record.get("Description", ""),
                sign=1 if classification in DEBIT_CLASSIFICATIONS else -1,
            )
            self.by_id[account.id] = account
            rank = TYPE_ORDER.index(account_type) if account_type in TYPE_ORDER else len(TYPE_ORDER)
            self._sort_key[account.id] = (
                rank,
                number is None,
                number or "",
                record["Name"].casefold(),
                int(account.id) if account.id.isdigit() else 0,
                account.id,
            )
        self._children: dict[str, list[str]] = {}
        for account in self.by_id.values():
            if account.parent_id in self.by_id:
                self._children.setdefault(account.parent_id, []).append(account.id)
        for ids in self._children.values():
            ids.sort(key=self._sort_key.__getitem__)
        self.retained_earnings_id: str | None = next(
            (
                a.id
                for a in sorted(self.by_id.values(), key=lambda a: self._sort_key[a.id])
                if a.account_type == "Equity" and a.sub_type == "RetainedEarnings"
            ),
            None,
        )

    def __getitem__(self, account_id: str) -> Account:
        return self.by_id[account_id]

    def __contains__(self, account_id: object) -> bool:
        return account_id in self.by_id

    def ordered(self, ids: Iterable[str]) -> list[str]:
        """`ids` in report order (type, number, name)."""
        return sorted(ids, key=self._sort_key.__getitem__)

    def roots(self, types: Iterable[str]) -> list[str]:
        """Top-level accounts of `types`: no parent, or a parent outside those types."""
        wanted = frozenset(types)
        return self.ordered(
            a.id
            for a in self.by_id.values()
            if a.account_type in wanted
            and (
                a.parent_id not in self.by_id or self.by_id[a.parent_id].account_type not in wanted
            )
        )

    def children(self, account_id: str, types: Iterable[str]) -> list[str]:
        """Direct sub-accounts of `account_id` that belong to the same report group."""
        wanted = frozenset(types)
        return [
            c for c in self._children.get(account_id, []) if self.by_id[c].account_type in wanted
        ]

    def tree_order(self) -> list[str]:
        """Every account, parents before their sub-accounts, in report order."""
        out: list[str] = []

        def walk(account_id: str) -> None:
            out.append(account_id)
            for child in self.children(account_id, (self.by_id[account_id].account_type,)):
                walk(child)

        for root in self.ordered(
            a.id
            for a in self.by_id.values()
            if a.parent_id not in self.by_id
            or self.by_id[a.parent_id].account_type != a.account_type
        ):
            walk(root)
        return out
