"""The crash harness's deterministic slice (bench/run crash runs the long version): a real
`qb-pipeline sync` killed with `kill -9` at fixed moments of a nightly sync, the daemon's sensors
evaluated (the killed run is failed, nothing stays running, the schedule syncs the organization
again), then a normal sync that must end with exactly the clean sync's tables; and a sync on a
full disk that fails with one line and is recovered by the next one."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crash.harness import (
    MOMENTS,
    Home,
    Lab,
    contents,
    crash_trial,
    differences,
    full_disk_trial,
    lab,
    run_sync,
)

pytestmark = pytest.mark.slow

FULL_DISK_LIMIT = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def crash_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab(tmp_path_factory.mktemp("crash")) as made:
        yield made


@pytest.fixture(scope="module")
def clean(crash_lab: Lab) -> tuple[Home, dict[str, list[tuple]]]:
    """A home after one uninterrupted sync, and its tables."""
    home = crash_lab.new_home("clean")
    synced = run_sync(home)
    assert synced.returncode == 0, "\n".join(synced.output[-20:])
    tables = contents(home.warehouse)
    assert differences(tables, contents(home.serving)) == []
    return home, tables


@pytest.mark.parametrize(
    "moment",
    [
        "after-raw-load",  # between steps: no writer slot held, the run stayed STARTED
        "after-finish",  # the sync log used to say "succeeded" here, before publishing
        "token-health",  # inside a step outside the writer pool
        "after-publish",  # the serving copy is in place, the run not yet ended
    ],
)
def test_a_nightly_sync_killed_at_this_moment_is_recovered_by_the_next_sync(
    moment: str, clean: tuple[Home, dict], tmp_path: Path
):
    home, tables = clean
    trial = crash_trial(
        home.copy_to(tmp_path / "home"), MOMENTS[moment], tables, random.Random(7), "later"
    )

    assert trial.killed.killed, f"the sync ended before the kill: {trial.killed.output[-3:]}"
    after = trial.after_kill
    assert after.status_before == "STARTED"
    assert after.killed_run_status == "FAILURE"
    assert not after.succeeded_unpublished
    if moment in ("after-raw-load", "after-finish", "token-health"):
        assert after.killed_entry_status == "failed"
        assert after.last_sync[1].startswith("interrupted: the qb-pipeline sync process (pid ")
    assert trial.problems == []


def test_a_sync_on_a_full_disk_fails_in_one_line_and_the_next_one_recovers(
    crash_lab: Lab, clean: tuple[Home, dict]
):
    _, tables = clean

    disk = full_disk_trial(crash_lab.new_home("full-disk"), tables, FULL_DISK_LIMIT)

    assert disk.problems == []
    assert disk.stored_message.startswith(
        "no space left writing the warehouse of demo ("
    ) or disk.stored_message.startswith("no space left writing dlt's load files of demo (")
    assert disk.stored_message.endswith("and run the sync again")
    assert len(disk.stored_message) < 400
    *_, last = disk.limited.stderr_lines
    assert last.startswith("Error: sync of demo failed (run ")
    assert last.endswith(disk.stored_message)
