"""The freshness sensor: keeps the freshness checks current and catches up stale organizations.

Every few minutes it judges each organization's raw tables and goal values (checks/freshness.py):

- when an organization's state changed since its partition's last check evaluation (its data
  crossed the warn or fail threshold, it was disconnected), the sensor requests a check-only run
  of its `freshness` checks (checks/check_runs.py), so the Dagster UI shows the new state between
  syncs without a run per organization and tick;
- a connected organization whose data is older than the warn threshold (a nightly run failed,
  the daemon was down) gets a catch-up `quickbooks_sync` run, at most once per catch-up interval
  ($QBP_FRESHNESS_CATCH_UP_HOURS, default 6 h; the cursor remembers each request) and never while
  a sync of it is queued or running. None is requested for an organization that turned automatic
  sync off, or that connected within the interval (the connection sensor's first sync covers it);
- a disconnected organization, or one that needs reauthorization, gets no request: the sensor logs
  "stale because disconnected" and its checks say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dagster import (
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition as UnresolvedAssetJob,
)

from qb_pipeline.connections import ConnectionStatus
from qb_pipeline.connections.results import CONNECTED
from qb_pipeline.defs.jobs import (
    HEALTH_CHECKS_JOB,
    quickbooks_health_checks_job,
    quickbooks_sync_job,
)
from qb_pipeline.defs.partitions import ORGANIZATIONS
from qb_pipeline.defs.quickbooks.checks.check_runs import (
    MAX_CHECK_RUNS_PER_TICK,
    check_run,
    outdated,
    request_id,
    signature,
)
from qb_pipeline.defs.quickbooks.checks.freshness import (
    CHECKED_KEYS,
    Freshness,
    FreshnessThresholds,
    freshness_of,
)
from qb_pipeline.defs.quickbooks.schedules import TRIGGER_TAG, sync_in_progress
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.defs.sensor_kit import (
    Clock,
    read_cursor_json,
    utcnow,
    write_cursor_json,
)
from qb_pipeline.sync.launcher import realm_tag

SENSOR_NAME = "quickbooks_freshness"
EVALUATION_SECONDS = 300
TRIGGER = "freshness"
# What makes a new evaluation worth reporting (besides pass/fail and severity).
SIGNATURE = ("state", "last_success_at", "connection_status")


@dataclass(frozen=True)
class CatchUp:
    """Whether one organization gets a catch-up sync at this evaluation, and why (not)."""

    org_slug: str
    request: bool
    reason: str


def decide_catch_up(
    status: ConnectionStatus,
    found: list[Freshness],
    last_requested: datetime | None,
    now: datetime,
    thresholds: FreshnessThresholds,
    sync_running: bool,
) -> CatchUp:
    """A catch-up sync for a connected organization whose data went stale (see the module)."""
    org = status.org_slug
    stale = [f for f in found if f.is_stale]
    if not stale:
        return CatchUp(org, False, "fresh")
    if status.status != CONNECTED:
        return CatchUp(org, False, stale[0].description)
    interval = timedelta(hours=thresholds.catch_up_hours)
    if not status.settings.auto_sync or status.settings.frequency == "manual":
        return CatchUp(org, False, "data is stale but automatic sync is off")
    if status.connected_at is not None and now - status.connected_at < interval:
        return CatchUp(org, False, "connected recently: its first sync is on the way")
    if sync_running:
        return CatchUp(org, False, "data is stale; a sync is already queued or running")
    if last_requested is not None and now - last_requested < interval:
        return CatchUp(
            org,
            False,
            f"data is stale; a catch-up sync was requested at "
            f"{last_requested.isoformat(timespec='minutes')}, the next one may follow after "
            f"{thresholds.catch_up_hours:g} h",
        )
    return CatchUp(org, True, "; ".join(f.description for f in stale))


def catch_up_run_key(org_slug: str, now: datetime) -> str:
    return f"{org_slug}:catch-up:{now.strftime('%Y-%m-%dT%H:%MZ')}"


def _cursor(cursor: str | None) -> tuple[dict[str, datetime], dict[str, str]]:
    """Catch-up syncs requested (moment per organization) and check runs requested (outcome
    signature per partition and check)."""
    try:
        saved = read_cursor_json(cursor) or {}
        catch_up = {org: datetime.fromisoformat(at) for org, at in saved["catch_up"].items()}
        return catch_up, dict(saved.get("checks", {}))
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}, {}


def build_freshness_sensor(
    job: JobDefinition | UnresolvedAssetJob = quickbooks_sync_job,
    clock: Clock = utcnow,
    name: str = SENSOR_NAME,
) -> SensorDefinition:
    """The freshness sensor; `clock` gives "now" (tests pass a fixed one)."""

    @sensor(
        name=name,
        jobs=[job, quickbooks_health_checks_job],
        minimum_interval_seconds=EVALUATION_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Keeps the per-organization freshness checks current and requests a catch-up "
            "quickbooks_sync for a connected organization whose data is older than the warn "
            "threshold, at most once per catch-up interval; records 'stale because "
            "disconnected' for organizations that cannot sync."
        ),
    )
    def quickbooks_freshness(
        context: SensorEvaluationContext, quickbooks: QuickBooksIntegration
    ) -> SensorResult:
        now = clock()
        thresholds = FreshnessThresholds.from_env()
        requested, checks_requested = _cursor(context.cursor)
        service = quickbooks.service()
        known = set(context.instance.get_dynamic_partitions(ORGANIZATIONS))
        requests: list[RunRequest] = []
        for org in service.list_orgs():
            if org.slug not in known:
                continue  # the sync sensor adds its partition first
            status = service.status(org.slug)
            found = [
                freshness_of(context.instance, status, key, now, thresholds) for key in CHECKED_KEYS
            ]
            evaluations = [item.evaluation() for item in found]
            check_runs = sum(1 for r in requests if r.job_name == HEALTH_CHECKS_JOB)
            stale_checks = (
                outdated(context.instance, evaluations, SIGNATURE, checks_requested)
                if check_runs < MAX_CHECK_RUNS_PER_TICK
                else []
            )
            if stale_checks:
                requests.append(
                    check_run(org.slug, [e.asset_check_key for e in stale_checks], now, TRIGGER)
                )
                for evaluation in stale_checks:
                    checks_requested[request_id(evaluation)] = signature(evaluation, SIGNATURE)
                    context.log.info(f"checks requested: {evaluation.description}")
            decision = decide_catch_up(
                status,
                found,
                requested.get(org.slug),
                now,
                thresholds,
                sync_running=sync_in_progress(context.instance, org.slug, job.name),
            )
            if decision.request:
                requested[org.slug] = now
                requests.append(
                    RunRequest(
                        run_key=catch_up_run_key(org.slug, now),
                        job_name=job.name,
                        partition_key=org.slug,
                        tags={TRIGGER_TAG: TRIGGER, **realm_tag(status.realm_id)},
                    )
                )
                context.log.info(f"{org.slug}: catch-up sync requested: {decision.reason}")
            elif decision.reason != "fresh":
                context.log.info(f"{org.slug}: no catch-up sync: {decision.reason}")
        catch_up = {
            org: at.isoformat()
            for org, at in requested.items()
            if org in known and now - at < timedelta(hours=thresholds.catch_up_hours)
        }
        checks = {
            key: value for key, value in checks_requested.items() if key.split("/")[0] in known
        }
        return SensorResult(
            run_requests=requests,
            cursor=write_cursor_json({"catch_up": catch_up, "checks": checks}),
        )

    return quickbooks_freshness


quickbooks_freshness_sensor = build_freshness_sensor()
