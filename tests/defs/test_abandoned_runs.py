"""A run whose process was killed (`kill -9`) is found, marked failed with the reason and never
holds back its organization: not counted as a sync in progress, its writer slot given back, its
sync-log entry closed as "interrupted", shown so by `qb-pipeline status`. Real processes, killed
with SIGKILL: a `qb-pipeline sync`-like process that created its run, and a Dagster run worker
(`dagster api execute_run`, which records its pid as the default run launcher's workers do).
The crash harness (tests/crash) kills real syncs at the other moments."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    build_sensor_context,
)
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._grpc.types import ExecuteRunArgs
from dagster_shared.serdes import serialize_value

from qb_pipeline.cli import main
from qb_pipeline.connections.status_text import status_lines
from qb_pipeline.connections.sync_log import SYNC_RUN_TAG
from qb_pipeline.defs.abandoned_runs import (
    RunProcess,
    find_abandoned,
    process_gone,
)
from qb_pipeline.defs.partitions import ensure_partition
from qb_pipeline.defs.quickbooks.schedules import build_sync_sensor, sync_in_progress
from qb_pipeline.defs.quickbooks.sensors.abandoned_runs import (
    SENSOR_NAME,
    build_abandoned_runs_sensor,
)
from qb_pipeline.defs.resources import QuickBooksIntegration
from tests.defs.conftest import ORG
from tests.defs.killed_run import killed_run

ROOT = Path(__file__).resolve().parents[2]
DAGSTER = Path(sys.executable).with_name("dagster")
START_SECONDS = 300


def reap(instance: DagsterInstance) -> None:
    """One evaluation of the abandoned-runs sensor, as the daemon does."""
    sensor = build_abandoned_runs_sensor()
    sensor(
        build_sensor_context(instance=instance, resources={"quickbooks": QuickBooksIntegration()})
    )


def sync_log(service) -> list[tuple[str, str | None]]:
    with sqlite3.connect(service.db_path) as conn:
        return conn.execute("SELECT status, message FROM sync_runs ORDER BY id").fetchall()


def status_text(service) -> str:
    return " ".join(" ".join(status_lines(service.status(ORG))).split())


def nightly_requests(instance: DagsterInstance) -> list[str]:
    """The schedule sensor's requests at a due nightly slot (02:00 UTC by default)."""
    due = datetime(2026, 11, 16, 2, 0, 30, tzinfo=UTC)
    cursor = f'{{"evaluated_at": "{(due - timedelta(minutes=1)).isoformat()}"}}'
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"quickbooks": QuickBooksIntegration()}
    )
    return [r.partition_key for r in build_sync_sensor(clock=lambda: due)(context).run_requests]


def test_a_sync_killed_before_its_run_started_is_failed_and_blocks_nothing(connected, instance):
    ensure_partition(instance, ORG)
    run_id = killed_run("NOT_STARTED")
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.NOT_STARTED

    # Even before anyone marks it, a run without its process is not a sync in progress.
    assert not sync_in_progress(instance, ORG)
    assert nightly_requests(instance) == [ORG]

    reap(instance)

    run = instance.get_run_by_id(run_id)
    assert run.status == DagsterRunStatus.FAILURE
    (failure,) = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_FAILURE).records
    assert failure.event_log_entry.dagster_event.message.startswith(
        "interrupted: the qb-pipeline sync process (pid "
    )
    assert "Last sync failed: interrupted: the qb-pipeline sync process" in status_text(connected)
    reap(instance)  # seen again: nothing more
    assert [status for status, _ in sync_log(connected)] == ["failed"]
    assert find_abandoned(instance) == []


def test_a_killed_syncs_running_entry_is_closed_as_interrupted_once(connected, instance):
    ensure_partition(instance, ORG)
    run_id = killed_run("STARTED", entry=True)
    entry_id = int(instance.get_run_by_id(run_id).tags[SYNC_RUN_TAG])
    assert connected.status(ORG).last_sync.status == "running"

    reap(instance)
    reap(instance)

    last = connected.status(ORG).last_sync
    assert (last.id, last.status) == (entry_id, "failed")
    assert last.message.startswith("interrupted: the qb-pipeline sync process (pid ")
    assert last.finished_at is not None
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE


