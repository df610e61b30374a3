"""The connection sensor: what happens to an organization's QuickBooks connection drives runs.

Each evaluation reads every organization's connection from the control DB and compares it with
what the previous evaluation saw (the cursor: per organization, the status and the moments it
was connected and disconnected). A difference is a change, handled exactly once:

- connected (first time, or again after a disconnect or a lost authorization): the
  organization's partition is added if missing and a `quickbooks_sync` run is requested, a full
  first sync that computes the goals too (and so clears their stale flag);
- disconnected, or `reauthorization_required`: a `goals_refresh` run is requested, whose goal
  step keeps the last values and flags them stale with the reason. The nightly schedule
  (schedules.py) already skips organizations that are not connected.

Each request's run key names the organization, the change, its moment and its number among the
organization's changes (`acme:connected:2026-11-16T01:00:00+00:00:1`): unique per change even
when two happen within the second the control DB records, and the same again if a lost cursor
makes the sensor see its first change anew (the daemon drops run keys it has seen).

A connection whose previous sync is still queued or running waits for the next evaluation (the
change stays unhandled in the cursor); one that a sync already covered (a `qb-pipeline sync`
right after connecting) gets no second sync.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from qb_pipeline.connections import ConnectionStatus
from qb_pipeline.connections.models import CONNECTED, DISCONNECTED, REAUTHORIZATION_REQUIRED
from qb_pipeline.defs.goals.jobs import goals_refresh_job
from qb_pipeline.defs.quickbooks.jobs import quickbooks_sync_job
from qb_pipeline.defs.quickbooks.partitions import ORGANIZATIONS, organizations
from qb_pipeline.defs.quickbooks.resources import QuickBooksIntegration
from qb_pipeline.defs.quickbooks.schedules import TRIGGER_TAG, sync_in_progress
from qb_pipeline.defs.quickbooks.sensor_interval import sensor_interval_seconds

SENSOR_NAME = "quickbooks_connection_changes"
CHANGE_TAG = "qbp/connection_change"
TRIGGER = "connection"

# The changes, as they appear in run keys, tags and logs.
CONNECTED_CHANGE = "connected"
RECONNECTED_CHANGE = "reconnected"
STALE_STATES = (DISCONNECTED, REAUTHORIZATION_REQUIRED)

# A sync in one of these states covers a connection made before it started.
COVERING_SYNC_STATES = ("running", "succeeded", "partial")


@dataclass(frozen=True)
class Seen:
    """What the sensor remembers of one organization's connection."""

    status: str
    connected_at: str | None
    disconnected_at: str | None
    changes: int = 0  # changes handled so far; numbers the run keys

    @classmethod
    def of(cls, current: ConnectionStatus, changes: int) -> Seen:
        return cls(
            current.status,
            current.connected_at.isoformat() if current.connected_at else None,
            current.disconnected_at.isoformat() if current.disconnected_at else None,
            changes,
        )


@dataclass(frozen=True)
class Change:
    """One change of one organization's connection, and the run it calls for."""

    org_slug: str
    kind: str  # connected, reconnected, disconnected or reauthorization_required
    moment: str  # when it happened, as stored; part of the run key
    number: int = 1  # its number among the organization's changes

    @property
    def wants_sync(self) -> bool:
        return self.kind in (CONNECTED_CHANGE, RECONNECTED_CHANGE)

    @property
    def job_name(self) -> str:
        return quickbooks_sync_job.name if self.wants_sync else goals_refresh_job.name

    @property
    def run_key(self) -> str:
        return f"{self.org_slug}:{self.kind}:{self.moment}:{self.number}"


def detect(org_slug: str, before: Seen | None, now: Seen) -> Change | None:
    """The change from `before` (None: never seen) to `now`, or None when nothing happened
    that calls for a run."""
    change = _change(org_slug, before, now)
    if change is None:
        return None
    return Change(
        change.org_slug, change.kind, change.moment, (before.changes if before else 0) + 1
    )


