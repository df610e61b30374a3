"""The connection sensor: each change of an organization's QuickBooks connection, handled once.

Every change of a connection is an event in the control DB's event log (connections/events.py),
written in the change's own transaction, with an id that only grows in commit order. The
sensor's cursor is the id of the last event it handled; each evaluation reads the connection
events after it (`IntegrationService.events_after`, kinds `events.CONNECTION_KINDS`) and turns
them into runs:

- `connected` (the first connection, or one after a disconnect or a lost authorization): the
  organization's partition is added if missing and a `quickbooks_sync` run is requested, a full
  sync that computes the goals too (and so clears their stale flag); tagged `connected`, or
  `reconnected` when the connection had been ended or had lost its authorization;
- `disconnected`, `reauthorization_required`: a `goals_refresh` run, whose goal step keeps the
  last values and flags them stale with the reason. The nightly schedule (schedules.py) already
  skips organizations that are not connected;
- `reauthorized` (the same company authorized again while connected): nothing; its syncs go on.

So no clock decides what changed: two changes within the same second are two events. Each run
key is `<org>:<change>:<event id>`, unique whatever the clocks, and the daemon drops a run key
it has seen, so even a lost cursor (the log is then read from its start) requests nothing twice.

**Several events of one organization in one evaluation:** only the newest one calls for a run,
the older ones are superseded (and logged): a connect followed by a disconnect only gets the goal
run that flags the values stale (a sync would be refused), a disconnect followed by a reconnect
only the sync (which computes the goals anew).

**A connection while the organization is still syncing** is deferred: its event stays pending in
the cursor and the sync is requested at the first evaluation after that sync ended. (Requesting
at once and letting the run queue's one-run-per-partition limit serialize the two would also
work, but the sensor could then no longer see whether the sync under way, once finished, already
covered the new connection, and the organization would sync twice.) Runs whose process is gone
do not count as syncing (abandoned_runs.py), so a killed sync defers nothing for long.

**Already covered:** a connection gets no sync when a sync of that company started at or after
it (within its second, as the sync log records time) and succeeded (or imported all but the
serving copy: `partial`): a `qb-pipeline sync` run right after connecting. A sync that began
before the connection cannot be mistaken for one that covers it: it found the organization not
connected, and was refused and recorded as failed. (One corner is left to the second's
resolution: a sync of the same company that was running across a disconnect and reconnect made
within its first second, and succeeded with the tokens it already had.)

**Cursor:** `{"last_event_id": N, "pending": {org: change}}`. A missing cursor starts from the
log's beginning (a new sensor; the run keys keep a replay from requesting anything twice). The
cursor of the version before the event log (`{"orgs": {...}}`, each organization's status and
connect/disconnect times) starts after the newest event, and says so in the log: that version
handled every change up to its last evaluation, and replaying the log's older events could
request a second sync or goal run for them (their run keys were of another form). A change made
between that version's last evaluation and the upgrade is therefore not replayed: its
organization syncs at its next nightly slot, and the freshness sensor catches up stale data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from qb_pipeline.connections import ConnectionStatus, events
from qb_pipeline.connections.events import Event
from qb_pipeline.defs.jobs import goals_refresh_job, quickbooks_sync_job
from qb_pipeline.defs.partitions import ORGANIZATIONS, organizations
from qb_pipeline.defs.quickbooks.schedules import TRIGGER_TAG, sync_in_progress
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.defs.sensor_kit import (
    read_cursor_json,
    sensor_interval_seconds,
    write_cursor_json,
)
from qb_pipeline.sync.launcher import realm_tag

SENSOR_NAME = "quickbooks_connection_changes"
CHANGE_TAG = "qbp/connection_change"
EVENT_TAG = "qbp/event_id"
TRIGGER = "connection"

# The changes, as they appear in run keys, tags and logs.
CONNECTED_CHANGE = "connected"
RECONNECTED_CHANGE = "reconnected"
STALE_STATES = (events.DISCONNECTED, events.REAUTHORIZATION_REQUIRED)

# A sync in one of these states covers a connection made before it started. (Not `running`:
# a sync under way defers the connection anyway, and a `running` entry with no live run is a
# killed sync, about to be recorded as failed.)
COVERING_SYNC_STATES = ("succeeded", "partial")
EVENTS_PER_EVALUATION = 1000


@dataclass(frozen=True)
class Change:
    """One change of one organization's connection (an event), and the run it calls for."""

    org_slug: str
    kind: str  # connected, reconnected, disconnected or reauthorization_required
    event_id: int
    at: str  # when it was committed, ISO-8601 (seconds, as the control DB keeps time)
    realm_id: str | None

    @property
    def wants_sync(self) -> bool:
        return self.kind in (CONNECTED_CHANGE, RECONNECTED_CHANGE)

    @property
    def job_name(self) -> str:
        return quickbooks_sync_job.name if self.wants_sync else goals_refresh_job.name

    @property
    def run_key(self) -> str:
        return f"{self.org_slug}:{self.kind}:{self.event_id}"


def change_of(event: Event) -> Change | None:
    """The change an event is, or None for one that calls for no run (tokens renewed)."""
    if event.kind == events.CONNECTED:
        before = event.detail.get("previous_status")
        kind = RECONNECTED_CHANGE if before in STALE_STATES else CONNECTED_CHANGE
    elif event.kind in STALE_STATES:
        kind = event.kind
    else:
        return None
    return Change(event.org_slug, kind, event.id, event.at.isoformat(), event.realm_id)


