"""Runs whose process is gone: found, marked failed with the reason, never counted as running.

A run killed with `kill -9` (or by the OOM killer, a closed laptop, a reboot) reports nothing:
it stays NOT_STARTED or STARTED in Dagster's run storage for good. The sensors would then skip
its organization ("its previous sync is still queued or running"), the run queue's
one-run-per-partition limit would hold the organization's queued runs, and its nightly syncs
would silently stop. Dagster's run monitoring cannot see it: the default run launcher cannot
check a run worker's health, and a `qb-pipeline sync` with no daemon to launch its run executes
it in its own process, outside any launcher.

So this module finds the process of every unfinished run and, when it is gone, marks the run
failed ("interrupted: ...") and closes its sync-log entry as failed (its organization's
writer lock went with its process). The process is known from:

- the tags `qbp/host` and `qbp/pid` that `qb-pipeline sync` puts on a run it executes itself
  (instance.process_tags), on this machine only;
- for runs the daemon launched with Dagster's default run launcher, the run worker's engine
  event "Started process for run (pid: N)" (its metadata `pid`); such workers are children of
  a code server on this machine.

A pid the kernel gave to a newer process (Linux reuses them) does not count as the run's: a
process that started after the moment its pid was recorded is another one. A zombie (killed,
not yet reaped) is gone. A run whose process is unknown (queued, launching, or on another
machine) is left alone: the queue and run monitoring own those.

Called when an instance is opened (every `qb-pipeline sync` and `status`; instance.py), by the
sensor `quickbooks_abandoned_runs` (quickbooks/sensors/abandoned_runs.py), by the raw step
before it opens a sync entry (`close_abandoned_entry`), and by `sync_in_progress`
(quickbooks/schedules.py), which never counts such a run as in progress.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunRecord, RunsFilter
from dagster._core.launcher import DefaultRunLauncher

from qb_pipeline.connections import IntegrationService

HOST_TAG = "qbp/host"
PID_TAG = "qbp/pid"

# Statuses of a run that has (or had) a process; QUEUED runs have none yet.
WITH_A_PROCESS = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
# Statuses of a run that is not finished: queued, launching or running.
UNFINISHED_RUN_STATUSES = [DagsterRunStatus.QUEUED, *WITH_A_PROCESS]
# /proc's start times are in clock ticks since boot, boot time in whole seconds: a process
# counts as started "after" a moment only beyond this margin.
START_TIME_SLACK_SECONDS = 2.0


@dataclass(frozen=True)
class RunProcess:
    """The process that executes a run, and when that pid was recorded (epoch seconds)."""

    pid: int
    known_since: float
    source: str  # "qb-pipeline sync" or "run worker"


@dataclass(frozen=True)
class Abandoned:
    """An unfinished run whose process is gone."""

    run_id: str
    job_name: str
    partition: str | None
    process: RunProcess

    @property
    def reason(self) -> str:
        return (
            f"interrupted: the {self.process.source} process (pid {self.process.pid}) running "
            "this run stopped before it finished (killed?); the next sync starts again from "
            "the last completed load"
        )


def run_process(instance: DagsterInstance, record: RunRecord) -> RunProcess | None:
    """The process executing the run, if this machine can know it."""
    run = record.dagster_run
    tags = run.tags
    if PID_TAG in tags:
        if tags.get(HOST_TAG) != socket.gethostname() or not tags[PID_TAG].isdigit():
            return None
        return RunProcess(int(tags[PID_TAG]), _epoch(record.create_timestamp), "qb-pipeline sync")
    if not isinstance(instance.run_launcher, DefaultRunLauncher):
        return None  # a worker on another machine (Docker, Kubernetes): run monitoring's job
    engine_events = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ENGINE_EVENT, ascending=False, limit=50
    ).records
    for event_record in engine_events:
        event = event_record.event_log_entry.dagster_event
        data = event.event_specific_data if event is not None else None
        pid = getattr(data, "metadata", {}).get("pid") if data is not None else None
        if pid is not None and str(pid.value).isdigit():
            return RunProcess(int(pid.value), event_record.event_log_entry.timestamp, "run worker")
    return None


def _epoch(moment: datetime) -> float:
    """Run storage keeps naive UTC datetimes."""
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def process_gone(process: RunProcess) -> bool:
    """Whether the process is no longer there (exited, zombie, or its pid reused since)."""
    stat = Path(f"/proc/{process.pid}/stat")
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return True
    except OSError:
        return _signal_says_gone(process.pid)
    state, start_ticks = fields[0], int(fields[19])
    if state in ("Z", "X"):
        return True
    started = _boot_time() + start_ticks / os.sysconf("SC_CLK_TCK")
    return started > process.known_since + START_TIME_SLACK_SECONDS


def _signal_says_gone(pid: int) -> bool:
    """Without /proc: signal 0 tells whether the pid exists at all."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("/proc/stat has no btime line")


def find_abandoned(
    instance: DagsterInstance, partition: str | None = None, job_name: str | None = None
) -> list[Abandoned]:
    """Unfinished runs (of the organization's partition and the job, when given) whose
    process is gone."""
    tags = {"dagster/partition": partition} if partition is not None else {}
    records = instance.get_run_records(
        RunsFilter(job_name=job_name, tags=tags, statuses=WITH_A_PROCESS)
    )
    found = []
    for record in records:
        process = run_process(instance, record)
        if process is not None and process_gone(process):
            run = record.dagster_run
            found.append(
                Abandoned(run.run_id, run.job_name, run.tags.get("dagster/partition"), process)
            )
    return found


def fail_abandoned_runs(
    instance: DagsterInstance, service: IntegrationService | None, partition: str | None = None
) -> list[Abandoned]:
    """Mark every unfinished run whose process is gone as failed and close its sync-log
    entry (when `service` is given). Returns the runs failed."""
    from qb_pipeline.defs.jobs import QUICKBOOKS_SYNC
    from qb_pipeline.defs.quickbooks.sensors.failures import record_failed_sync

    failed = []
    for abandoned in find_abandoned(instance, partition):
        # Read again after the process was found gone: nothing can change it any more, and a
        # run that ended normally just before its process exited must keep its status.
        run = instance.get_run_by_id(abandoned.run_id)
        if run is None or run.is_finished:
            continue
        instance.report_run_failed(run, abandoned.reason)
        if service is not None and run.job_name == QUICKBOOKS_SYNC:
            record_failed_sync(service, instance, run, abandoned.reason)
        failed.append(abandoned)
    return failed


def close_abandoned_entry(
    instance: DagsterInstance, service: IntegrationService, org_slug: str, run_id: str
) -> None:
    """Before run `run_id` opens the organization's next sync entry: fail the organization's
    runs whose process is gone, and close a sync entry still `running` that no unfinished run
    owns any more (its process was killed), so the integration page never shows it running."""
    fail_abandoned_runs(instance, service, partition=org_slug)
    last = service.status(org_slug).last_sync
    if last is None or last.status != "running":
        return
    others = instance.get_run_records(
        RunsFilter(tags={"dagster/partition": org_slug}, statuses=UNFINISHED_RUN_STATUSES), limit=5
    )
    if any(record.dagster_run.run_id != run_id for record in others):
        return  # another run of this organization is under way and owns that entry
    service.record_sync(
        org_slug,
        last.realm_id,
        last.started_at,
        last.finished_at or datetime.now(UTC),
        "failed",
        message="interrupted: the process running this sync stopped before it finished",
        rows=last.rows,
        requests=last.requests,
        run_id=last.id,
    )
