"""The per-realm request budget on Postgres: limiters standing for processes on different
machines (each its own connections, no shared folder) stay under the windows and the
concurrency cap together, and a killed process frees its slots."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qb_pipeline.connections.db import ControlDB, prepare
from qb_pipeline.quickbooks import RateWindow
from qb_pipeline.quickbooks.limiter import earliest_starts, shared_limiter
from qb_pipeline.quickbooks.limiter_postgres import PostgresRequestLimiter
from tests.quickbooks.test_limiter import REALM, busiest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def budget_db(postgres_url: str) -> str:
    """A migrated control DB on Postgres (migration 0006 creates request_starts)."""
    prepare(ControlDB(postgres_url=postgres_url))
    return postgres_url


def test_machines_sharing_one_postgres_never_exceed_any_window(budget_db):
    windows = (RateWindow(6, 0.6), RateWindow(2, 0.1))
    # Three limiters: three machines, each with two threads sending.
    limiters = [
        PostgresRequestLimiter(budget_db, windows=windows, concurrency=4, skew=0.0)
        for _ in range(3)
    ]
    starts: list[float] = []
    lock = threading.Lock()

    def work(limiter: PostgresRequestLimiter) -> None:
        for _ in range(4):
            with limiter.acquire(REALM), lock:
                starts.append(time.time())

    threads = [threading.Thread(target=work, args=(lim,)) for lim in limiters for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for limiter in limiters:
        limiter.close()
    assert len(starts) == 24
    # Permits are granted by the database's clock and recorded here a moment later: a few
    # milliseconds of slack for that, as in the local limiter's tests.
    assert busiest(starts, 0.6) <= 6
    assert busiest(starts, 0.1) <= 2
    assert max(starts) - min(starts) >= earliest_starts(24, windows)[-1] - 0.02


def test_the_concurrency_cap_holds_across_machines(budget_db):
    limiters = [
        PostgresRequestLimiter(budget_db, windows=(RateWindow(1000, 1.0),), concurrency=3)
        for _ in range(2)
    ]
    inside = peak = 0
    lock = threading.Lock()
    entered = threading.Barrier(3, timeout=10)

    def work(index: int) -> None:
        nonlocal inside, peak
        with limiters[index % 2].acquire(REALM):
            with lock:
                inside += 1
                peak = max(peak, inside)
            if index < 3:
                entered.wait()  # the first three are in together: the cap is reachable
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for limiter in limiters:
        limiter.close()
    assert peak == 3


HOLDER = """
import sys, time
from qb_pipeline.quickbooks import RateWindow
from qb_pipeline.quickbooks.limiter_postgres import PostgresRequestLimiter
limiter = PostgresRequestLimiter(sys.argv[1], windows=(RateWindow(1000, 1.0),), concurrency=2)
held = [limiter.acquire(sys.argv[2]) for _ in range(2)]
for permit in held:
    permit.__enter__()
print("holding", flush=True)
time.sleep(600)
"""


def test_a_killed_machine_frees_its_slots(budget_db):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, budget_db, REALM],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        limiter = PostgresRequestLimiter(budget_db, windows=(RateWindow(1000, 1.0),), concurrency=2)
        acquired = threading.Event()

        def take() -> None:
            with limiter.acquire(REALM):
                acquired.set()

        thread = threading.Thread(target=take, daemon=True)
        thread.start()
        assert not acquired.wait(0.5)  # both slots are held by the other machine
        holder.kill()  # no clean-up runs: the server ends its session and its locks
        holder.wait()
        assert acquired.wait(10)
        limiter.close()
    finally:
        holder.kill()
        holder.wait()


def test_the_shared_limiter_follows_the_control_db(tmp_path, budget_db):
    on_postgres = shared_limiter(tmp_path, postgres_url=budget_db)
    assert isinstance(on_postgres, PostgresRequestLimiter)
    assert shared_limiter(tmp_path, postgres_url=budget_db) is on_postgres
    assert shared_limiter(tmp_path) is not on_postgres
    assert budget_db.split("@")[0].split(":")[-1] not in repr(on_postgres)  # no password
