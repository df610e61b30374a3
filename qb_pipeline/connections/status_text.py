"""A connection's status as terminal text: the same details as the integration page."""

from __future__ import annotations

from datetime import datetime

from qb_pipeline.connections.results import ConnectionStatus


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "-"


def status_lines(current: ConnectionStatus) -> list[str]:
    """Aligned `label: value` lines describing `current`."""
    lines = [("Organization", f"{current.org_name} ({current.org_slug})")]
    lines.append(("QuickBooks", current.status.replace("_", " ")))
    if current.status_reason:
        lines.append(("Reason", current.status_reason))
    if current.realm_id:
        lines.append(("Company", f"{current.company_name} (realm {current.realm_id})"))
    if current.connected_at:
        lines.append(("Connected", f"{_when(current.connected_at)} by {current.connected_by}"))
    if current.disconnected_at:
        by = current.disconnected_by
        lines.append(("Disconnected", f"{_when(current.disconnected_at)} by {by}"))
    if current.refresh_expires_at or current.refresh_hard_expires_at:
        lines.append(("Access token until", _when(current.access_expires_at)))
        lines.append(
            (
                "Refresh token until",
                f"{_when(current.refresh_expires_at)} (rolling), "
                f"{_when(current.refresh_hard_expires_at)} at the latest",
            )
        )
    sync = current.last_sync
    if sync is None:
        lines.append(("Last sync", "never"))
    elif sync.status == "failed":
        # Read as one sentence: "Last sync failed: <reason> (<when>)".
        reason = sync.message or "no reason recorded"
        lines.append(
            ("Last sync failed", f"{reason} ({_when(sync.finished_at or sync.started_at)})")
        )
    else:
        text = f"{_when(sync.finished_at or sync.started_at)} {sync.status}"
        lines.append(("Last sync", text + (f": {sync.message}" if sync.message else "")))
    datasets = ", ".join(
        d.name if d.row_count is None else f"{d.name} ({d.row_count} rows)"
        for d in current.datasets_available
    )
    lines.append(("Data available", datasets or "none yet"))
    s = current.settings
    lines.append(
        (
            "Sync settings",
            f"{'automatic' if s.auto_sync else 'manual only'}, {s.frequency} at {s.local_time} "
            f"{s.timezone}, {s.history_years} years of history",
        )
    )
    width = max(len(label) for label, _ in lines) + 1
    return [f"{label + ':':<{width}} {value}" for label, value in lines]
