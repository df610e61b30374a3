"""The audit log: one row for every integration action, allowed, refused or failed.

Callers pass only non-secret details (slugs, emails, realm ids, company names, reasons);
tokens, codes and passwords never reach this module.
"""

from __future__ import annotations

import json
from typing import Any

from qb_pipeline.connections.db import Connection, from_text, to_text, utcnow
from qb_pipeline.connections.results import AuditEntry

OK, REFUSED, FAILED, FORBIDDEN = "ok", "refused", "failed", "forbidden"
SYSTEM_ACTOR = "system"


def record(
    conn: Connection,
    action: str,
    outcome: str,
    *,
    org_id: int | None,
    actor: str | None,
    **detail: Any,
) -> None:
    conn.execute(
        "INSERT INTO audit_log (at, org_id, actor, action, detail, outcome)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (to_text(utcnow()), org_id, actor, action, json.dumps(detail, default=str), outcome),
    )


def entries(conn: Connection, org_id: int | None = None, limit: int = 100) -> list[AuditEntry]:
    """The newest entries first, of one organization or of all."""
    sql = (
        "SELECT a.id, a.at, o.slug, a.actor, a.action, a.detail, a.outcome"
        " FROM audit_log a LEFT JOIN organizations o ON o.id = a.org_id"
    )
    params: tuple = ()
    if org_id is not None:
        sql += " WHERE a.org_id = ?"
        params = (org_id,)
    sql += " ORDER BY a.id DESC LIMIT ?"
    rows = conn.execute(sql, (*params, limit)).fetchall()
    return [
        AuditEntry(
            id=row["id"],
            at=from_text(row["at"]),
            org_slug=row["slug"],
            actor=row["actor"],
            action=row["action"],
            detail=json.loads(row["detail"]),
            outcome=row["outcome"],
        )
        for row in rows
    ]
