"""What changed since the last sync, from QuickBooks' change data capture (CDC) endpoint.

One CDC request per sync answers for every CDC-capable entity at once: the records changed
since the previous sync (full payloads, inactive list records included) and stubs for the
transactions deleted since then. That replaces one query per entity on a quiet day, and it
is the only way to learn about hard deletes.

Checkpoints. After an entity is synced, the source stores the server time taken *before*
it was read (`checkpoints[entity]`, in the dlt source state, committed with the load).
The next sync asks CDC for changes since the oldest usable checkpoint minus an overlap.
An entity can use CDC when its checkpoint exists, is within 29 days of the newest one
(CDC refuses windows older than 30 days) and CDC did not cut its answer at 1,000 objects;
otherwise the entity is read by query (and a transaction entity is fully re-read to find
its deletions, see the source). When QuickBooks refuses the CDC window, every entity falls
back the same way. A CDC answer of the wrong shape (no `CDCResponse` list, ...) is never
read as "no changes": the client raises UnexpectedAnswer (quickbooks/answers.py), the sync
fails, and no checkpoint moves, since they are committed with the load.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import dlt

from qb_pipeline.quickbooks import QuickBooksClient, QuickBooksError
from qb_pipeline.quickbooks.errors import (
    AuthenticationError,
    AuthorizationError,
    NetworkError,
    ServerError,
    ThrottledError,
)
from qb_pipeline.sources.quickbooks.helpers.paging import is_deletion_stub, parse_qbo_time
from qb_pipeline.sources.quickbooks.settings import CDC_LOOKBACK_DAYS, OVERLAP_SECONDS

log = logging.getLogger("qb_pipeline.sources.quickbooks")

CHECKPOINTS_KEY = "cdc_checkpoints"
# Errors that say nothing about the CDC window: they stop the sync instead of a fallback.
_NOT_A_REFUSAL = (
    AuthenticationError,
    AuthorizationError,
    NetworkError,
    ServerError,
    ThrottledError,
)


@dataclass
class EntityChanges:
    """An entity's changes since its checkpoint, as CDC reported them."""

    records: list[dict] = field(default_factory=list)  # changed records, deletions excluded
    deletions: list[tuple[str, datetime | None]] = field(default_factory=list)  # (id, when)
    complete: bool = True  # False: CDC stopped at its 1,000-object cap


def read_checkpoints() -> dict[str, datetime]:
    """The stored checkpoints of the running pipeline's source state."""
    stored = dlt.current.source_state().get(CHECKPOINTS_KEY) or {}
    out: dict[str, datetime] = {}
    for entity, text in stored.items():
        moment = parse_qbo_time(text)
        if moment is not None:
            out[entity] = moment
    return out


def write_checkpoint(entity: str, moment: datetime) -> None:
    """Store `entity`'s checkpoint; dlt commits it together with the loaded rows."""
    state = dlt.current.source_state().setdefault(CHECKPOINTS_KEY, {})
    state[entity] = moment.isoformat()


def usable_checkpoints(checkpoints: dict[str, datetime]) -> dict[str, datetime]:
    """Checkpoints close enough to the newest one for a single CDC window."""
    if not checkpoints:
        return {}
    newest = max(checkpoints.values())
    oldest_allowed = newest - timedelta(days=CDC_LOOKBACK_DAYS)
    return {e: t for e, t in checkpoints.items() if t >= oldest_allowed}


class ChangeScan:
    """The one CDC request of a sync, made on first use and shared by every resource."""

    def __init__(self, client: QuickBooksClient, entities: Sequence[str]) -> None:
        self.client = client
        self.entities = tuple(entities)
        self._lock = threading.Lock()
        self._done = False
        self.server_time: datetime | None = None  # the CDC answer's time (server clock)
        self.since: datetime | None = None
        self._changes: dict[str, EntityChanges] = {}

    def changes(self, entity: str) -> EntityChanges | None:
        """`entity`'s changes since its checkpoint, or None when CDC cannot tell."""
        self.run()
        return self._changes.get(entity)

    def run(self) -> None:
        with self._lock:
            if not self._done:
                self._scan()
                self._done = True

    def _scan(self) -> None:
        usable = {e: t for e, t in usable_checkpoints(read_checkpoints()).items()
                  if e in self.entities}  # fmt: skip
        if not usable:
            return
        since = min(usable.values()) - timedelta(seconds=OVERLAP_SECONDS)
        try:
            result = self.client.cdc(sorted(usable), since)
        except QuickBooksError as error:
            if isinstance(error, _NOT_A_REFUSAL) or error.status != 400:
                raise
            # QuickBooks refuses a changedSince older than its window (a 400 fault):
            # every entity falls back to queries.
            log.warning("CDC refused the window since %s (%s); reading by query", since, error)
            return
        self.since = since
        self.server_time = result.time
        for entity in usable:
            records = result.entities.get(entity, [])
            found = EntityChanges(complete=entity not in result.capped)
            for record in records:
                if is_deletion_stub(record):
                    when = parse_qbo_time((record.get("MetaData") or {}).get("LastUpdatedTime"))
                    found.deletions.append((str(record.get("Id")), when))
                else:
                    found.records.append(record)
            self._changes[entity] = found
        changed = sum(len(c.records) + len(c.deletions) for c in self._changes.values())
        log.info("CDC since %s: %d changes across %d entities", since, changed, len(usable))

    def deletions_since(self, entity: str) -> list[tuple[str, datetime | None]] | None:
        """All deletions of `entity` since the scan's window, following CDC past its cap
        (one more request per 1,000 changes); None when CDC cannot make progress."""
        found = self.changes(entity)
        if found is None or self.since is None:
            return None
        deletions = list(found.deletions)
        if found.complete:
            return deletions
        since = _latest(found)
        while True:
            if since is None:
                return None
            result = self.client.cdc([entity], since)
            records = result.entities.get(entity, [])
            batch = EntityChanges(complete=entity not in result.capped)
            for record in records:
                if is_deletion_stub(record):
                    when = parse_qbo_time((record.get("MetaData") or {}).get("LastUpdatedTime"))
                    batch.deletions.append((str(record.get("Id")), when))
                else:
                    batch.records.append(record)
            deletions.extend(batch.deletions)
            if batch.complete:
                return deletions
            latest = _latest(batch)
            if latest is None or latest <= since:
                return None  # 1,000 changes within one second: no way forward by CDC
            since = latest


def _latest(changes: EntityChanges) -> datetime | None:
    times = [parse_qbo_time((r.get("MetaData") or {}).get("LastUpdatedTime"))
             for r in changes.records]  # fmt: skip
    times += [when for _, when in changes.deletions]
    known = [t for t in times if t is not None]
    return max(known) if known else None
