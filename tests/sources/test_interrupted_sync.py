"""A sync that dies half-way (an error while reading, or the process killed while loading)
and is run again ends with exactly the data of a sync that was never interrupted."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from qb_pipeline.sync.pipeline import pipeline_name
from tests.sources.conftest import Company, contents, make_warehouse, realms

ORG = "acme"
# Lists, transactions with nested lines, a singleton and (always) the reports: every kind of
# table, in fewer of them than a whole company has, to keep the test quick.
ENTITIES = ["Account", "Customer", "Invoice", "Payment", "JournalEntry", "Purchase", "CompanyInfo"]
ROOT = Path(__file__).resolve().parents[2]


class FailingTransport(httpx.BaseTransport):
    """The network goes away after `after` requests."""

    def __init__(self, after: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.left = after

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.left -= 1
        if self.left < 0:
            raise httpx.ConnectError("network unreachable", request=request)
        return self.inner.handle_request(request)


@pytest.fixture(scope="module")
def company(private_emulator) -> Company:
    running = private_emulator()
    return Company(running, realms(running)[0])


@pytest.fixture(scope="module")
def uninterrupted(company, tmp_path_factory) -> dict[str, list[tuple]]:
    warehouse = make_warehouse(tmp_path_factory.mktemp("uninterrupted") / "qbp-home")
    warehouse.sync(ORG, company, entities=ENTITIES)
    return contents(warehouse)


def test_a_sync_that_fails_while_reading_and_runs_again_ends_identical(
    company, uninterrupted, tmp_path
):
    warehouse = make_warehouse(tmp_path / "qbp-home")
    failing = company.client(transport=FailingTransport(after=12), max_attempts=1)
    with pytest.raises(PipelineStepFailed) as failed:
        warehouse.sync(ORG, company, client=failing, entities=ENTITIES)
    assert "QuickBooks could not be reached" in str(failed.value)

    warehouse.sync(ORG, company, entities=ENTITIES)

    assert contents(warehouse) == uninterrupted


def kill_while_loading(home: Path, company: Company, settle: float = 0.0) -> Path:
    """Start a sync in another process and SIGKILL it once its load step has begun (and
    `settle` seconds more); returns the folder of the load packages still pending."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.sources.sync_worker", str(home), company.url,
         company.realm_id, ORG, ",".join(ENTITIES)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    pending = (
        home / "orgs" / ORG / "dlt" / pipeline_name(ORG, company.realm_id) / "load" / "normalized"
    )
    deadline = time.monotonic() + 120
    while not (pending.is_dir() and any(pending.iterdir())):
        assert worker.poll() is None, "the sync ended before its load step began"
        assert time.monotonic() < deadline, "the sync never reached its load step"
        time.sleep(0.005)
    time.sleep(settle)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    return pending


def test_a_sync_killed_while_loading_and_run_again_ends_identical(company, uninterrupted, tmp_path):
    home = tmp_path / "qbp-home"
    pending = kill_while_loading(home, company)
    assert any(pending.iterdir()), "the load finished before the kill"

    warehouse = make_warehouse(home)
    warehouse.sync(ORG, company, entities=ENTITIES)

    assert contents(warehouse) == uninterrupted


def test_a_killed_load_leaves_the_previous_state_in_force_without_local_files(
    company, uninterrupted, tmp_path
):
    """Dagster's dlt resource wipes the local pipeline folder before a run: the re-run then
    starts from the state of the last *completed* load in the warehouse."""
    home = tmp_path / "qbp-home"
    kill_while_loading(home, company, settle=0.3)
    shutil.rmtree(home / "orgs" / ORG / "dlt" / pipeline_name(ORG, company.realm_id))

    warehouse = make_warehouse(home)
    warehouse.sync(ORG, company, entities=ENTITIES)

    assert contents(warehouse) == uninterrupted