def test_qb_pipeline_status_shows_a_killed_sync_as_interrupted(connected, instance):
    ensure_partition(instance, ORG)
    run_id = killed_run("STARTED", entry=True)

    result = CliRunner().invoke(main, ["status", "--org", ORG])

    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Last sync failed: interrupted: the qb-pipeline sync process (pid " in text
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE


def test_a_run_of_a_live_process_is_left_alone(connected, instance):
    from dagster import DagsterRun

    from qb_pipeline.defs.instance import process_tags

    ensure_partition(instance, ORG)
    alive = instance.add_run(
        DagsterRun(
            job_name="quickbooks_sync",
            run_id="2" * 8 + "-0000-4000-8000-" + "0" * 12,
            status=DagsterRunStatus.STARTED,
            tags={"dagster/partition": ORG, **process_tags()},
        )
    )

    reap(instance)

    assert instance.get_run_by_id(alive.run_id).status == DagsterRunStatus.STARTED
    assert sync_in_progress(instance, ORG)
    assert nightly_requests(instance) == []


def test_a_pid_the_kernel_gave_to_a_newer_process_is_not_the_runs():
    this_process_started = _started(os.getpid())

    assert not process_gone(RunProcess(os.getpid(), this_process_started + 1, "test"))
    assert process_gone(RunProcess(os.getpid(), this_process_started - 3600, "test"))


def test_a_killed_process_not_yet_reaped_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        known_since = time.time()
        assert not process_gone(RunProcess(child.pid, known_since, "test"))
        child.send_signal(signal.SIGKILL)
        _wait_until(lambda: Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1][0] == "Z")

        assert process_gone(RunProcess(child.pid, known_since, "test"))  # a zombie
    finally:
        child.wait()
    assert process_gone(RunProcess(child.pid, known_since, "test"))  # reaped


@pytest.mark.slow
def test_a_run_worker_killed_during_its_run_is_failed_with_its_pid(connected, instance):
    """The worker a run launcher starts records its pid in the engine event "Started process
    for run (pid: N)"; killed, its run is failed and its sync entry closed."""
    from qb_pipeline.defs import defs

    ensure_partition(instance, ORG)
    repository = ReconstructableRepository.for_module(
        "qb_pipeline.defs.definitions", "defs", working_directory=str(ROOT)
    )
    job = repository.get_reconstructable_job("quickbooks_sync")
    run = instance.create_run_for_job(
        job_def=defs.resolve_job_def("quickbooks_sync"),
        tags={"dagster/partition": ORG},
        job_code_origin=job.get_python_origin(),
        status=DagsterRunStatus.NOT_STARTED,
    )
    arguments = ExecuteRunArgs(
        job_origin=job.get_python_origin(), run_id=run.run_id, instance_ref=instance.get_ref()
    )
    worker = subprocess.Popen(
        [str(DAGSTER), "api", "execute_run", serialize_value(arguments)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Killed once its raw step runs: the sync entry is open, the writer slot held.
        _wait_until(lambda: instance.get_run_by_id(run.run_id).tags.get(SYNC_RUN_TAG))
        assert worker.poll() is None, "the run ended before it could be killed"
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait()
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED
    assert connected.status(ORG).last_sync.status == "running"

    reap(instance)

    failed = instance.get_run_by_id(run.run_id)
    assert failed.status == DagsterRunStatus.FAILURE
    reason = f"interrupted: the run worker process (pid {worker.pid}) running this run"
    last = connected.status(ORG).last_sync
    assert (last.status, last.message.startswith(reason)) == ("failed", True)
    assert not sync_in_progress(instance, ORG)


def test_the_code_location_runs_the_sensor():
    from qb_pipeline.defs import defs

    sensor = defs.resolve_sensor_def(SENSOR_NAME)

    assert sensor.default_status.value == "RUNNING"


def _started(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    boot = next(
        float(line.split()[1])
        for line in Path("/proc/stat").read_text().splitlines()
        if line.startswith("btime ")
    )
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _wait_until(condition, seconds: float = START_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never came"
        time.sleep(0.05)  # the polling period, not a wait for something to happen
