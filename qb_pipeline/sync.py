"""Run a sync of one organization from the shell: the `quickbooks_sync` job, in this process.

`sync_org` is what `qb-pipeline sync` (and the demo) call. It runs the very job the schedule
and the UI launch, for the organization's partition, on the persistent Dagster instance under
`$QBP_HOME/dagster`, so the run shows in the Dagster UI beside the others. It follows the run's
events as they are written and reports them to `on_progress` (steps started and finished, and
the progress lines the source logs: entity, pages, rows).

The organization's connection, the warehouse lock and the sync log are handled by the job's
steps, exactly as for a scheduled run; this module only starts it and watches.
`ProgressDisplay` shows that progress in a shell: a bar on a terminal, plain lines otherwise.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TextIO

from dagster import DagsterEvent, DagsterEventType, DagsterInstance, EventLogRecord

from qb_pipeline.config import Settings, load_settings
from qb_pipeline.connections import ConnectionStatus, IntegrationService

WATCH_SECONDS = 0.5


@dataclass(frozen=True)
class Progress:
    """One thing worth telling about a running sync."""

    kind: str  # "step_started", "step_succeeded", "step_failed", "waiting", "log"
    step: str | None
    text: str
    steps_done: int
    steps_total: int


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
    """Run the `quickbooks_sync` job for `org_slug` in this process and wait for it.

    `settings` must describe this process's environment (the job's resources read the
    secret key and the Intuit endpoints from it); by default they are loaded from it.
    Raises NotFound for an unknown organization; every other problem ends the run as failed
    and comes back in the outcome's `message`.
    """
    from qb_pipeline.defs.definitions import defs
    from qb_pipeline.defs.instance import open_instance, process_tags
    from qb_pipeline.defs.quickbooks.jobs import QUICKBOOKS_SYNC
    from qb_pipeline.defs.quickbooks.partitions import ensure_partition

    settings = settings or load_settings()
    service = IntegrationService(settings)
    service.get_org(org_slug)  # NotFound before anything starts
    job = defs.resolve_job_def(QUICKBOOKS_SYNC)
    config: dict[str, object] = {"home": str(settings.home)}
    if today is not None:
        config["today"] = today.isoformat()
    if lock_wait_seconds is not None:
        config["lock_wait_seconds"] = float(lock_wait_seconds)
    run_config = {
        "resources": {"quickbooks": {"config": config}},
        # The run's events go to the instance (and the UI); the terminal gets `on_progress`.
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
    }
    with open_instance(settings, service) as instance:
        ensure_partition(instance, org_slug)
        run_id = str(uuid.uuid4())  # known before the run starts, so it can be watched
        watcher = _Watcher(instance, run_id, len(job.graph.node_dict), on_progress)
        watcher.start()
        try:
            result = job.execute_in_process(
                run_config=run_config,
                instance=instance,
                partition_key=org_slug,
                run_id=run_id,
                raise_on_error=False,
                tags={**process_tags(), "qbp/trigger": "cli"},
            )
        finally:
            watcher.stop()
        failures = [
            event
            for event in result.all_events
            if event.event_type == DagsterEventType.STEP_FAILURE
        ]
        if not result.success:
            _record_failure(service, instance, run_id, result.all_events, failures)
    message = _failure_message(failures[0]) if failures else None
    return SyncOutcome(
        org_slug=org_slug,
        run_id=run_id,
        succeeded=result.success,
        message=message,
        status=service.status(org_slug),
        failed_steps=[event.step_key or "" for event in failures],
    )


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
    from qb_pipeline.defs.quickbooks.failure_sensor import failure_reason, record_failed_sync

    run = instance.get_run_by_id(run_id)
    ended = [event for event in events if event.event_type == DagsterEventType.RUN_FAILURE]
    if run is None or not ended:
        return
    record_failed_sync(service, instance, run, failure_reason(ended[-1], failures))


def _failure_message(event) -> str:  # noqa: ANN001 - a DagsterEvent of a step failure
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    error = data.error
    while error is not None and error.cause is not None and "DagsterExecution" in error.cls_name:
        error = error.cause
    return error.message.strip() if error is not None else "the step failed"


# -- showing progress in a shell ------------------------------------------------------------
BAR_CELLS = 24
# Erase from the cursor to the end of the line (ANSI; every terminal emulator knows it).
ERASE_LINE = "\x1b[K"


class ProgressDisplay:
    """Shows a running sync's `Progress` in a shell; pass it as `on_progress`, then `close()`.

    On a terminal, one line at the bottom is redrawn in place: a bar of the steps done, the
    count, the time since the start, the running step and its latest news (the entity, page
    and rows the source is at, a retry, a wait for the warehouse). Each step that ends
    leaves a line above the bar, so the screen keeps a short history. Anywhere else (CI
    logs, pipes, files) every event is one plain line and nothing is redrawn, so a log reads
    top to bottom. Failures go to `err` in both cases.
    """

    def __init__(
        self,
        out: TextIO,
        err: TextIO | None = None,
        *,
        interactive: bool = False,
        columns: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`columns`: the terminal's width now (default: asked of the terminal at each
        redraw, so a resized window is followed); `clock`: seconds, for the elapsed time."""
        self._out = out
        self._err = err or out
        self._interactive = interactive
        self._columns = columns or _terminal_columns
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0
        self._step: str | None = None
        self._news = ""
        self._bar_shown = False

    @classmethod
    def for_shell(cls) -> ProgressDisplay:
        """On this process's stdout and stderr; a bar only when stdout is a terminal that
        can redraw a line (not `TERM=dumb`)."""
        interactive = _is_terminal(sys.stdout) and os.environ.get("TERM") != "dumb"
        return cls(sys.stdout, sys.stderr, interactive=interactive)

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            self._done, self._total = progress.steps_done, progress.steps_total
            if self._interactive:
                self._show_on_terminal(progress)
            else:
                self._show_as_line(progress)

    def close(self) -> None:
        """End the bar's line (a terminal keeps the last bar as the sync left it)."""
        with self._lock:
            if self._bar_shown:
                self._step, self._news = None, ""
                self._draw_bar()
                self._out.write("\n")
                self._out.flush()
                self._bar_shown = False

    # -- plain lines --------------------------------------------------------------------------
    def _show_as_line(self, progress: Progress) -> None:
        counter = f"[{progress.steps_done}/{progress.steps_total}]"
        indent = " " * len(counter)
        kind = progress.kind
        if kind == "step_started":
            self._line(f"{counter} {progress.step} ...")
        elif kind == "step_succeeded":
            self._line(f"{counter} {progress.step} done")
        elif kind == "step_failed":
            self._line(f"{counter} {progress.step} failed: {progress.text}", error=True)
        elif kind == "waiting":
            self._line(f"{indent} {progress.step}: {progress.text}")
        elif kind == "log":
            self._line(f"{indent} {news_text(progress.text)}")

    # -- the bar ------------------------------------------------------------------------------
    def _show_on_terminal(self, progress: Progress) -> None:
        kind = progress.kind
        counter = f"[{progress.steps_done}/{progress.steps_total}]"
        if kind == "step_started":
            self._step, self._news = progress.step, ""
        elif kind == "step_succeeded":
            self._above_bar(f"{counter} {progress.step} done")
            self._step, self._news = None, ""
        elif kind == "step_failed":
            self._above_bar(f"{counter} {progress.step} failed: {progress.text}", error=True)
            self._step, self._news = None, ""
        elif kind in ("waiting", "log"):
            self._step = progress.step or self._step
            self._news = news_text(progress.text)
        self._draw_bar()

    def _draw_bar(self) -> None:
        cells = BAR_CELLS * self._done // self._total if self._total else 0
        bar = "[" + "#" * cells + "-" * (BAR_CELLS - cells) + "]"
        elapsed = int(self._clock() - self._started)
        parts = [bar, f"{self._done}/{self._total}", f"{elapsed // 60}:{elapsed % 60:02d}"]
        if self._step:
            parts.append(f"{self._step}: {self._news}" if self._news else self._step)
        # One column short of the width: a full line would make the terminal wrap.
        line = _shorten(" ".join(parts), max(self._columns() - 1, 20))
        self._out.write(f"\r{line}{ERASE_LINE}")
        self._out.flush()
        self._bar_shown = True

    def _above_bar(self, text: str, *, error: bool = False) -> None:
        """A line that stays: the bar is erased, the line written, the bar drawn again."""
        if self._bar_shown:
            self._out.write(f"\r{ERASE_LINE}")
            self._out.flush()
            self._bar_shown = False
        self._line(text, error=error)

    def _line(self, text: str, *, error: bool = False) -> None:
        stream = self._err if error else self._out
        stream.write(text + "\n")
        stream.flush()


def news_text(text: str) -> str:
    """A forwarded log line without its logger's name (`qb_pipeline.sources.quickbooks: `)."""
    if text.startswith("qb_pipeline."):
        return text.split(": ", 1)[-1]
    return text


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _terminal_columns() -> int:
    return shutil.get_terminal_size(fallback=(80, 24)).columns


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


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
            self._done += 1
            self._emit("step_failed", step, _failure_message(event))
        elif kind == DagsterEventType.STEP_SKIPPED:
            self._done += 1
        elif kind == DagsterEventType.ENGINE_EVENT and "blocked by limit for pool" in (
            event.message or ""
        ):
            self._emit("waiting", step, "waiting for the warehouse (another run is writing it)")

    def _emit(self, kind: str, step: str | None, text: str) -> None:
        assert self._report is not None
        self._report(Progress(kind, step, text, self._done, self._total))
