"""The sensor that fails runs whose process is gone, so a killed run never blocks anything.

Every $QBP_SENSOR_INTERVAL_SECONDS it looks at every unfinished run and marks failed those whose
process is gone (abandoned_runs.py): the run queue's
one-run-per-partition limit lets the organization's next run start, and the sync log says
"Last sync failed: interrupted ...". Without the daemon, the next `qb-pipeline sync` (or
`qb-pipeline status`) does the same when it opens the instance.
"""

from __future__ import annotations

from dagster import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from qb_pipeline.defs.abandoned_runs import fail_abandoned_runs
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.defs.sensor_kit import sensor_interval_seconds

SENSOR_NAME = "quickbooks_abandoned_runs"


def build_abandoned_runs_sensor(
    name: str = SENSOR_NAME, minimum_interval_seconds: int | None = None
) -> SensorDefinition:
    """The sensor, evaluated every $QBP_SENSOR_INTERVAL_SECONDS by default."""

    @sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds or sensor_interval_seconds(),
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Marks failed every unfinished run whose process is gone (a killed qb-pipeline "
            "sync, a killed run worker) and records the sync as "
            "failed ('interrupted'), so the organization's next runs are never blocked."
        ),
    )
    def quickbooks_abandoned_runs(
        context: SensorEvaluationContext, quickbooks: QuickBooksIntegration
    ) -> SkipReason:
        failed = fail_abandoned_runs(context.instance, quickbooks.service())
        for run in failed:
            context.log.warning(
                f"Run {run.run_id} ({run.job_name}, {run.partition or 'no partition'}) marked "
                f"failed: {run.reason}"
            )
        if failed:
            return SkipReason(f"{len(failed)} run(s) whose process is gone marked failed")
        return SkipReason("every unfinished run still has its process")

    return quickbooks_abandoned_runs


quickbooks_abandoned_runs = build_abandoned_runs_sensor()
