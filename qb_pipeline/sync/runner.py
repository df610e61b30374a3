"""Run a sync of one organization from the shell: a `quickbooks_sync` run through the run queue.

`sync_org` is what `qb-pipeline sync` (and the demo) call. It submits the very job the
schedule and the UI launch, for the organization's partition, to the run queue of the
persistent Dagster instance under `$QBP_HOME/dagster` (run_queue.py), with the tags of every
sync (partition, `qbp/realm`, `qbp/trigger=cli`), so it waits for a run of the same
organization or company like any other sync. A daemon on the instance launches it; without
one (no fresh heartbeat: the embedded default, the demo, the tests) this process takes the
run out of the queue itself once the queue's limits allow it and executes it here. Either way
it follows the run's events as they are written and reports them to `on_progress` (the wait
in the queue, steps started and finished, and the progress lines the source logs: entity,
pages, rows).

The organization's connection, the warehouse lock and the sync log are handled by the job's
steps, exactly as for a scheduled run; this module only submits it and watches.
`progress.ProgressDisplay` shows that progress in a shell.

This is the one module of the sync package that reaches into the Dagster definitions (defs/,
imported when a sync starts): it runs their job.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from dagster import DagsterEvent, DagsterEventType, DagsterInstance, EventLogRecord

from qb_pipeline.config import Settings, load_settings
from qb_pipeline.connections import ConnectionStatus, IntegrationService
from qb_pipeline.sync.launcher import PARTITION_TAG, SYNC_JOB, TRIGGER_TAG, realm_tag
from qb_pipeline.sync.progress import Progress

WATCH_SECONDS = 0.5


@dataclass(frozen=True)
class SyncOutcome:
    """How a sync ended; `status` is the organization's status afterwards (last sync etc.)."""

    org_slug: str
    run_id: str
    succeeded: bool
    message: str | None
    status: ConnectionStatus
    failed_steps: list[str] = field(default_factory=list)


