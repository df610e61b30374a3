"""The token health sensor: runs an organization's `refresh_token_health` check when its outcome
would change (checks/token_health.py judges it), once an hour.

An organization that syncs every night has the check run by its syncs; this sensor keeps it
current for the others: a token coming within the warning window, passing an expiry, or renewed
by a reconnect. Its cursor remembers, per organization, the outcome it last requested a check
for, so a check runs once per change rather than once per evaluation.
"""

from __future__ import annotations

from dagster import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from qb_pipeline.defs.jobs import quickbooks_health_checks_job
from qb_pipeline.defs.partitions import ORGANIZATIONS
from qb_pipeline.defs.quickbooks.checks.check_runs import (
    MAX_CHECK_RUNS_PER_TICK,
    check_run,
    outdated,
    request_id,
    signature,
)
from qb_pipeline.defs.quickbooks.checks.token_health import SIGNATURE, assess_token, warn_days
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.defs.sensor_kit import Clock, read_cursor_json, utcnow, write_cursor_json

SENSOR_NAME = "quickbooks_token_health"
EVALUATION_SECONDS = 3600


def build_token_health_sensor(clock: Clock = utcnow, name: str = SENSOR_NAME) -> SensorDefinition:
    """Runs an organization's token health check when its outcome changed; `clock` gives
    "now" (tests pass a fixed one)."""

    @sensor(
        name=name,
        job=quickbooks_health_checks_job,
        minimum_interval_seconds=EVALUATION_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Keeps the per-organization refresh_token_health checks current: runs the check "
            "when an organization's refresh token comes within the warning window of its "
            "rolling or hard expiry, passes it, or is renewed."
        ),
    )
    def quickbooks_token_health(
        context: SensorEvaluationContext, quickbooks: QuickBooksIntegration
    ) -> SensorResult:
        now, days = clock(), warn_days()
        requested: dict[str, str] = read_cursor_json(context.cursor) or {}
        service = quickbooks.service()
        known = set(context.instance.get_dynamic_partitions(ORGANIZATIONS))
        requests = []
        for org in service.list_orgs():
            if org.slug not in known or len(requests) >= MAX_CHECK_RUNS_PER_TICK:
                continue
            health = assess_token(service.status(org.slug), now, days)
            evaluation = health.evaluation()
            if outdated(context.instance, [evaluation], SIGNATURE, requested):
                requests.append(check_run(org.slug, [evaluation.asset_check_key], now, "token"))
                requested[request_id(evaluation)] = signature(evaluation, SIGNATURE)
                context.log.info(f"check requested: {health.description}")
        cursor = {key: value for key, value in requested.items() if key.split("/")[0] in known}
        return SensorResult(run_requests=requests, cursor=write_cursor_json(cursor))

    return quickbooks_token_health


quickbooks_token_health_sensor = build_token_health_sensor()
