"""The run failure sensor puts every failed sync in the control DB's sync log exactly once, so
`qb-pipeline status` and the integration page say "Last sync failed: <reason>": it closes a
sync entry whose process died, adds one for a run that failed before any step recorded it, and
leaves alone what a step already recorded. Evaluated for real: run failure events of the Dagster
instance under QBP_HOME, a real control DB, a real sync run."""

from __future__ import annotations

import sqlite3
import uuid

import pytest
from dagster import (
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    build_run_status_sensor_context,
)

from qb_pipeline.connections import IntegrationService
from qb_pipeline.connections.status_text import status_lines
from qb_pipeline.connections.sync_log import SYNC_RUN_TAG, utcnow
from qb_pipeline.defs.partitions import ensure_partition
from qb_pipeline.defs.quickbooks.sensors.failures import (
    SENSOR_NAME,
    build_failure_sensor,
    failure_reason,
    mask_secrets,
)
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.sync.runner import sync_org
from tests.defs.conftest import ORG

KILLED = "the process running it is gone (killed)"


def started_sync_run(instance: DagsterInstance, tags: dict[str, str] | None = None) -> DagsterRun:
    """A quickbooks_sync run of ORG that has started (as the run launcher leaves it)."""
    ensure_partition(instance, ORG)
    run = DagsterRun(
        job_name="quickbooks_sync",
        run_id=str(uuid.uuid4()),
        status=DagsterRunStatus.STARTED,
        tags={"dagster/partition": ORG, **(tags or {})},
    )
    return instance.add_run(run)


def evaluate(instance: DagsterInstance, run_id: str, event: DagsterEvent) -> None:
    """One evaluation of the failure sensor for the run's failure event."""
    context = build_run_status_sensor_context(
        sensor_name=SENSOR_NAME,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
        resources={"quickbooks": QuickBooksIntegration()},
    ).for_run_failure()
    build_failure_sensor()(context)


def run_failure_event(instance: DagsterInstance, run_id: str) -> DagsterEvent:
    (record,) = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_FAILURE).records
    return record.event_log_entry.dagster_event


def sync_log(service: IntegrationService) -> list[tuple[str, str | None]]:
    """(status, message) of every sync of the control DB, oldest first."""
    with sqlite3.connect(service.db_path) as conn:
        return conn.execute("SELECT status, message FROM sync_runs ORDER BY id").fetchall()


def status_text(service: IntegrationService) -> str:
    """`qb-pipeline status` as one line, whitespace collapsed."""
    return " ".join(" ".join(status_lines(service.status(ORG))).split())


def test_a_sync_whose_process_died_is_closed_as_failed_once(connected, instance):
    realm = connected.status(ORG).realm_id
    entry = connected.record_sync(ORG, realm, utcnow(), None, "running", rows={"account": 12})
    run = started_sync_run(instance, {SYNC_RUN_TAG: str(entry.id)})
    # What fail_abandoned_runs (or run monitoring) does when the run's process is gone.
    event = instance.report_run_failed(run, KILLED)

    evaluate(instance, run.run_id, event)
    evaluate(instance, run.run_id, event)  # seen again: nothing more

    last = connected.status(ORG).last_sync
    assert (last.id, last.status, last.message) == (entry.id, "failed", KILLED)
    assert last.rows == {"account": 12}  # what was loaded stays recorded
    assert last.finished_at is not None
    assert sync_log(connected) == [("failed", KILLED)]
    assert f"Last sync failed: {KILLED}" in status_text(connected)


def test_a_run_that_failed_before_any_step_gets_one_failed_entry(connected, instance):
    run = started_sync_run(instance)
    event = instance.report_run_failed(run, "The run worker crashed before the first step.")

    evaluate(instance, run.run_id, event)
    evaluate(instance, run.run_id, event)

    reason = "The run worker crashed before the first step."
    assert sync_log(connected) == [("failed", reason)]
    last = connected.status(ORG).last_sync
    assert last.realm_id == connected.status(ORG).realm_id
    assert f"Last sync failed: {reason}" in status_text(connected)


def test_a_failure_a_step_recorded_is_not_recorded_again(service, instance):
    # `acme` never connected: the raw step refuses and records the failed sync itself.
    outcome = sync_org(ORG, lock_wait_seconds=0.5)
    assert not outcome.succeeded
    recorded = sync_log(service)
    assert [status for status, _ in recorded] == ["failed"]

    evaluate(instance, outcome.run_id, run_failure_event(instance, outcome.run_id))

    assert sync_log(service) == recorded
    assert f"Last sync failed: {recorded[0][1]}" in status_text(service)


def test_the_reason_is_the_failed_steps_message(service, instance):
    outcome = sync_org(ORG, lock_wait_seconds=0.5)
    run = instance.get_run_by_id(outcome.run_id)
    steps = instance.get_records_for_run(outcome.run_id, of_type=DagsterEventType.STEP_FAILURE)
    events = [record.event_log_entry.dagster_event for record in steps.records]

    reason = failure_reason(run_failure_event(instance, run.run_id), events)

    (failed_step,) = outcome.failed_steps
    assert reason == f"{failed_step}: {outcome.message}"
    assert "not connected" in reason.lower()


def test_a_token_in_a_failure_message_is_never_recorded(connected, instance):
    token = connected.access_token(ORG).value
    run = started_sync_run(instance)
    event = instance.report_run_failed(
        run, f"QuickBooks said 401 to 'Authorization: Bearer {token}' (refresh_token={token})"
    )

    evaluate(instance, run.run_id, event)

    ((status, message),) = sync_log(connected)
    assert status == "failed"
    assert token not in message
    assert message == "QuickBooks said 401 to 'Authorization: Bearer ***' (refresh_token=***)"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Authorization: Bearer eyJ.abc-1", "Authorization: Bearer ***"),
        ('{"access_token": "A1b2"}', '{"access_token": "***"}'),
        ("/callback?state=s&code=XYZ&realmId=1", "/callback?state=s&code=***&realmId=1"),
        ("HTTP status code: 503 from QuickBooks", "HTTP status code: 503 from QuickBooks"),
    ],
)
def test_token_shaped_text_is_masked_and_other_text_kept(text, masked):
    assert mask_secrets(text) == masked


def test_the_code_location_watches_failed_syncs():
    from qb_pipeline.defs import defs

    sensor = defs.resolve_sensor_def(SENSOR_NAME)

    assert sensor.default_status.value == "RUNNING"
