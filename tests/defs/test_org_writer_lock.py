"""Each organization writes its own DuckDB file, and a run holds its organization's writer
lock from its first step to its last: a second run of the same organization waits (or fails
saying so, having changed nothing), a run of another organization never waits, and a holder
killed with SIGKILL leaves the lock free."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest

from qb_pipeline.file_locks import LockTimeout, exclusive_file_lock
from qb_pipeline.sync.runner import sync_org
from qb_pipeline.warehouse.writer import WRITER_LOCK_FILE, OrganizationBusy, org_writer_lock
from tests.conftest import TEST_TODAY
from tests.connections.conftest import add_team, connect_company
from tests.defs.conftest import ORG

OTHER = "globex"


def writer_lock(settings, org: str, wait_seconds: float = 0):
    return org_writer_lock(settings.org_dir(org), org, wait_seconds)


@pytest.mark.slow
def test_a_second_run_of_an_organization_waits_for_the_first(connected):
    settings = connected.config
    waiting = threading.Event()
    outcome = []

    def on_progress(progress):
        if progress.kind == "log" and f"Another run of {ORG} is writing" in progress.text:
            waiting.set()

    def sync():
        outcome.append(sync_org(ORG, today=TEST_TODAY, on_progress=on_progress))

    worker = threading.Thread(target=sync)
    with writer_lock(settings, ORG):
        worker.start()
        assert waiting.wait(timeout=120), "the sync never waited for the writer lock"
        assert not settings.warehouse_path(ORG).exists()  # nothing written meanwhile
    worker.join(timeout=300)

    (done,) = outcome
    assert done.succeeded, done.message
    assert connected.status(ORG).last_sync.status == "succeeded"


@pytest.mark.slow
def test_another_organization_syncs_while_one_is_locked(connected):
    settings = connected.config
    add_team(connected, OTHER)
    connect_company(connected, OTHER)

    with writer_lock(settings, ORG):
        other = sync_org(OTHER, today=TEST_TODAY, lock_wait_seconds=0)
        blocked = sync_org(ORG, today=TEST_TODAY, lock_wait_seconds=0.2)

    assert other.succeeded, other.message
    assert settings.serving_path(OTHER).exists()
    assert not blocked.succeeded
    assert f"another run of {ORG} is writing its warehouse" in (blocked.message or "")
    assert not settings.warehouse_path(ORG).exists()  # the refused run wrote nothing
    assert not settings.serving_path(ORG).exists()


def test_the_lock_times_out_with_the_organization_named(tmp_path):
    with org_writer_lock(tmp_path / "acme", "acme", 0):
        busy = pytest.raises(OrganizationBusy, match="another run of acme is writing")
        with busy, org_writer_lock(tmp_path / "acme", "acme", 0.05):
            pass
        with org_writer_lock(tmp_path / "globex", "globex", 0):  # never waits for acme
            pass


def test_a_holder_killed_with_sigkill_leaves_the_lock_free(tmp_path):
    path = tmp_path / WRITER_LOCK_FILE
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys; f = open(sys.argv[1], 'a+b'); fcntl.flock(f, fcntl.LOCK_EX);"
            " print('held', flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout), exclusive_file_lock(path, wait_seconds=0):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        with exclusive_file_lock(path, wait_seconds=0):  # free at once
            pass
    finally:
        holder.kill()
        holder.wait()
