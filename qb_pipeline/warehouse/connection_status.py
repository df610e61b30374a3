"""The connection status of every organization, copied from the control DB into the warehouse.

The control DB (SQLite) is the source of truth; BI tools only see the warehouse, so the
pipeline copies each organization's connection into `qbo.connection_status`, which the view
`marts.connection_status` exposes. Organizations that never connected (`not_connected`)
have no QuickBooks company and are left out; the statuses that remain are the contract's
`connected`, `disconnected`, `reauthorization_required` and `error`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from qb_pipeline.connections.results import CONNECTION_STATES, NOT_CONNECTED, ConnectionStatus
from qb_pipeline.warehouse.model_files import model
from qb_pipeline.warehouse.transform import Connection, relation_name, run_model

TABLE = "qbo.connection_status"
COLUMNS: tuple[str, ...] = (
    "org_id",
    "realm_id",
    "company_name",
    "status",
    "connected_at",
    "last_sync_at",
    "last_sync_status",
    "datasets_available",
)


def connection_status_row(status: ConnectionStatus) -> dict[str, Any] | None:
    """The warehouse row of one organization's status; None for `not_connected`."""
    if status.status == NOT_CONNECTED:
        return None
    last = status.last_sync
    names = sorted(d.name for d in status.datasets_available)
    return {
        "org_id": status.org_slug,
        "realm_id": status.realm_id,
        "company_name": status.company_name,
        "status": status.status,
        "connected_at": status.connected_at,
        "last_sync_at": (last.finished_at or last.started_at) if last else None,
        "last_sync_status": last.status if last else None,
        "datasets_available": ", ".join(names) or None,
    }


def write_connection_status(
    con: Connection, rows: Iterable[ConnectionStatus | Mapping[str, Any]]
) -> int:
    """Replace the table's contents with `rows` (ConnectionStatus objects from
    IntegrationService.status, or mappings with the COLUMNS keys) in one transaction;
    returns the rows written. `not_connected` organizations are skipped."""
    values: list[tuple] = []
    for item in rows:
        row = connection_status_row(item) if isinstance(item, ConnectionStatus) else dict(item)
        if row is None or row.get("status") == NOT_CONNECTED:
            continue
        if row.get("status") not in CONNECTION_STATES:
            raise ValueError(
                f"connection status {row.get('status')!r} of {row.get('org_id')!r} is not one "
                f"of {', '.join(CONNECTION_STATES)}"
            )
        values.append(tuple(row.get(column) for column in COLUMNS))
    run_model(con, model(TABLE))
    table = relation_name(con, TABLE)
    placeholders = ", ".join("?" for _ in COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {table}")
        if values:
            con.executemany(
                f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({placeholders})", values
            )
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return len(values)
