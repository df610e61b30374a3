"""Each organization's integration settings: automatic sync, frequency, time, history."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from qb_pipeline.connections import audit
from qb_pipeline.connections.db import Connection, from_text, to_text, transaction, utcnow
from qb_pipeline.connections.errors import InvalidInput
from qb_pipeline.connections.results import FREQUENCIES, IntegrationSettings, Membership

LOCAL_TIME_PATTERN = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
MAX_HISTORY_YEARS = 20
FIELDS = ("auto_sync", "frequency", "local_time", "timezone", "history_years")


def read(conn: Connection, org_id: int) -> IntegrationSettings:
    row = conn.execute(
        "SELECT s.*, u.email AS updated_by_email FROM integration_settings s"
        " LEFT JOIN users u ON u.id = s.updated_by WHERE s.org_id = ?",
        (org_id,),
    ).fetchone()
    if row is None:
        return IntegrationSettings()
    return IntegrationSettings(
        auto_sync=bool(row["auto_sync"]),
        frequency=row["frequency"],
        local_time=row["local_time"],
        timezone=row["timezone"],
        history_years=row["history_years"],
        updated_at=from_text(row["updated_at"]),
        updated_by=row["updated_by_email"],
    )


def validate(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes, checked and normalized; InvalidInput names the field and what is allowed."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise InvalidInput(
            f"unknown integration setting {', '.join(unknown)}; known: {', '.join(FIELDS)}"
        )
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "auto_sync":
            if isinstance(value, str) and value.lower() in ("true", "false", "on", "off"):
                value = value.lower() in ("true", "on")
            if not isinstance(value, bool):
                raise InvalidInput(f"auto_sync must be true or false, not {value!r}")
        elif name == "frequency":
            if value not in FREQUENCIES:
                raise InvalidInput(f"frequency {value!r} is not one of {', '.join(FREQUENCIES)}")
        elif name == "local_time":
            if not isinstance(value, str) or not LOCAL_TIME_PATTERN.fullmatch(value):
                raise InvalidInput(f"local_time {value!r} must be a time as HH:MM (00:00-23:59)")
        elif name == "timezone":
            try:
                ZoneInfo(str(value))
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidInput(
                    f"timezone {value!r} is not an IANA time zone such as UTC or Europe/Paris"
                ) from None
        elif name == "history_years":
            try:
                value = int(value)
            except (TypeError, ValueError):
                value = None
            if value is None or not 1 <= value <= MAX_HISTORY_YEARS:
                raise InvalidInput(
                    f"history_years {changes[name]!r} must be a whole number from 1 to "
                    f"{MAX_HISTORY_YEARS}"
                )
        clean[name] = value
    return clean


def update(conn: Connection, member: Membership, changes: dict[str, Any]) -> IntegrationSettings:
    clean = validate(changes)
    org_id = member.organization.id
    with transaction(conn):
        before = read(conn, org_id)
        if clean:
            assignments = ", ".join(f"{name} = ?" for name in clean)
            conn.execute(
                f"UPDATE integration_settings SET {assignments}, updated_at = ?, updated_by = ?"
                " WHERE org_id = ?",
                (*clean.values(), to_text(utcnow()), member.user.id, org_id),
            )
        changed = {
            name: {"from": getattr(before, name), "to": value}
            for name, value in clean.items()
            if getattr(before, name) != value
        }
        audit.record(
            conn, "settings changed", audit.OK, org_id=org_id, actor=member.email, changes=changed
        )
    return read(conn, org_id)
