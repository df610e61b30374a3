"""The event log of the control DB: what changed, in the order it was committed.

Every change that something reacts to (a connection made, renewed, ended or that lost its
authorization; a goal created, changed, archived or restored) writes one event row inside the
transaction that makes the change, with `record`. Readers (the Dagster sensors) keep the id
of the last event they handled and ask for the ones after it with `after`: ids only grow and
writers commit one at a time (SQLite's BEGIN IMMEDIATE; on Postgres a transaction-level
advisory lock does the same, see migration 0002), so a reader sees every event exactly
once, in commit order, whatever the clocks of the machines say.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qb_pipeline.connections.db import Connection, from_text, to_text, utcnow

# A new connection: the first one, or one after a disconnect or a lost authorization (to the
# same company or another one; `detail` has previous_status and previous_realm_id).
CONNECTED = "connected"
# The tokens of a connected company were renewed by authorizing it again; nothing to do.
REAUTHORIZED = "reauthorized"
DISCONNECTED = "disconnected"
REAUTHORIZATION_REQUIRED = "reauthorization_required"
GOAL_CHANGED = "goal_changed"
KINDS = (CONNECTED, REAUTHORIZED, DISCONNECTED, REAUTHORIZATION_REQUIRED, GOAL_CHANGED)
CONNECTION_KINDS = (CONNECTED, REAUTHORIZED, DISCONNECTED, REAUTHORIZATION_REQUIRED)


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    org_slug: str
    realm_id: str | None
    kind: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "org": self.org_slug,
            "realm_id": self.realm_id,
            "kind": self.kind,
            "detail": dict(self.detail),
        }


def record(
    conn: Connection,
    kind: str,
    *,
    org_id: int,
    realm_id: str | None = None,
    **detail: Any,
) -> int:
    """Append an event inside the caller's open transaction; returns its id."""
    if kind not in KINDS:
        raise ValueError(f"event kind {kind!r} is not one of {', '.join(KINDS)}")
    if not conn.in_transaction:
        # An event written outside the change's transaction could be seen without the change.
        raise RuntimeError("events are recorded inside the transaction of the change")
    cursor = conn.execute(
        "INSERT INTO events (at, org_id, realm_id, kind, detail) VALUES (?, ?, ?, ?, ?)"
        " RETURNING id",
        (to_text(utcnow()), org_id, realm_id, kind, json.dumps(detail, default=str)),
    )
    return int(cursor.fetchone()[0])


# `{kinds}`: one placeholder per kind asked for, or none for all kinds (engine-neutral SQL).
EVENTS_AFTER_SQL = """
SELECT e.id, e.at, o.slug, e.realm_id, e.kind, e.detail
FROM events AS e
JOIN organizations AS o ON o.id = e.org_id
WHERE e.id > ?{kinds}
ORDER BY e.id
LIMIT ?
"""


def after(
    conn: Connection,
    last_id: int,
    kinds: tuple[str, ...] | None = None,
    limit: int = 1000,
) -> list[Event]:
    """The events after id `last_id` (of `kinds`, when given), oldest first."""
    if kinds is None:
        sql, wanted = EVENTS_AFTER_SQL.format(kinds=""), ()
    elif not kinds:
        return []
    else:
        marks = ", ".join("?" for _ in kinds)
        sql, wanted = EVENTS_AFTER_SQL.format(kinds=f" AND e.kind IN ({marks})"), tuple(kinds)
    rows = conn.execute(sql, (last_id, *wanted, limit)).fetchall()
    return [
        Event(
            id=row["id"],
            at=from_text(row["at"]),
            org_slug=row["slug"],
            realm_id=row["realm_id"],
            kind=row["kind"],
            detail=json.loads(row["detail"]),
        )
        for row in rows
    ]


def last_id(conn: Connection) -> int:
    """The id of the newest event (0 when there is none)."""
    row = conn.execute("SELECT max(id) FROM events").fetchone()
    return int(row[0] or 0)


__all__ = [
    "CONNECTED",
    "CONNECTION_KINDS",
    "DISCONNECTED",
    "GOAL_CHANGED",
    "KINDS",
    "REAUTHORIZATION_REQUIRED",
    "REAUTHORIZED",
    "Event",
    "after",
    "last_id",
    "record",
]
