"""The sync log and the datasets imported per company; the pipeline (issue 4) writes both."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from qb_pipeline.connections.db import from_text, to_text, transaction, utcnow
from qb_pipeline.connections.errors import InvalidInput
from qb_pipeline.connections.models import Dataset, SyncRun

SYNC_STATUSES = ("running", "succeeded", "failed", "partial", "cancelled")


def _run(row: sqlite3.Row) -> SyncRun:
    return SyncRun(
        id=row["id"],
        realm_id=row["realm_id"],
        started_at=from_text(row["started_at"]),
        finished_at=from_text(row["finished_at"]),
        status=row["status"],
        message=row["message"],
        rows=json.loads(row["rows_json"]) if row["rows_json"] else {},
        requests=row["requests"],
    )


def record(
    conn: sqlite3.Connection,
    org_id: int,
    realm_id: str | None,
    started_at: datetime,
    finished_at: datetime | None,
    status: str,
    message: str | None,
    rows: dict[str, int] | None,
    requests: int | None,
    run_id: int | None = None,
) -> SyncRun:
    """Insert a sync run, or update run `run_id` (start a run as `running`, finish it later)."""
    if status not in SYNC_STATUSES:
        raise InvalidInput(f"sync status {status!r} is not one of {', '.join(SYNC_STATUSES)}")
    values = (
        realm_id,
        to_text(started_at),
        to_text(finished_at),
        status,
        message,
        json.dumps(rows or {}, sort_keys=True),
        requests,
    )
    with transaction(conn):
        if run_id is None:
            run_id = conn.execute(
                "INSERT INTO sync_runs (realm_id, started_at, finished_at, status, message,"
                " rows_json, requests, org_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, org_id),
            ).lastrowid
        else:
            updated = conn.execute(
                "UPDATE sync_runs SET realm_id = ?, started_at = ?, finished_at = ?, status = ?,"
                " message = ?, rows_json = ?, requests = ? WHERE id = ? AND org_id = ?",
                (*values, run_id, org_id),
            ).rowcount
            if updated != 1:
                raise InvalidInput(f"no sync run {run_id} in this organization")
    row = conn.execute("SELECT * FROM sync_runs WHERE id = ?", (run_id,)).fetchone()
    return _run(row)


def last_run(conn: sqlite3.Connection, org_id: int, realm_id: str | None) -> SyncRun | None:
    """The newest run of the organization for `realm_id` (or runs that never knew a realm)."""
    if realm_id is None:
        row = conn.execute(
            "SELECT * FROM sync_runs WHERE org_id = ? ORDER BY started_at DESC, id DESC LIMIT 1",
            (org_id,),
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT * FROM sync_runs WHERE org_id = ? AND (realm_id = ? OR realm_id IS NULL)"
            " ORDER BY started_at DESC, id DESC LIMIT 1",
            (org_id, realm_id),
        ).fetchone()
    return _run(row) if row else None


def record_datasets(
    conn: sqlite3.Connection, org_id: int, realm_id: str, row_counts: dict[str, int | None]
) -> None:
    now = to_text(utcnow())
    with transaction(conn):
        for name, count in row_counts.items():
            conn.execute(
                "INSERT INTO datasets (org_id, realm_id, name, row_count, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id, realm_id, name)"
                " DO UPDATE SET row_count = excluded.row_count, updated_at = excluded.updated_at",
                (org_id, realm_id, name, count, now),
            )


def datasets(conn: sqlite3.Connection, org_id: int, realm_id: str) -> list[Dataset]:
    rows = conn.execute(
        "SELECT name, row_count, updated_at FROM datasets WHERE org_id = ? AND realm_id = ?"
        " ORDER BY name",
        (org_id, realm_id),
    ).fetchall()
    return [Dataset(r["name"], r["row_count"], from_text(r["updated_at"])) for r in rows]


def recent_runs(conn: sqlite3.Connection, org_id: int, limit: int = 10) -> list[SyncRun]:
    """The organization's newest `limit` sync runs (every company), newest first."""
    rows = conn.execute(
        "SELECT * FROM sync_runs WHERE org_id = ? ORDER BY started_at DESC, id DESC LIMIT ?",
        (org_id, limit),
    ).fetchall()
    return [_run(row) for row in rows]