@dataclass(frozen=True)
class Plan:
    """What one evaluation does with the changes it read."""

    latest: dict[str, Change]  # per organization, the change that calls for a run
    superseded: list[tuple[Change, Change]]  # (older, newer) of the same organization


def plan(pending: dict[str, Change], new_events: list[Event]) -> Plan:
    """The newest change of each organization, pending ones first (they are older)."""
    latest = dict(pending)
    superseded = []
    for event in new_events:
        change = change_of(event)
        if change is None:
            continue
        if change.org_slug in latest:
            superseded.append((latest[change.org_slug], change))
        latest[change.org_slug] = change
    return Plan(latest, superseded)


def covered_by_a_sync(current: ConnectionStatus, change: Change) -> bool:
    """Whether a sync of the connected company started at or after the change and did not
    fail (see the module's docstring)."""
    last = current.last_sync
    return (
        last is not None
        and last.realm_id == change.realm_id
        and last.started_at >= datetime.fromisoformat(change.at)
        and last.status in COVERING_SYNC_STATES
    )


@dataclass(frozen=True)
class Cursor:
    last_event_id: int | None  # None: start after the newest event (an upgraded cursor)
    pending: dict[str, Change]


def read_cursor(cursor: str | None) -> Cursor:
    """The previous evaluation's cursor. Missing: from the log's start. The older per-
    organization cursor, or an unreadable one: after the newest event (last_event_id None)."""
    if not cursor:
        return Cursor(0, {})
    saved = read_cursor_json(cursor)
    if saved is None:
        return Cursor(None, {})
    try:
        pending = {org: Change(**change) for org, change in saved.get("pending", {}).items()}
        return Cursor(int(saved["last_event_id"]), pending)
    except (ValueError, KeyError, TypeError, AttributeError):
        return Cursor(None, {})


def write_cursor(last_event_id: int, pending: dict[str, Change]) -> str:
    return write_cursor_json(
        {
            "last_event_id": last_event_id,
            "pending": {org: asdict(change) for org, change in sorted(pending.items())},
        },
    )


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
            "Reacts to each change of an organization's QuickBooks connection, read from the "
            "control DB's event log: a new connection or a reconnect requests a quickbooks_sync "
            "run (partition added if missing); a disconnect or lost authorization requests a "
            "goals_refresh run that flags the goals stale with the reason. Each change is "
            "handled once."
        ),
    )
    def quickbooks_connection_changes(
        context: SensorEvaluationContext, quickbooks: QuickBooksIntegration
    ) -> SensorResult:
        service = quickbooks.service()
        saved = read_cursor(context.cursor)
        last_id = saved.last_event_id
        if last_id is None:
            last_id = service.last_event_id()
            context.log.info(
                f"Cursor of an earlier version (or unreadable): starting after event {last_id}, "
                "the newest; earlier changes were handled by that version"
            )
        new_events = service.events_after(last_id, events.CONNECTION_KINDS, EVENTS_PER_EVALUATION)
        if new_events:
            last_id = new_events[-1].id
        orgs = {org.slug for org in service.list_orgs()}
        planned = plan({o: c for o, c in saved.pending.items() if o in orgs}, new_events)
        for older, newer in planned.superseded:
            context.log.info(
                f"{older.org_slug} {older.kind} (event {older.event_id}): superseded by "
                f"{newer.kind} (event {newer.event_id}); no run for it"
            )
        known = set(context.instance.get_dynamic_partitions(ORGANIZATIONS))
        requests: list[RunRequest] = []
        new_partitions: list[str] = []
        pending: dict[str, Change] = {}
        for change in sorted(planned.latest.values(), key=lambda c: c.event_id):
            org = change.org_slug
            if change.wants_sync:
                if sync_in_progress(context.instance, org):
                    context.log.info(
                        f"{org} {change.kind} (event {change.event_id}): its previous sync is "
                        "still queued or running; the sync is requested once that one ends"
                    )
                    pending[org] = change
                    continue
                if covered_by_a_sync(service.status(org), change):
                    context.log.info(
                        f"{org} {change.kind} (event {change.event_id}): a sync already ran "
                        "since; none more"
                    )
                    continue
            if org not in known and org not in new_partitions:
                new_partitions.append(org)
            requests.append(
                RunRequest(
                    run_key=change.run_key,
                    job_name=change.job_name,
                    partition_key=org,
                    tags={
                        TRIGGER_TAG: TRIGGER,
                        CHANGE_TAG: change.kind,
                        EVENT_TAG: str(change.event_id),
                        **(
                            realm_tag(service.status(org).realm_id)
                            if change.job_name == quickbooks_sync_job.name
                            else {}
                        ),
                    },
                )
            )
            context.log.info(
                f"{org} {change.kind} (event {change.event_id}): {change.job_name} requested"
            )
        return SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=(
                [organizations.build_add_request(new_partitions)] if new_partitions else []
            ),
            cursor=write_cursor(last_id, pending),
        )

    return quickbooks_connection_changes


quickbooks_connection_changes = build_connection_sensor()
