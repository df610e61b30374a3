"""The emulator's backend: companies and their records. No HTTP here.

Records are stored in the exact wire shape QBO serves (`Id`, `SyncToken`, `MetaData`, ...),
so the HTTP layer only wraps them in envelopes. Derived figures (account balances, the
ledger) are computed from the transactions and rebuilt whenever a record changes.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from qb_pipeline.sandbox.accounting.clock import MONTH_NAMES, EmulatorClock, format_timestamp
from qb_pipeline.sandbox.accounting.entities import (
    LIST_ENTITIES,
    SINGLETON_ENTITIES,
    TRANSACTION_ENTITIES,
)
from qb_pipeline.sandbox.accounting.ledger import Ledger, build_ledger


@dataclass
class Deletion:
    """A hard-deleted transaction (or deleted list record) as CDC reports it."""

    entity: str
    id: str
    deleted_at: datetime


class EntityNotFound(KeyError):
    """No record of that entity with that id."""


@dataclass
class Company:
    """One QuickBooks company (realm) with all its records."""

    realm_id: str
    name: str
    fiscal_year_start_month: int
    home_currency: str
    timezone: str
    clock: EmulatorClock
    store: dict[str, dict[str, dict]] = field(default_factory=dict)
    deletions: list[Deletion] = field(default_factory=list)
    # Ids of accounts the ledger needs when a transaction does not name them.
    undeposited_funds_id: str = ""
    sales_tax_account_id: str = ""
    # Generator bookkeeping: which account plays which role ("checking", "ar", ...), the
    # class/department ids used on transactions, and the size profile, so that the
    # activity simulator can add business in the same style later.
    account_roles: dict[str, str] = field(default_factory=dict)
    profile: dict = field(default_factory=dict)
    # Which load-test company this is (0-based), or None for the named companies.
    load_test_index: int | None = None
    clock_offset: timedelta = timedelta(0)
    _ledger: Ledger | None = None
    _next_ids: dict[str, int] = field(default_factory=dict)
    # Bumped on every change to an entity, so readers can cache sorted views safely.
    versions: dict[str, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- time ----------------------------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def now(self) -> datetime:
        """The company's current time (emulator clock plus this company's advance)."""
        return (self.clock.now() + self.clock_offset).astimezone(self.tz).replace(microsecond=0)

    def now_precise(self) -> datetime:
        return (self.clock.now() + self.clock_offset).astimezone(self.tz)

    def today(self) -> date:
        return self.now().date()

    def advance(self, days: int) -> None:
        """Move this company's clock forward by whole days."""
        if days < 0:
            raise ValueError("the clock only moves forward")
        self.clock_offset += timedelta(days=days)

    # -- records -------------------------------------------------------------------
    def records(self, entity: str) -> list[dict]:
        """All stored records of an entity, inactive ones included, ordered by numeric Id."""
        if entity == "Account":
            self.ledger  # noqa: B018 - refreshes CurrentBalance fields
        return list(self.store.get(entity, {}).values())

    def stored(self, entity: str) -> list[dict]:
        """Stored records without refreshing derived fields (for the ledger itself)."""
        return list(self.store.get(entity, {}).values())

    def get(self, entity: str, record_id: str) -> dict:
        if entity == "Account":
            self.ledger  # noqa: B018
        try:
            return self.store[entity][record_id]
        except KeyError:
            raise EntityNotFound(f"{entity} {record_id}") from None

    @property
    def ledger(self) -> Ledger:
        with self.lock:
            if self._ledger is None:
                self._ledger = build_ledger(self)
                self._refresh_account_balances(self._ledger)
            return self._ledger

    def _refresh_account_balances(self, ledger: Ledger) -> None:
        """CurrentBalance (own) and CurrentBalanceWithSubAccounts, natural sign."""
        accounts = self.store.get("Account", {})
        own = ledger.balances("Accrual", self.today())
        children: dict[str, list[str]] = {}
        for acc in accounts.values():
            parent = (acc.get("ParentRef") or {}).get("value")
            if parent:
                children.setdefault(parent, []).append(acc["Id"])

        def natural(acc: dict, cents: int) -> float:
            sign = 1 if acc["Classification"] in ("Asset", "Expense") else -1
            return round(sign * cents / 100, 2)

        def total(account_id: str) -> int:
            return own.get(account_id, 0) + sum(total(c) for c in children.get(account_id, []))

        for acc in accounts.values():
            acc["CurrentBalance"] = natural(acc, own.get(acc["Id"], 0))
            acc["CurrentBalanceWithSubAccounts"] = natural(acc, total(acc["Id"]))

    def version(self, entity: str) -> int:
        """A counter that changes whenever any record of `entity` changes."""
        return self.versions.get(entity, 0)

    def invalidate_ledger(self) -> None:
        """Rebuild derived figures (account balances move with "today")."""
        with self.lock:
            self._ledger = None

    def mark_changed(self, entities: list[str] | None = None) -> None:
        """Record direct writes to the store (generator, activity): readers must not
        reuse views cached before them, and derived figures are rebuilt."""
        with self.lock:
            for entity in entities if entities is not None else list(self.store):
                self._touch(entity)
            self._ledger = None

    def _touch(self, entity: str) -> None:
        self.versions[entity] = self.versions.get(entity, 0) + 1
        self._ledger = None

    # -- mutations (control API and activity generator) ------------------------------
    def next_id(self, entity: str) -> str:
        if entity not in self._next_ids:
            existing = [int(i) for i in self.store.get(entity, {})] or [0]
            self._next_ids[entity] = max(existing) + 1
        value = self._next_ids[entity]
        self._next_ids[entity] = value + 1
        return str(value)

    def add(self, entity: str, record: dict, at: datetime | None = None) -> dict:
        """Store a new record, filling Id, SyncToken, domain, sparse and MetaData."""
        with self.lock:
            moment = at or self.now()
            body = copy.deepcopy(record)
            body.setdefault("Id", self.next_id(entity))
            body["SyncToken"] = "0"
            body["domain"] = "QBO"
            body["sparse"] = False
            stamp = format_timestamp(moment)
            body["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
            self.store.setdefault(entity, {})[body["Id"]] = body
            self._touch(entity)
            return body

    def update(
        self, entity: str, record_id: str, changes: dict, at: datetime | None = None
    ) -> dict:
        """Merge `changes` into a record, bump SyncToken and LastUpdatedTime."""
        with self.lock:
            body = self.get(entity, record_id)
            for key, value in copy.deepcopy(changes).items():
                if key in ("Id", "SyncToken", "MetaData", "domain", "sparse"):
                    continue
                if value is None:
                    body.pop(key, None)
                else:
                    body[key] = value
            body["SyncToken"] = str(int(body["SyncToken"]) + 1)
            body["MetaData"]["LastUpdatedTime"] = format_timestamp(at or self.now())
            self._touch(entity)
            return body

    def delete(self, entity: str, record_id: str, at: datetime | None = None) -> None:
        """Delete as QBO does: transactions vanish, list records become inactive."""
        with self.lock:
            moment = at or self.now()
            if entity in TRANSACTION_ENTITIES:
                self.store.get(entity, {}).pop(record_id)
                self.deletions.append(Deletion(entity, record_id, moment))
            elif entity in LIST_ENTITIES:
                body = self.get(entity, record_id)
                changes: dict = {"Active": False}
                if entity == "Account" and not body["Name"].endswith(" (deleted)"):
                    changes["Name"] = body["Name"] + " (deleted)"
                    changes["FullyQualifiedName"] = body["FullyQualifiedName"] + " (deleted)"
                self.update(entity, record_id, changes, at=moment)
            elif entity in SINGLETON_ENTITIES:
                raise ValueError(f"{entity} cannot be deleted")
            else:
                raise EntityNotFound(entity)
            self._touch(entity)

    @property
    def fiscal_year_start_name(self) -> str:
        return MONTH_NAMES[self.fiscal_year_start_month - 1]


@dataclass
class EmulatorBackend:
    """Every company the emulator hosts, in a stable order (the first is the demo one)."""

    companies: dict[str, Company]
    clock: EmulatorClock
    seed: int
    size: str

    def company(self, realm_id: str) -> Company:
        try:
            return self.companies[realm_id]
        except KeyError:
            raise EntityNotFound(f"realm {realm_id}") from None

    def list_companies(self) -> list[Company]:
        return list(self.companies.values())

    def load_test_companies(self) -> list[Company]:
        """The load-test companies (`--companies N`), index 0 first; empty without them."""
        return [c for c in self.companies.values() if c.load_test_index is not None]

    def load_test_company(self, index: int) -> Company:
        """Load-test company `index` (0-based)."""
        for company in self.companies.values():
            if company.load_test_index == index:
                return company
        raise EntityNotFound(f"load-test company {index}")
