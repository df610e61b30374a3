"""The moments an organization's automatic sync is due, from its integration settings.

Plain date arithmetic without Dagster, so the CLI can show the next sync cheaply; the sync
sensor (schedules.py) uses the same functions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from qb_pipeline.connections import IntegrationSettings


def latest_slot(settings: IntegrationSettings, now: datetime) -> datetime | None:
    """The latest scheduled moment at or before `now` (aware), in UTC; None if never scheduled.

    Wall-clock times that a DST change skips or repeats resolve as Python's zoneinfo does
    (fold=0): a skipped 02:30 runs at 03:30, a repeated 01:30 runs the first time.
    """
    if not settings.auto_sync or settings.frequency == "manual":
        return None
    zone = ZoneInfo(settings.timezone)
    hour, minute = (int(part) for part in settings.local_time.split(":"))
    local_now = now.astimezone(zone)
    if settings.frequency == "hourly":
        slot = local_now.replace(minute=minute, second=0, microsecond=0)
        if slot > local_now:
            slot -= timedelta(hours=1)
        return slot.astimezone(UTC)
    if settings.frequency == "nightly":
        day = local_now.date()
        slot = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        if slot.astimezone(UTC) > now:
            day -= timedelta(days=1)
            slot = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        return slot.astimezone(UTC)
    raise ValueError(f"unknown sync frequency {settings.frequency!r}")


def next_slot(settings: IntegrationSettings, now: datetime) -> datetime | None:
    """The first scheduled moment after `now`, in UTC; None if never scheduled."""
    period = timedelta(hours=1) if settings.frequency == "hourly" else timedelta(days=1)
    # Two periods ahead covers days that DST makes 23 or 25 hours long.
    for step in (period, 2 * period):
        slot = latest_slot(settings, now + step)
        if slot is not None and slot > now:
            return slot
    return None


def run_key(org_slug: str, slot: datetime) -> str:
    """The sensor's run key for one slot of one organization (idempotent requests)."""
    return f"{org_slug}:{slot.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')}"
