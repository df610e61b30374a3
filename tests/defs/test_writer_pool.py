"""DuckDB has one writer: steps that write the warehouse share the `duckdb_writer` pool of one
slot, so a sync waits while another run holds it; slots of runs that died are given back."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid

import pytest
from dagster import DagsterRun, DagsterRunStatus

from qb_pipeline.defs.instance import HOST_TAG, PID_TAG, release_abandoned_slots
from qb_pipeline.sync.runner import sync_org
from tests.conftest import TEST_TODAY
from tests.defs.conftest import ORG

POOL = "duckdb_writer"


def holding_run(instance, status: DagsterRunStatus, pid: int | None = None) -> str:
    """A run of another job that holds the writer slot."""
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(pid)} if pid else {}
    run = instance.add_run(
        DagsterRun(job_name="another_writer", run_id=str(uuid.uuid4()), status=status, tags=tags)
    )
    claim = instance.event_log_storage.claim_concurrency_slot(POOL, run.run_id, "write", 0)
    assert claim.is_claimed
    return run.run_id


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def claimed_by(instance) -> set[str]:
    info = instance.event_log_storage.get_concurrency_info(POOL)
    return {slot.run_id for slot in info.claimed_slots}


@pytest.mark.slow
def test_a_sync_waits_while_another_run_holds_the_writer_slot(connected, instance):
    other = holding_run(instance, DagsterRunStatus.STARTED, pid=os.getpid())
    waiting = threading.Event()
    outcome = []

    def on_progress(progress):
        if progress.kind == "waiting":
            waiting.set()

    def sync():
        outcome.append(sync_org(ORG, today=TEST_TODAY, on_progress=on_progress))

    worker = threading.Thread(target=sync)
    worker.start()
    try:
        assert waiting.wait(timeout=120), "the sync never waited for the writer slot"
        assert not connected.config.warehouse_path.exists()  # nothing written meanwhile
    finally:
        instance.event_log_storage.free_concurrency_slots_for_run(other)
        worker.join(timeout=300)

    (done,) = outcome
    assert done.succeeded, done.message
    assert connected.status(ORG).last_sync.status == "succeeded"


def test_slots_of_runs_that_are_over_or_whose_process_died_are_given_back(instance):
    instance.event_log_storage.set_concurrency_slots(POOL, 3)  # three holders at once
    finished = holding_run(instance, DagsterRunStatus.SUCCESS)
    killed = holding_run(instance, DagsterRunStatus.STARTED, pid=dead_pid())
    alive = holding_run(instance, DagsterRunStatus.STARTED, pid=os.getpid())

    freed = release_abandoned_slots(instance)

    assert set(freed) == {finished, killed}
    assert claimed_by(instance) == {alive}
    assert instance.get_run_by_id(killed).status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive).status == DagsterRunStatus.STARTED
