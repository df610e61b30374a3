"""The run failure sensor: every failed `quickbooks_sync` run ends up in the control DB's sync log.

Most failures are recorded by the failing step itself (defs/step_failures.py): it closes the
run's sync entry as failed, or records a refusal. This sensor covers the rest, so the integration
page and `qb-pipeline status` show "Last sync failed: <reason>" whatever happened:

- the run carries a sync entry (tag `qbp/sync_run_id`) that is still `running`: the process
  died or the run was failed from outside (run monitoring, a killed `qb-pipeline sync`), and the
  entry is closed as failed;
- no step recorded anything since the run was created (it failed before or outside its steps,
  or in a step before the entry was opened): a failed entry is added.

An entry a step already closed is left alone, so a failure is recorded once, however many
times the sensor sees it. The reason is the failed step's message, else the run's; it never
carries a token (the messages our code writes have none, and anything shaped like one is
masked anyway).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from dagster import (
    DagsterEvent,
    DagsterInstance,
    DagsterRun,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorDefinition,
    run_failure_sensor,
)

from qb_pipeline.connections import IntegrationService, NotFound, SyncRun
from qb_pipeline.connections.sync_log import SYNC_RUN_TAG
from qb_pipeline.defs.jobs import quickbooks_sync_job
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.defs.sensor_kit import sensor_interval_seconds

SENSOR_NAME = "quickbooks_sync_failures"
PARTITION_TAG = "dagster/partition"
MAX_REASON_CHARS = 500

# Credentials that could hide in a third-party error message: masked before anything is stored.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 ***"),
    (
        re.compile(
            r"(?i)\b(access_token|refresh_token|id_token|client_secret|password)"
            r"(['\"]?\s*[:=]\s*['\"]?)[^\s'\",&})\]]+"
        ),
        r"\1\2***",
    ),
    (re.compile(r"(?i)([?&]code=)[^\s&]+"), r"\1***"),  # an OAuth callback's query string
)


def mask_secrets(text: str) -> str:
    """`text` with bearer/basic credentials and token-like parameters replaced by `***`."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def failure_reason(failure_event: DagsterEvent, step_failures: list[DagsterEvent]) -> str:
    """One line saying why the run failed: the first failed step and its message, else the
    run's own failure message."""
    if step_failures:
        event = step_failures[0]
        text = step_failure_message(event)
        reason = f"{event.step_key}: {text}" if event.step_key else text
    else:
        data = failure_event.event_specific_data
        error = getattr(data, "error", None)
        reason = failure_event.message or ""
        if error is not None and error.message:
            reason = f"{reason} {error.message}".strip()
    reason = mask_secrets(" ".join(reason.split())) or "the run failed"
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"


def step_failure_message(event: DagsterEvent) -> str:
    """What a failed step said: its Failure's description, else its error's message."""
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    error = data.error
    # Dagster wraps the user's exception ("Error occurred while executing op ..."): unwrap it.
    while error is not None and error.cause is not None and "DagsterExecution" in error.cls_name:
        error = error.cause
    return error.message.strip() if error is not None else event.message or "the step failed"


def record_failed_sync(
    service: IntegrationService, instance: DagsterInstance, run: DagsterRun, reason: str
) -> SyncRun | None:
    """Record the failed run in the organization's sync log unless a step already did.
    Returns the entry written, or None when there was nothing to write."""
    org_slug = run.tags.get(PARTITION_TAG)
    if not org_slug:
        return None
    try:
        current = service.status(org_slug)
    except NotFound:
        return None  # the organization was deleted since
    last = current.last_sync
    entry_id = _sync_entry_id(instance, run)
    now = datetime.now(UTC)
    if entry_id is not None:
        if last is None or last.id != entry_id or last.status != "running":
            return None  # closed by its step (or superseded by a newer sync)
        return service.record_sync(
            org_slug,
            last.realm_id,
            last.started_at,
            now,
            "failed",
            message=reason,
            rows=last.rows,
            requests=last.requests,
            run_id=last.id,
        )
    created_at = _created_at(instance, run)
    if (
        last is not None
        and last.status != "running"
        and ((last.finished_at or last.started_at) >= created_at)
    ):
        return None  # a step recorded this run's failure (a refusal, for instance)
    return service.record_sync(
        org_slug, current.realm_id, created_at, now, "failed", message=reason, requests=0
    )


def _sync_entry_id(instance: DagsterInstance, run: DagsterRun) -> int | None:
    """The sync entry the run (or a run it re-executes) opened."""
    seen: set[str] = set()
    current: DagsterRun | None = run
    while current is not None and current.run_id not in seen:
        seen.add(current.run_id)
        if current.tags.get(SYNC_RUN_TAG, "").isdigit():
            return int(current.tags[SYNC_RUN_TAG])
        parent = current.parent_run_id
        current = instance.get_run_by_id(parent) if parent else None
    return None


def _created_at(instance: DagsterInstance, run: DagsterRun) -> datetime:
    """When the run was created, in whole seconds: the control DB keeps seconds, and an entry
    written in the same second must count as written after it."""
    record = instance.get_run_record_by_id(run.run_id)
    created = record.create_timestamp if record is not None else datetime.now(UTC)
    created = created if created.tzinfo is not None else created.replace(tzinfo=UTC)
    return created.replace(microsecond=0)


def build_failure_sensor(
    name: str = SENSOR_NAME, minimum_interval_seconds: int | None = None
) -> SensorDefinition:
    """The failure sensor on `quickbooks_sync`, every $QBP_SENSOR_INTERVAL_SECONDS by default."""

    @run_failure_sensor(
        name=name,
        monitored_jobs=[quickbooks_sync_job],
        minimum_interval_seconds=minimum_interval_seconds or sensor_interval_seconds(),
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Records each failed quickbooks_sync run in the control DB's sync log when no step "
            "did (the run failed outside its steps, or its process died), so the integration "
            "page shows 'Last sync failed: <reason>'."
        ),
    )
    def quickbooks_sync_failures(
        context: RunFailureSensorContext, quickbooks: QuickBooksIntegration
    ) -> None:
        run = context.dagster_run
        reason = failure_reason(context.failure_event, list(context.get_step_failure_events()))
        written = record_failed_sync(quickbooks.service(), context.instance, run, reason)
        org = run.tags.get(PARTITION_TAG, "?")
        if written is None:
            context.log.info(f"Run {run.run_id} of {org}: its failure is already in the sync log")
        else:
            context.log.info(f"Run {run.run_id} of {org}: recorded as failed: {reason}")

    return quickbooks_sync_failures


quickbooks_sync_failures = build_failure_sensor()