def sync_org(
    org_slug: str,
    settings: Settings | None = None,
    *,
    today: date | None = None,
    lock_wait_seconds: float | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> SyncOutcome:
    """Submit a `quickbooks_sync` run for `org_slug` to the run queue and wait for its end.

    `settings` must describe this process's environment (when no daemon runs, the run
    executes here and the job's resources read the secret key and the Intuit endpoints from
    it); by default they are loaded from it. Raises NotFound for an unknown organization;
    every other problem ends the run as failed and comes back in the outcome's `message`.
    """
    from qb_pipeline.defs.definitions import defs
    from qb_pipeline.defs.instance import open_instance
    from qb_pipeline.defs.partitions import ensure_partition
    from qb_pipeline.defs.quickbooks.sensors.failures import step_failure_message
    from qb_pipeline.sync.queued_sync import run_through_queue

    settings = settings or load_settings()
    service = IntegrationService(settings)
    service.get_org(org_slug)  # NotFound before anything starts
    job = defs.resolve_job_def(SYNC_JOB)
    run_config = sync_run_config(settings, today=today, lock_wait_seconds=lock_wait_seconds)
    tags = {
        PARTITION_TAG: org_slug,
        TRIGGER_TAG: "cli",
        **realm_tag(service.status(org_slug).realm_id),
    }
    with open_instance(settings, service) as instance:
        ensure_partition(instance, org_slug)
        run_id = str(uuid.uuid4())  # known before the run starts, so it can be watched
        watcher = _Watcher(instance, run_id, len(job.graph.node_dict), on_progress)
        watcher.start()
        try:
            run_through_queue(instance, service, run_id, run_config, tags, on_wait=watcher.queued)
        finally:
            watcher.stop()
        events = [
            entry.dagster_event
            for entry in instance.all_logs(run_id)
            if entry.dagster_event is not None
        ]
        run = instance.get_run_by_id(run_id)
        succeeded = run is not None and run.is_success
        failures = [event for event in events if event.event_type == DagsterEventType.STEP_FAILURE]
        if not succeeded:
            _record_failure(service, instance, run_id, events, failures)
    message = step_failure_message(failures[0]) if failures else _run_error(events)
    if not succeeded and message is None:
        message = _run_failure_message(events) or "the run ended without succeeding"
    return SyncOutcome(
        org_slug=org_slug,
        run_id=run_id,
        succeeded=succeeded,
        message=message,
        status=service.status(org_slug),
        failed_steps=[event.step_key or "" for event in failures],
    )


def sync_run_config(
    settings: Settings, *, today: date | None = None, lock_wait_seconds: float | None = None
) -> dict[str, object]:
    """The run config of a shell's sync: this QBP_HOME, the report date, the lock wait."""
    config: dict[str, object] = {"home": str(settings.home)}
    if today is not None:
        config["today"] = today.isoformat()
    writer: dict[str, object] = {"home": str(settings.home)}
    if lock_wait_seconds is not None:
        config["lock_wait_seconds"] = float(lock_wait_seconds)
        writer["wait_seconds"] = float(lock_wait_seconds)
    return {
        "resources": {"quickbooks": {"config": config}, "org_writer": {"config": writer}},
        # The run's events go to the instance (and the UI); the terminal gets `on_progress`.
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
    }


def _run_failure_message(events: list[DagsterEvent]) -> str | None:
    """The run's own failure message (a run failed outside its steps, or was cancelled)."""
    for event in reversed(events):
        if event.event_type in (DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_CANCELED):
            return event.message
    return None


def _run_error(events: list[DagsterEvent]) -> str | None:
    """Why a run failed before any step did (a resource could not start: the organization's
    writer lock stayed held, say): the innermost error's message, without its class."""
    for event in events:
        if event.event_type != DagsterEventType.RESOURCE_INIT_FAILURE:
            continue
        error = getattr(event.event_specific_data, "error", None)
        while error is not None and error.cause is not None:
            error = error.cause
        if error is not None and error.message:
            text = error.message.strip()
            prefix = f"{error.cls_name}: "
            return text[len(prefix) :] if text.startswith(prefix) else text
    return None


def _record_failure(
    service: IntegrationService,
    instance: DagsterInstance,
    run_id: str,
    events: list[DagsterEvent],
    failures: list[DagsterEvent],
) -> None:
    """What the failure sensor does for a daemon's runs, done at once: a failure that no step
    recorded (a step outside the sync log's care failed, the goals for instance) closes the
    sync's entry, so it does not stay `running` until the next sync."""
    from qb_pipeline.defs.quickbooks.sensors.failures import failure_reason, record_failed_sync

    run = instance.get_run_by_id(run_id)
    ended = [event for event in events if event.event_type == DagsterEventType.RUN_FAILURE]
    if run is None or not ended:
        return
    record_failed_sync(service, instance, run, failure_reason(ended[-1], failures))


class _Watcher:
    """Follows a run's event log from a background thread and reports progress."""

    def __init__(
        self,
        instance: DagsterInstance,
        run_id: str,
        steps_total: int,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self._instance = instance
        self._run_id = run_id
        self._total = steps_total
        self._report = on_progress
        self._done = 0
        self._cursor: str | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="sync-progress", daemon=True)

    def start(self) -> None:
        if self._report is not None:
            self._thread.start()

    def queued(self, why: str) -> None:
        """The run waits in the queue (for the daemon, or behind another run)."""
        if self._report is not None:
            self._emit("waiting", "queue", why)

    def stop(self) -> None:
        if self._report is None:
            return
        self._stopping.set()
        self._thread.join()
        self._drain()  # whatever the run wrote after the last look

    def _follow(self) -> None:
        while not self._stopping.wait(WATCH_SECONDS):
            self._drain()

    def _drain(self) -> None:
        while True:
            page = self._instance.get_records_for_run(
                self._run_id, cursor=self._cursor, ascending=True, limit=500
            )
            for record in page.records:
                self._tell(record)
            self._cursor = page.cursor
            if not page.has_more:
                return

    def _tell(self, record: EventLogRecord) -> None:
        assert self._report is not None
        entry = record.event_log_entry
        event = entry.dagster_event
        step = entry.step_key
        if event is None:
            message = entry.user_message or ""
            # INFO and up from the steps; steps not run after a failure are summed up later.
            if entry.level >= 20 and message and not message.startswith("Dependencies for"):
                self._emit("log", step, message)
            return
        kind = event.event_type
        if kind == DagsterEventType.STEP_START:
            self._emit("step_started", step, "started")
        elif kind == DagsterEventType.STEP_SUCCESS:
            self._done += 1
            self._emit("step_succeeded", step, "done")
        elif kind == DagsterEventType.STEP_FAILURE:
            from qb_pipeline.defs.quickbooks.sensors.failures import step_failure_message

            self._done += 1
            self._emit("step_failed", step, step_failure_message(event))
        elif kind == DagsterEventType.STEP_SKIPPED:
            self._done += 1

    def _emit(self, kind: str, step: str | None, text: str) -> None:
        assert self._report is not None
        self._report(Progress(kind, step, text, self._done, self._total))
