"""The goal-changes sensor: a goal created, changed, archived or restored gets its values, even
when nothing else asked for them.

Whoever changes a goal (web app, JSON API, CLI, `goals apply`) writes a `goal_changed` event
in the same transaction (goals/store.py) and then submits a goals run at once
(sync/launcher.py). This sensor is the safety net behind that submission: it reads the event log
after its cursor (the id of the last event it handled, so each event is looked at exactly
once, whatever the clocks) and, for each organization with new goal events, requests a
`goals_refresh` run unless a run tagged with that organization's newest goal event already
exists (the launcher's). Runs go through the run queue like any sensor's; one run computes
every goal of the organization, so a burst of edits costs one run.

Changes the pipeline itself makes (source `system`: a goals run bringing goals to a newly
connected company) are skipped: the run that made them computes right after.

An event younger than GRACE_SECONDS is left for the next evaluation (the cursor stops before
it): the launcher submits within a second of the change, and waiting a little spares a
second run for the same change.
"""

from __future__ import annotations

from datetime import timedelta

from dagster import (
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from qb_pipeline.connections import events
from qb_pipeline.defs.jobs import goals_refresh_job
from qb_pipeline.defs.partitions import ORGANIZATIONS, organizations
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.defs.sensor_kit import (
    Clock,
    read_cursor_json,
    sensor_interval_seconds,
    utcnow,
    write_cursor_json,
)
from qb_pipeline.sync.launcher import GOAL_EVENT_TAG, PARTITION_TAG, TRIGGER_TAG

SENSOR_NAME = "goal_changes"
GRACE_SECONDS = 5.0
TRIGGER = "goal_change"


def read_cursor(cursor: str | None) -> int | None:
    """The last event id handled, or None for a new (or unreadable) cursor."""
    value = (read_cursor_json(cursor) or {}).get("last_event_id")
    return value if isinstance(value, int) and value >= 0 else None


def write_cursor(last_event_id: int) -> str:
    return write_cursor_json({"last_event_id": last_event_id})


def covered(instance: DagsterInstance, org_slug: str, event_id: int) -> bool:
    """Whether a goals run was already submitted for the organization's event `event_id`."""
    runs = instance.get_run_records(
        RunsFilter(
            job_name=goals_refresh_job.name,
            tags={PARTITION_TAG: org_slug, GOAL_EVENT_TAG: str(event_id)},
        ),
        limit=1,
    )
    return bool(runs)


def build_goal_changes_sensor(
    clock: Clock = utcnow, grace_seconds: float = GRACE_SECONDS, name: str = SENSOR_NAME
) -> SensorDefinition:
    """The sensor; `clock` and `grace_seconds` are the tests' to set."""

    @sensor(
        name=name,
        job=goals_refresh_job,
        minimum_interval_seconds=sensor_interval_seconds(),
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Requests a goals_refresh run for each organization whose goals changed (created, "
            "edited, archived, restored, applied from files) when no run was submitted for "
            "the change already; reads the control DB's event log, each event once."
        ),
    )
    def goal_changes(
        context: SensorEvaluationContext, quickbooks: QuickBooksIntegration
    ) -> SensorResult:
        service = quickbooks.service()
        last_id = read_cursor(context.cursor)
        if last_id is None:
            # A new sensor starts at the present: goals changed before it existed were
            # computed by the syncs and runs of that time.
            last_id = service.last_event_id()
            context.log.info(f"starting after event {last_id}")
            return SensorResult(cursor=write_cursor(last_id))
        horizon = clock() - timedelta(seconds=grace_seconds)
        newest: dict[str, int] = {}
        for event in service.events_after(last_id, (events.GOAL_CHANGED,)):
            if event.at > horizon:
                break  # too young: the launcher's run may be on its way; next time
            last_id = event.id
            if event.detail.get("source") == "system":
                continue
            newest[event.org_slug] = event.id
        known = set(context.instance.get_dynamic_partitions(ORGANIZATIONS))
        requests, new_partitions = [], []
        for org, event_id in sorted(newest.items()):
            if covered(context.instance, org, event_id):
                continue
            if org not in known:
                new_partitions.append(org)
            requests.append(
                RunRequest(
                    run_key=f"{org}:goals:{event_id}",
                    partition_key=org,
                    tags={TRIGGER_TAG: TRIGGER, GOAL_EVENT_TAG: str(event_id)},
                )
            )
            context.log.info(f"{org}: goals changed (event {event_id}); goals_refresh requested")
        return SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=(
                [organizations.build_add_request(new_partitions)] if new_partitions else []
            ),
            cursor=write_cursor(last_id),
        )

    return goal_changes


goal_changes_sensor = build_goal_changes_sensor()

__all__ = ["SENSOR_NAME", "build_goal_changes_sensor", "goal_changes_sensor"]
