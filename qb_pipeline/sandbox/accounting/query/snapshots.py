"""Snapshots: one entity of one company at one version, with its columns and sort orders.

Rebuilt only when `company.version(entity)` (or the size of the entity's store, or for
Account the ledger behind its balances) changes, so paging neither re-sorts nor re-parses.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.accounting.query.comparable import Column
from qb_pipeline.sandbox.accounting.query.errors import invalid
from qb_pipeline.sandbox.accounting.query.properties import DOCUMENTED, HEADER, METADATA_FIELDS


def _in_id_order(records: list[dict]) -> list[dict]:
    """Records by ascending numeric Id (the store normally has them so: then this is cheap)."""
    ids = [str(record.get("Id", "")) for record in records]
    if all(map(str.isdigit, ids)):
        numbers = list(map(int, ids))
        if numbers == sorted(numbers):
            return list(records)
        return [records[i] for i in sorted(range(len(records)), key=numbers.__getitem__)]
    return sorted(
        records, key=lambda r: (0, int(r["Id"])) if str(r.get("Id", "")).isdigit() else (1, "")
    )


MATCH_CACHE_SIZE = 32


class Snapshot:
    def __init__(self, entity: str, version: tuple, records: list[dict], tz: ZoneInfo) -> None:
        self.entity = entity
        self.version = version
        self.ledger: object = None  # for Account: the ledger its balances came from
        self.records = _in_id_order(records)
        self.tz = tz
        self._names: dict[str, str] = {n.lower(): n for n in HEADER.split()}
        for name in DOCUMENTED.get(entity, ()):
            self._names.setdefault(name.lower(), name)
        self._scanned = False
        self._paths: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._columns: dict[tuple[str, ...], Column] = {}
        self._orders: dict[tuple, tuple[list[int], list | None]] = {}
        self._id_index: dict[int, int] | None = None
        self.matches: OrderedDict[tuple, list[int]] = OrderedDict()

    def resolve(self, path: tuple[str, ...]) -> tuple[str, ...]:
        """The stored spelling of a property path written in any case; 4001 if unknown."""
        key = tuple(part.lower() for part in path)
        resolved = self._paths.get(key)
        if resolved is None:
            resolved = self._resolve(path)
            self._paths[key] = resolved
        return resolved

    def _resolve(self, path: tuple[str, ...]) -> tuple[str, ...]:
        head = path[0].lower()
        if head not in self._names and not self._scanned:
            # Sparse records: a property is known if any record of the entity carries it.
            for record in self.records:
                for name in record:
                    self._names.setdefault(name.lower(), name)
            self._scanned = True
        top = self._names.get(head)
        if top is None:
            if not self.records and self.entity not in DOCUMENTED:
                return path  # nothing to check against; the answer is empty anyway
            raise invalid(f"Property {'.'.join(path)} not found for Entity {self.entity}")
        resolved = [top]
        for part in path[1:]:
            resolved.append(self._child_name(tuple(resolved), part))
        return tuple(resolved)

    def _child_name(self, parent: tuple[str, ...], part: str) -> str:
        if parent == ("MetaData",):
            for name in METADATA_FIELDS:
                if name.lower() == part.lower():
                    return name
            raise invalid(
                f"Property {'.'.join((*parent, part))} not found for Entity {self.entity}"
            )
        for record in self.records:
            value: object = record
            for key in parent:
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, dict):
                for name in value:
                    if name.lower() == part.lower():
                        return name
        return part

    def column(self, path: tuple[str, ...]) -> Column:
        column = self._columns.get(path)
        if column is None:
            column = Column(path, self.records, self.tz)
            self._columns[path] = column
        return column

    def order(self, spec: tuple[tuple[tuple[str, ...], bool], ...]) -> tuple[list[int], list]:
        """Record positions sorted by `spec` (ties in Id order) and the leading key per row."""
        cached = self._orders.get(spec)
        if cached is None:
            positions = list(range(len(self.records)))
            for path, descending in reversed(spec):
                keys = self.column(path).sort_keys()
                positions.sort(key=keys.__getitem__, reverse=descending)  # stable
            leading = self.column(spec[0][0]).sort_keys()
            cached = (positions, [leading[i] for i in positions])
            self._orders[spec] = cached
        return cached

    def positions_of_ids(self, ids: Sequence[object]) -> list[int]:
        if self._id_index is None:
            values = self.column(("Id",)).values
            self._id_index = {v: i for i, v in enumerate(values) if v is not None}
        found = {self._id_index[i] for i in ids if i in self._id_index}
        return sorted(found)


_CACHE_LOCK = threading.Lock()
_SNAPSHOTS: dict[int, tuple[weakref.ref, dict[str, Snapshot]]] = {}


def _forget(key: int, ref: weakref.ref) -> None:
    # Runs while a company is collected; plain dict operations only (no lock: the collector
    # may run inside a locked section of this thread).
    entry = _SNAPSHOTS.get(key)
    if entry is not None and entry[0] is ref:
        _SNAPSHOTS.pop(key, None)


def snapshot_of(company: Company, entity: str) -> Snapshot:
    key = id(company)
    with _CACHE_LOCK:
        entry = _SNAPSHOTS.get(key)
        if entry is None or entry[0]() is not company:
            ref = weakref.ref(company, lambda r, key=key: _forget(key, r))
            entry = (ref, {})
            _SNAPSHOTS[key] = entry
    by_entity = entry[1]
    stored = company.store.get(entity, {})
    # The version counter, plus the size and newest key of the store: some writers (the
    # activity generator) add records without bumping the counter.
    version = (company.version(entity), len(stored), next(reversed(stored), None))
    ledger = None
    if entity == "Account":
        # CurrentBalance is derived from the ledger, rebuilt after any transaction change or
        # clock move; records() brings the balances up to date. The snapshot keeps the ledger
        # it saw, so comparing identities cannot be fooled by a recycled id.
        company.records(entity)
        ledger = company.ledger
    snapshot = by_entity.get(entity)
    if snapshot is None or snapshot.version != version or snapshot.ledger is not ledger:
        snapshot = Snapshot(entity, version, company.records(entity), company.tz)
        snapshot.ledger = ledger
        by_entity[entity] = snapshot
    return snapshot