def _change(org_slug: str, before: Seen | None, now: Seen) -> Change | None:
    if now.status == CONNECTED:
        moment = now.connected_at or "unknown"
        if before is None or before.status not in (CONNECTED, *STALE_STATES):
            return Change(org_slug, CONNECTED_CHANGE, moment)
        if before.status != CONNECTED or before.connected_at != now.connected_at:
            # Disconnected (or lost its authorization) and connected again since.
            return Change(org_slug, RECONNECTED_CHANGE, moment)
        return None
    if now.status in STALE_STATES:
        # A disconnect has its own moment; a lost authorization belongs to the connection
        # that lost it (the next connect sets a new connected_at).
        moment = _stale_moment(now)
        if before is None or before.status != now.status or _stale_moment(before) != moment:
            return Change(org_slug, now.status, moment or "unknown")
    return None  # not connected yet, in error, or unchanged


def _stale_moment(seen: Seen) -> str | None:
    return seen.disconnected_at if seen.status == DISCONNECTED else seen.connected_at


def synced_since_connected(current: ConnectionStatus) -> bool:
    """Whether a sync started after the connection was made (and did not fail)."""
    last = current.last_sync
    return (
        last is not None
        and current.connected_at is not None
        and last.started_at >= current.connected_at
        and last.status in COVERING_SYNC_STATES
    )


def read_cursor(cursor: str | None) -> dict[str, Seen]:
    """The connections seen by the previous evaluation (none for a missing or unreadable
    cursor: every organization is then seen for the first time)."""
    if not cursor:
        return {}
    try:
        return {slug: Seen(**seen) for slug, seen in json.loads(cursor)["orgs"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def write_cursor(seen: dict[str, Seen]) -> str:
    return json.dumps({"orgs": {slug: asdict(s) for slug, s in sorted(seen.items())}})


def build_connection_sensor(
    name: str = SENSOR_NAME, minimum_interval_seconds: int | None = None
) -> SensorDefinition:
    """The connection sensor, evaluated every $QBP_SENSOR_INTERVAL_SECONDS by default."""

    @sensor(
        name=name,
        jobs=[quickbooks_sync_job, goals_refresh_job],
        minimum_interval_seconds=minimum_interval_seconds or sensor_interval_seconds(),
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Reacts to each organization's QuickBooks connection: a new connection or a "
            "reconnect requests a quickbooks_sync run (partition added if missing); a "
            "disconnect or lost authorization requests a goals_refresh run that flags the "
            "goals stale with the reason. Each change is handled once."
        ),
    )
    def quickbooks_connection_changes(
        context: SensorEvaluationContext, quickbooks: QuickBooksIntegration
    ) -> SensorResult:
        before = read_cursor(context.cursor)
        service = quickbooks.service()
        known = set(context.instance.get_dynamic_partitions(ORGANIZATIONS))
        seen: dict[str, Seen] = {}
        requests: list[RunRequest] = []
        new_partitions: list[str] = []
        for org in service.list_orgs():
            current = service.status(org.slug)
            previous = before.get(org.slug)
            seen[org.slug] = Seen.of(current, previous.changes if previous else 0)
            change = detect(org.slug, previous, seen[org.slug])
            if change is None:
                continue
            seen[org.slug] = Seen.of(current, change.number)
            if change.wants_sync and sync_in_progress(context.instance, org.slug):
                context.log.info(
                    f"{org.slug} {change.kind}: its previous sync is still queued or running; "
                    "the sync is requested once that one ends"
                )
                _keep_unhandled(seen, before, org.slug)
                continue
            if change.wants_sync and synced_since_connected(current):
                context.log.info(f"{org.slug} {change.kind}: a sync already ran since; none more")
                continue
            if org.slug not in known:
                new_partitions.append(org.slug)
            requests.append(
                RunRequest(
                    run_key=change.run_key,
                    job_name=change.job_name,
                    partition_key=org.slug,
                    tags={TRIGGER_TAG: TRIGGER, CHANGE_TAG: change.kind},
                )
            )
            context.log.info(f"{org.slug} {change.kind}: {change.job_name} requested")
        return SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=(
                [organizations.build_add_request(new_partitions)] if new_partitions else []
            ),
            cursor=write_cursor(seen),
        )

    return quickbooks_connection_changes


def _keep_unhandled(seen: dict[str, Seen], before: dict[str, Seen], org_slug: str) -> None:
    """Leave the organization as the previous evaluation saw it, so the change comes again."""
    if org_slug in before:
        seen[org_slug] = before[org_slug]
    else:
        del seen[org_slug]


quickbooks_connection_changes = build_connection_sensor()
