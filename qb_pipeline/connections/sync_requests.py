""" "Sync now" requests, and what the integration page says about the organization's syncing.

A request remembers who asked and when, and the Dagster run it queued (or why none was
queued). The sync itself writes the sync log (sync_log.py) when its first step starts, so a
request is `queued` until the log has an entry that started at or after it; from then on the
entry's own status (running, succeeded, failed, partial, cancelled) is what the page shows.
A run that fails before any step runs is written to the log as failed by the Dagster failure
sensor, so a request never stays queued because its run died early.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qb_pipeline.connections import audit
from qb_pipeline.connections.db import Connection, Row, from_text, to_text, transaction, utcnow
from qb_pipeline.connections.errors import IntegrationError
from qb_pipeline.connections.results import SyncRun

QUEUED = "queued"
NOT_SUBMITTED = "not_submitted"
IDLE = "idle"
BUSY_STATES = (QUEUED, "running")


class SyncBusy(IntegrationError):
    """A sync of the organization is queued or running already (HTTP 409)."""


@dataclass(frozen=True)
class SyncRequest:
    id: int
    realm_id: str | None
    requested_at: datetime
    requested_by: str
    run_id: str | None
    problem: str | None

    @property
    def submitted(self) -> bool:
        return self.run_id is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "realm_id": self.realm_id,
            "requested_at": self.requested_at.isoformat(),
            "requested_by": self.requested_by,
            "run_id": self.run_id,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class SyncActivity:
    """The organization's syncing as of now: the latest request and the latest sync run."""

    state: str  # queued, not_submitted, idle, or a sync log status (running, succeeded, ...)
    request: SyncRequest | None
    run: SyncRun | None

    @property
    def busy(self) -> bool:
        return self.state in BUSY_STATES

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "busy": self.busy,
            "request": self.request.to_dict() if self.request else None,
            "run": self.run.to_dict() if self.run else None,
        }


def _request(row: Row) -> SyncRequest:
    return SyncRequest(
        id=row["id"],
        realm_id=row["realm_id"],
        requested_at=from_text(row["requested_at"]),
        requested_by=row["requested_by"],
        run_id=row["run_id"],
        problem=row["problem"],
    )


def record(
    conn: Connection,
    org_id: int,
    realm_id: str | None,
    requested_by: str,
    run_id: str | None,
    problem: str | None,
    requested_at: datetime | None = None,
) -> SyncRequest:
    """Store a request (and its audit entry: ok when a run was queued, failed otherwise)."""
    with transaction(conn):
        request_id = conn.execute(
            "INSERT INTO sync_requests (org_id, realm_id, requested_at, requested_by, run_id,"
            " problem) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (org_id, realm_id, to_text(requested_at or utcnow()), requested_by, run_id, problem),
        ).fetchone()[0]
        audit.record(
            conn,
            "sync requested",
            audit.OK if run_id else audit.FAILED,
            org_id=org_id,
            actor=requested_by,
            run_id=run_id,
            problem=problem,
        )
    row = conn.execute("SELECT * FROM sync_requests WHERE id = ?", (request_id,)).fetchone()
    return _request(row)


def latest(conn: Connection, org_id: int) -> SyncRequest | None:
    row = conn.execute(
        "SELECT * FROM sync_requests WHERE org_id = ? ORDER BY id DESC LIMIT 1", (org_id,)
    ).fetchone()
    return _request(row) if row is not None else None


def activity(request: SyncRequest | None, run: SyncRun | None) -> SyncActivity:
    """What the latest request and the latest run say together (see the module docstring)."""
    if request is not None and (run is None or run.started_at < request.requested_at):
        return SyncActivity(QUEUED if request.submitted else NOT_SUBMITTED, request, run)
    if run is not None:
        return SyncActivity(run.status, request, run)
    return SyncActivity(IDLE, request, None)


__all__ = [
    "BUSY_STATES",
    "IDLE",
    "NOT_SUBMITTED",
    "QUEUED",
    "SyncActivity",
    "SyncBusy",
    "SyncRequest",
    "activity",
    "latest",
    "record",
]
