"""When each organization syncs: a schedule-like sensor that follows every organization's settings.

A ScheduleDefinition runs on one cron in one timezone, but each organization chooses its own
frequency, local time and timezone (and can turn automatic sync off). So one sensor looks at
every organization each minute and asks for a `quickbooks_sync` run of an organization's
partition when one of its scheduled moments ("slots") has passed since the previous look:

- nightly: once a day at `local_time` in the organization's `timezone`;
- hourly: every hour at the minutes of `local_time` (02:15 -> 00:15, 01:15, ...), in `timezone`;
- manual, or automatic sync off: never (runs only from the UI or `qb-pipeline sync`).

Only organizations whose QuickBooks connection is `connected` get runs; a disconnected one, or
one that needs reauthorization, is skipped (its sync would stop at once anyway). A slot that
arrives while the organization's previous sync is still queued or running is skipped too (a
run whose process was killed does not count: abandoned_runs.py).
Each request's run key is `<org>:<slot in UTC>`, so the same slot never makes a second run,
even if the cursor is lost. After a pause (daemon stopped), the next evaluation catches up with
one run per organization for the latest slot it missed. The sensor also keeps the
`organizations` partitions equal to the organizations in the control DB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dagster import (
    DagsterInstance,
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition as UnresolvedAssetJob,
)

from qb_pipeline.connections import IntegrationSettings
from qb_pipeline.connections.results import CONNECTED
from qb_pipeline.connections.sync_slots import latest_slot, run_key
from qb_pipeline.defs.abandoned_runs import UNFINISHED_RUN_STATUSES, process_gone, run_process
from qb_pipeline.defs.jobs import quickbooks_sync_job
from qb_pipeline.defs.partitions import ORGANIZATIONS, organizations
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.defs.sensor_kit import (
    Clock,
    read_cursor_json,
    utcnow,
    write_cursor_json,
)
from qb_pipeline.sync.launcher import TRIGGER_TAG, realm_tag

SENSOR_NAME = "quickbooks_sync_schedule"
EVALUATION_SECONDS = 60
SLOT_TAG = "qbp/slot"


@dataclass(frozen=True)
class Decision:
    """What the sensor decided for one organization at one evaluation."""

    org_slug: str
    slot: datetime | None
    request: bool
    reason: str


def decide(
    org_slug: str,
    settings: IntegrationSettings,
    connection_status: str,
    since: datetime,
    now: datetime,
    sync_in_progress: bool,
) -> Decision:
    """Whether the organization gets a run for a slot in (since, now], and why (not)."""
    slot = latest_slot(settings, now)
    if slot is None:
        why = "automatic sync is off" if not settings.auto_sync else "frequency is manual"
        return Decision(org_slug, None, False, why)
    if slot <= since:
        return Decision(org_slug, slot, False, f"next slot after {slot.isoformat()}")
    if connection_status != CONNECTED:
        status = connection_status.replace("_", " ")
        return Decision(org_slug, slot, False, f"QuickBooks is {status}")
    if sync_in_progress:
        return Decision(org_slug, slot, False, "its previous sync is still queued or running")
    return Decision(org_slug, slot, True, f"slot {slot.isoformat()}")


def sync_in_progress(
    instance: DagsterInstance, org_slug: str, job_name: str = quickbooks_sync_job.name
) -> bool:
    """Whether a run of `job_name` for the organization's partition is queued or running
    (the connection and freshness sensors ask the same before they request a sync). A run
    whose process is gone is not running, whatever its status says (abandoned_runs.py)."""
    records = instance.get_run_records(
        RunsFilter(
            job_name=job_name,
            tags={"dagster/partition": org_slug},
            statuses=UNFINISHED_RUN_STATUSES,
        ),
        limit=20,
    )
    for record in records:
        process = run_process(instance, record)
        if process is None or not process_gone(process):
            return True
    return False


def _cursor_time(cursor: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat((read_cursor_json(cursor) or {})["evaluated_at"])
    except (ValueError, KeyError, TypeError):
        return None


def build_sync_sensor(
    job: JobDefinition | UnresolvedAssetJob = quickbooks_sync_job,
    clock: Clock = utcnow,
    name: str = SENSOR_NAME,
) -> SensorDefinition:
    """The sync sensor; `clock` gives "now" (tests pass a fixed one)."""

    @sensor(
        name=name,
        job=job,
        minimum_interval_seconds=EVALUATION_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Requests a quickbooks_sync run for each connected organization when its "
            "automatic sync is due (nightly at its local time, or hourly), following the "
            "organization's integration settings; keeps the organizations partitions in step "
            "with the control DB."
        ),
    )
    def quickbooks_sync_schedule(
        context: SensorEvaluationContext, quickbooks: QuickBooksIntegration
    ) -> SensorResult:
        now = clock()
        since = _cursor_time(context.cursor) or now - timedelta(seconds=EVALUATION_SECONDS)
        service = quickbooks.service()
        slugs = [org.slug for org in service.list_orgs()]
        known = set(context.instance.get_dynamic_partitions(ORGANIZATIONS))
        partition_requests = []
        if new := [slug for slug in slugs if slug not in known]:
            partition_requests.append(organizations.build_add_request(new))
        if gone := sorted(known - set(slugs)):
            partition_requests.append(organizations.build_delete_request(gone))

        requests = []
        for slug in slugs:
            current = service.status(slug)
            decision = decide(
                slug,
                current.settings,
                current.status,
                since,
                now,
                sync_in_progress=sync_in_progress(context.instance, slug, job.name),
            )
            if decision.request:
                assert decision.slot is not None
                requests.append(
                    RunRequest(
                        run_key=run_key(slug, decision.slot),
                        partition_key=slug,
                        tags={
                            TRIGGER_TAG: "schedule",
                            SLOT_TAG: decision.slot.isoformat(),
                            **realm_tag(current.realm_id),
                        },
                    )
                )
                context.log.info(f"{slug}: sync requested for {decision.reason}")
            elif decision.slot is not None and decision.slot > since:
                context.log.info(f"{slug}: no sync for the due slot: {decision.reason}")
        return SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=partition_requests,
            cursor=write_cursor_json({"evaluated_at": now.isoformat()}),
        )

    return quickbooks_sync_schedule


quickbooks_sync_schedule = build_sync_sensor()
