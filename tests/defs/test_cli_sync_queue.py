"""`qb-pipeline sync` goes through the run queue: its run is QUEUED with the tags of every sync
(partition, `qbp/realm`) and never runs beside another run of its company.

Without a daemon the command takes its run out of the queue itself once the queue's limits
allow it; with the real daemon running, the daemon launches it in a run worker and the
command follows it to the end."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterRun, DagsterRunStatus, RunsFilter

from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.instance import open_instance, process_tags
from qb_pipeline.sync.launcher import PARTITION_TAG, REALM_TAG, TRIGGER_TAG
from qb_pipeline.sync.runner import sync_org
from tests.conftest import TEST_TODAY
from tests.connections.conftest import add_team, connect_company
from tests.defs.conftest import ORG
from tests.defs.test_daemon_lifecycle import (
    DAEMON_START_SECONDS,
    RUN_SECONDS,
    Daemon,
    daemon_env,
    wait_for,
)

pytestmark = pytest.mark.slow

TWIN = "twin"  # another organization connected to the same company
SYNC = "quickbooks_sync"
QB_PIPELINE = Path(sys.executable).with_name("qb-pipeline")


def enqueued(instance, run_id: str) -> bool:
    return bool(instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_ENQUEUED).records)


def test_without_a_daemon_the_cli_sync_waits_in_the_queue_behind_a_run_of_its_company(
    connected,
):
    settings = connected.config
    realm = connected.status(ORG).realm_id
    queued = threading.Event()
    seen: list = []
    outcome: list = []

    def on_progress(progress):
        seen.append(progress)
        if progress.kind == "waiting" and "queued behind run" in progress.text:
            queued.set()

    def sync():
        outcome.append(sync_org(ORG, today=TEST_TODAY, on_progress=on_progress))

    with open_instance(settings) as instance:
        # A sync of the twin in progress (this test process stands for its worker, so it is
        # not taken for abandoned).
        blocker = DagsterRun(
            job_name=SYNC,
            run_id=str(uuid.uuid4()),
            status=DagsterRunStatus.STARTED,
            tags={PARTITION_TAG: TWIN, REALM_TAG: realm, **process_tags()},
        )
        instance.add_run(blocker)
        worker = threading.Thread(target=sync)
        worker.start()
        assert queued.wait(timeout=120), f"the sync did not wait in the queue: {seen}"
        (record,) = instance.get_run_records(RunsFilter(job_name=SYNC, tags={PARTITION_TAG: ORG}))
        run = record.dagster_run
        assert run.status == DagsterRunStatus.QUEUED
        assert (run.tags[REALM_TAG], run.tags[TRIGGER_TAG]) == (realm, "cli")
        assert blocker.run_id[:8] in next(p.text for p in seen if p.kind == "waiting")
        released = time.time()
        instance.report_run_canceled(instance.get_run_by_id(blocker.run_id))
        worker.join(timeout=RUN_SECONDS)
        assert not worker.is_alive()

        (done,) = outcome
        assert done.succeeded, done.message
        (record,) = instance.get_run_records(RunsFilter(run_ids=[done.run_id]))
        assert record.start_time >= released
        assert enqueued(instance, done.run_id)
    assert connected.status(ORG).last_sync.status == "succeeded"


def test_with_the_daemon_the_cli_sync_is_launched_by_it_and_never_overlaps_its_company(
    make_emulator, make_env, tmp_path
):
    running = make_emulator(limits_enabled=False)
    settings = make_env(running.url)
    service = IntegrationService(settings)
    for org in (ORG, TWIN):
        add_team(service, org)
    realm = connect_company(service, ORG).realm_id
    connect_company(service, TWIN, realm)
    # The connection sensor requests a sync of each new connection: the company's syncs.
    with open_instance(settings) as instance:
        daemon = Daemon(daemon_env(settings), tmp_path / "daemon.log")

        def a_sync_running():
            return instance.get_run_records(
                RunsFilter(job_name=SYNC, statuses=[DagsterRunStatus.STARTED])
            )

        try:
            wait_for("a sync the daemon launched", a_sync_running, daemon, DAEMON_START_SECONDS)
            started = time.monotonic()
            cli = subprocess.run(
                [str(QB_PIPELINE), "sync", "--org", TWIN, "--today", TEST_TODAY.isoformat()],
                capture_output=True,
                text=True,
                timeout=RUN_SECONDS * 2,
                check=False,
            )
            took = time.monotonic() - started
            all_done = wait_for(
                "every sync of the company to end",
                lambda: (
                    (records := instance.get_run_records(RunsFilter(job_name=SYNC)))
                    and all(r.dagster_run.is_finished for r in records)
                    and records
                ),
                daemon,
                RUN_SECONDS,
            )
        finally:
            stopped = daemon.stop()
        assert stopped, daemon.tail()
        assert cli.returncode == 0, cli.stdout + cli.stderr + daemon.tail()
        assert f"Sync of {TWIN} succeeded:" in cli.stdout
        finished = sorted(all_done, key=lambda r: r.start_time)
        assert all(r.dagster_run.status == DagsterRunStatus.SUCCESS for r in finished)
        for before, after in itertools.pairwise(finished):
            assert before.end_time <= after.start_time, "two syncs of one company overlapped"
        assert "queued" in cli.stdout  # it told why it waited
        mine = [r for r in all_done if r.dagster_run.tags.get(TRIGGER_TAG) == "cli"]
        (record,) = mine
        run = record.dagster_run
        assert (run.tags[PARTITION_TAG], run.tags[REALM_TAG]) == (TWIN, realm)
        assert enqueued(instance, run.run_id)
        assert "qbp/pid" not in run.tags  # a run worker of the daemon executed it
        print(f"CLI sync behind the daemon's took {took:.0f} s")
