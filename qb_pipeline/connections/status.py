"""The connection status of an organization, as the integration page and `status` show it."""

from __future__ import annotations

from qb_pipeline.connections import integration_settings, sync_log
from qb_pipeline.connections.db import Connection, from_text
from qb_pipeline.connections.results import (
    NOT_CONNECTED,
    ConnectionStatus,
    Organization,
    SyncRun,
)

# The newest sync after which the company's data in the warehouse was new, which freshness is
# measured from: `succeeded` is recorded only once the serving copy is published (the sync's
# last step), `partial` imported and built everything but could not publish it. A sync that
# failed (or was killed: "interrupted") does not count, even if its raw load had landed; the
# freshness checks also count the raw tables' last materialization, so such an import is not
# ignored (defs/quickbooks/checks/freshness.py).
LAST_SUCCESS_SQL = """
SELECT *
FROM sync_runs
WHERE org_id = ?
  AND (? IS NULL OR realm_id = ?)
  AND status IN ('succeeded', 'partial')
  AND finished_at IS NOT NULL
ORDER BY finished_at DESC, id DESC
LIMIT 1
"""


def last_success(conn: Connection, org_id: int, realm_id: str | None) -> SyncRun | None:
    """The newest finished sync of the organization's company that imported data (succeeded
    or partial); None before the first one."""
    row = conn.execute(LAST_SUCCESS_SQL, (org_id, realm_id, realm_id)).fetchone()
    # sync_log turns its rows into SyncRun; the query lives here, next to the status it feeds.
    return sync_log._run(row) if row is not None else None


def read_status(conn: Connection, org: Organization) -> ConnectionStatus:
    settings = integration_settings.read(conn, org.id)
    row = conn.execute(
        "SELECT c.*, cu.email AS connected_by_email, du.email AS disconnected_by_email"
        " FROM quickbooks_connections c"
        " LEFT JOIN users cu ON cu.id = c.connected_by"
        " LEFT JOIN users du ON du.id = c.disconnected_by"
        " WHERE c.org_id = ?",
        (org.id,),
    ).fetchone()
    if row is None:
        return ConnectionStatus(
            org_slug=org.slug,
            org_name=org.name,
            status=NOT_CONNECTED,
            last_sync=sync_log.last_run(conn, org.id, None),
            last_success=last_success(conn, org.id, None),
            settings=settings,
        )
    realm_id = row["realm_id"]
    return ConnectionStatus(
        org_slug=org.slug,
        org_name=org.name,
        status=row["status"],
        status_reason=row["status_reason"],
        realm_id=realm_id,
        company_name=row["company_name"],
        connected_at=from_text(row["connected_at"]),
        connected_by=row["connected_by_email"],
        disconnected_at=from_text(row["disconnected_at"]),
        disconnected_by=row["disconnected_by_email"],
        access_expires_at=from_text(row["access_expires_at"]),
        refresh_expires_at=from_text(row["refresh_expires_at"]),
        refresh_hard_expires_at=from_text(row["refresh_hard_expires_at"]),
        last_refreshed_at=from_text(row["last_refreshed_at"]),
        last_sync=sync_log.last_run(conn, org.id, realm_id),
        last_success=last_success(conn, org.id, realm_id),
        datasets_available=sync_log.datasets(conn, org.id, realm_id),
        settings=settings,
    )
