"""The sync log: one entry per sync in the control DB, and the datasets imported per company.

The store half (record, last_run, recent_runs, datasets) is plain SQL on the control DB; the
integration service uses it. The entry half follows one sync across the steps of its Dagster
run. The raw step opens the entry (`running`) and writes the rows and requests into it after the
load (still `running`: the data is imported, not yet modelled nor published). The entry says
`succeeded` only once everything a sync promises is done: the serving copy is published, the
last step of the job. A run that selects fewer assets is closed by its last finishing step
instead (`closes_here`). A failing step closes the entry as `failed` with its message
(defs/step_failures.py; `partial` when only the publication failed: the data is imported but BI
tools still see the previous copy); a run whose process was killed is closed as `failed`
("interrupted") when it is found (defs/abandoned_runs.py), so no entry stays `running` for good.

Steps may run in different processes, so the entry's id travels as tags of the Dagster run; the
rows and requests are also in the raw step's materializations' metadata, which a re-execution of
a failed run reads when the entry moved on.

Dagster is imported only where a Dagster run is read: the web app loads this module through the
integration service and must not pay for importing Dagster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from qb_pipeline.connections.db import Connection, Row, from_text, to_text, transaction, utcnow
from qb_pipeline.connections.errors import InvalidInput
from qb_pipeline.connections.results import Dataset, SyncRun

if TYPE_CHECKING:
    from dagster import AssetExecutionContext, AssetKey, DagsterInstance

    from qb_pipeline.connections.service import IntegrationService

SYNC_STATUSES = ("running", "succeeded", "failed", "partial", "cancelled")

SYNC_RUN_TAG = "qbp/sync_run_id"
SYNC_STARTED_TAG = "qbp/sync_started_at"
REALM_TAG = "qbp/realm_id"

# The asset paths of the steps that may record a sync as succeeded, the one the whole job ends
# with first (defs/keys.py: SERVING_WAREHOUSE, CONNECTION_STATUS).
SERVING_PATH = ("serving", "warehouse")
FINISHING_PATH = ("qbo", "connection_status")

# Metadata keys of the raw step's materializations that the sync log reads back.
ROWS_LOADED = "rows_loaded"
REQUESTS = "qbo/requests"


def _run(row: Row) -> SyncRun:
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
    conn: Connection,
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
                " rows_json, requests, org_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (*values, org_id),
            ).fetchone()[0]
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


def last_run(conn: Connection, org_id: int, realm_id: str | None) -> SyncRun | None:
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
    conn: Connection, org_id: int, realm_id: str, row_counts: dict[str, int | None]
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


def datasets(conn: Connection, org_id: int, realm_id: str) -> list[Dataset]:
    rows = conn.execute(
        "SELECT name, row_count, updated_at FROM datasets WHERE org_id = ? AND realm_id = ?"
        " ORDER BY name",
        (org_id, realm_id),
    ).fetchall()
    return [Dataset(r["name"], r["row_count"], from_text(r["updated_at"])) for r in rows]


def recent_runs(conn: Connection, org_id: int, limit: int = 10) -> list[SyncRun]:
    """The organization's newest `limit` sync runs (every company), newest first."""
    rows = conn.execute(
        "SELECT * FROM sync_runs WHERE org_id = ? ORDER BY started_at DESC, id DESC LIMIT ?",
        (org_id, limit),
    ).fetchall()
    return [_run(row) for row in rows]


@dataclass(frozen=True)
class SyncEntry:
    """The control DB's sync run being written by this Dagster run."""

    id: int
    org_slug: str
    realm_id: str
    started_at: datetime


def open_entry(
    context: AssetExecutionContext,
    service: IntegrationService,
    org_slug: str,
    realm_id: str,
    started_at: datetime,
) -> SyncEntry:
    """Record a `running` sync and remember it on the Dagster run (close an abandoned entry
    first: defs/abandoned_runs.close_abandoned_entry)."""
    run = service.record_sync(org_slug, realm_id, started_at, None, "running")
    context.instance.add_run_tags(
        context.run.run_id,
        {
            SYNC_RUN_TAG: str(run.id),
            SYNC_STARTED_TAG: started_at.isoformat(),
            REALM_TAG: realm_id,
        },
    )
    return SyncEntry(run.id, org_slug, realm_id, started_at)


def closes_here(context: AssetExecutionContext, key: AssetKey) -> bool:
    """Whether the step materializing `key` records this run's sync as succeeded: the serving
    copy's when the run publishes one (the whole job does), else qbo/connection_status's, else
    the raw step's (a UI materialization of some raw tables)."""
    selection = context.run.asset_selection
    path = tuple(key.path)
    selected = {tuple(asset_key.path) for asset_key in selection or ()}
    if not selected:  # the whole job (a job run records an empty selection, not None)
        return path == SERVING_PATH
    for closing in (SERVING_PATH, FINISHING_PATH):
        if closing in selected:
            return path == closing
    return path[0] == "qbo_raw"


def current_entry(context: AssetExecutionContext) -> SyncEntry | None:
    """The entry this run (or the run it re-executes) opened; None for runs without a raw
    step (a UI materialization of the marts alone records no sync)."""
    for run_id in _lineage(context.instance, context.run.run_id):
        run = context.instance.get_run_by_id(run_id)
        if run is not None and SYNC_RUN_TAG in run.tags:
            return SyncEntry(
                int(run.tags[SYNC_RUN_TAG]),
                context.partition_key,
                run.tags[REALM_TAG],
                datetime.fromisoformat(run.tags[SYNC_STARTED_TAG]),
            )
    return None


def entry_figures(
    context: AssetExecutionContext, service: IntegrationService, entry: SyncEntry
) -> tuple[dict[str, int], int | None]:
    """Rows per table and requests of the sync: as the raw step recorded them in the control
    DB (child tables included), or else from its materializations."""
    last = service.status(entry.org_slug).last_sync
    if last is not None and last.id == entry.id and last.requests is not None:
        return dict(last.rows), last.requests
    return raw_figures(context.instance, context.run.run_id)


def raw_figures(instance: DagsterInstance, run_id: str) -> tuple[dict[str, int], int | None]:
    """Rows loaded per raw table and requests made, from the raw step's materializations in
    this run or the run it re-executes."""
    from dagster import DagsterEventType

    for candidate in _lineage(instance, run_id):
        rows: dict[str, int] = {}
        requests = None
        records = instance.get_records_for_run(
            candidate, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ).records
        for record in records:
            materialization = record.event_log_entry.asset_materialization
            if materialization is None or materialization.asset_key.path[0] != "qbo_raw":
                continue
            metadata = materialization.metadata
            table = materialization.asset_key.path[-1]
            if ROWS_LOADED in metadata:
                rows[table] = int(metadata[ROWS_LOADED].value)
            if REQUESTS in metadata:
                requests = int(metadata[REQUESTS].value)
        if rows or requests is not None:
            return rows, requests
    return {}, None


def close_entry(
    service: IntegrationService,
    entry: SyncEntry,
    status: str,
    message: str | None = None,
    rows: dict[str, int] | None = None,
    requests: int | None = None,
    finished_at: datetime | None = None,
) -> None:
    """Update the entry (`running` keeps it open; any other status finishes it, at
    `finished_at` or now)."""
    service.record_sync(
        entry.org_slug,
        entry.realm_id,
        entry.started_at,
        None if status == "running" else (finished_at or utcnow()),
        status,
        message=message,
        rows=rows,
        requests=requests,
        run_id=entry.id,
    )


def record_refusal(
    service: IntegrationService, org_slug: str, realm_id: str | None, message: str
) -> None:
    """A sync that stopped before it began (not connected, warehouse busy): one finished
    entry, no rows, no requests."""
    now = utcnow()
    service.record_sync(org_slug, realm_id, now, now, "failed", message=message, requests=0)


def _lineage(instance: DagsterInstance, run_id: str) -> list[str]:
    """The run and the runs it re-executes, newest first."""
    chain = []
    current: str | None = run_id
    while current is not None and current not in chain:
        chain.append(current)
        run = instance.get_run_by_id(current)
        current = run.parent_run_id if run is not None else None
    return chain
