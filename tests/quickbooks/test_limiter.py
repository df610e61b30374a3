"""The per-realm limiter keeps every process of a machine under QuickBooks' limits, and
paces a sync by those limits rather than by its own overhead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qb_pipeline.quickbooks import LocalRequestLimiter, RateWindow
from qb_pipeline.quickbooks.limiter import earliest_starts, shared_limiter
from tests.quickbooks.conftest import EmulatorTokens, first_realm, inject, request_log

ROOT = Path(__file__).resolve().parents[2]
REALM = "9130000000000001"


def busiest(starts: list[float], seconds: float, tolerance: float = 0.02) -> int:
    """The most starts seen in any window of `seconds` (less a little measuring slack)."""
    starts = sorted(starts)
    best = 0
    for index, first in enumerate(starts):
        best = max(best, sum(1 for t in starts[index:] if t < first + seconds - tolerance))
    return best


def test_starts_never_exceed_any_window(tmp_path):
    windows = (RateWindow(6, 0.6), RateWindow(2, 0.1))
    limiter = LocalRequestLimiter(tmp_path, windows=windows, concurrency=4, skew=0.0)
    starts: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(4):
            with limiter.acquire(REALM), lock:
                starts.append(time.time())

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(starts) == 24
    assert busiest(starts, 0.6) <= 6
    assert busiest(starts, 0.1) <= 2
    # Paced by the limit: never faster than a perfect client could go.
    assert max(starts) - min(starts) >= earliest_starts(24, windows)[-1] - 0.02


def test_limiters_starting_together_on_a_new_realm_file_never_report_a_lock(tmp_path):
    # Each limiter stands for one process; all take their first permit for a realm whose
    # window file does not exist yet. SQLite fails a concurrent switch to WAL at once with
    # "database is locked", so creating the file must be serialized.
    for round_number in range(25):
        root = tmp_path / str(round_number)
        limiters = [LocalRequestLimiter(root, concurrency=4) for _ in range(4)]
        errors: list[Exception] = []

        def first_permit(limiter: LocalRequestLimiter, errors: list = errors) -> None:
            try:
                with limiter.acquire(REALM):
                    pass
            except Exception as error:  # collected and asserted below
                errors.append(error)

        threads = [threading.Thread(target=first_permit, args=(lim,)) for lim in limiters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == [], f"round {round_number}"


def test_concurrency_is_capped_within_a_process(tmp_path):
    limiter = LocalRequestLimiter(tmp_path, windows=(RateWindow(1000, 1.0),), concurrency=3)
    inside = 0
    peak = 0
    lock = threading.Lock()
    entered = threading.Barrier(3, timeout=10)

    def work(index: int) -> None:
        nonlocal inside, peak
        with limiter.acquire(REALM):
            with lock:
                inside += 1
                peak = max(peak, inside)
            if index < 3:
                entered.wait()  # the first three are in together: the cap is reachable
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads[:3]:
        thread.start()
    for thread in threads[3:]:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 3


HOLDER = """
import sys, time
from pathlib import Path
from qb_pipeline.quickbooks import LocalRequestLimiter, RateWindow
limiter = LocalRequestLimiter(Path(sys.argv[1]), windows=(RateWindow(1000, 1.0),), concurrency=2)
held = [limiter.acquire(sys.argv[2]) for _ in range(2)]
for permit in held:
    permit.__enter__()
print("holding", flush=True)
time.sleep(600)
"""


def test_slots_are_shared_across_processes_and_freed_when_a_process_dies(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), REALM],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        limiter = LocalRequestLimiter(tmp_path, windows=(RateWindow(1000, 1.0),), concurrency=2)
        acquired = threading.Event()

        def take() -> None:
            with limiter.acquire(REALM):
                acquired.set()

        thread = threading.Thread(target=take, daemon=True)
        thread.start()
        assert not acquired.wait(0.5)  # both slots are held by the other process
        holder.kill()  # no clean-up runs: the kernel drops the locks
        holder.wait()
        assert acquired.wait(5)
    finally:
        holder.kill()
        holder.wait()


def test_the_shared_limiter_is_one_per_home_with_intuits_limits(tmp_path):
    limiter = shared_limiter(tmp_path)
    assert shared_limiter(tmp_path) is limiter
    assert limiter.root == (tmp_path / "limits").resolve()
    assert [(w.limit, w.seconds) for w in limiter.windows] == [(500, 60.0), (10, 1.0)]
    assert limiter.concurrency == 10


def test_realm_ids_cannot_escape_the_limits_folder(tmp_path):
    limiter = LocalRequestLimiter(tmp_path)
    with pytest.raises(ValueError, match="realm"), limiter.acquire("../elsewhere"):
        pass


def test_earliest_starts_follow_every_window():
    starts = earliest_starts(25, (RateWindow(10, 6.0), RateWindow(4, 1.0)))
    assert starts[:5] == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert starts[10] == 6.0  # the 11th waits for the first to leave the 6-second window
    assert starts[20:] == [12.0, 12.0, 12.0, 12.0, 13.0]


# --- several processes against the emulator with its real limits on ------------------------------
def hammer(tmp_path, running, *, processes, threads, requests, windows, skew=0.1):
    realm_id = first_realm(running.url)
    token = EmulatorTokens(running.url, realm_id).access_token
    options = {
        "root": str(tmp_path / "limits"),
        "url": running.url,
        "realm_id": realm_id,
        "windows": [[w.limit, w.seconds] for w in windows],
        "concurrency": 10,
        "skew": skew,
        "requests": requests,
        "threads": threads,
    }
    env = {**os.environ, "QBP_TEST_TOKEN": token}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.quickbooks.hammer_worker", json.dumps(options)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outcomes = [json.loads(worker.communicate(timeout=300)[0]) for worker in workers]
    return realm_id, outcomes


def test_parallel_processes_get_no_429_and_use_the_whole_budget(tmp_path, make_emulator):
    running = make_emulator(limits_enabled=True)
    # A minute scaled down to 6 seconds; the emulator's real 10-per-second rule applies too.
    windows = (RateWindow(50, 6.0), RateWindow(10, 1.0))
    realm_id, outcomes = hammer(
        tmp_path, running, processes=3, threads=4, requests=28, windows=windows
    )
    total = sum(o["done"] for o in outcomes)
    assert total == 3 * 28
    assert [e for o in outcomes for e in o["errors"]] == []
    log = request_log(running.url, realm_id)
    assert len(log) == total
    assert {entry["status"] for entry in log} == {200}  # not one 429

    wall = max(o["last_end"] for o in outcomes) - min(o["first_start"] for o in outcomes)
    minimum = earliest_starts(total, windows, skew=0.1)[-1]
    assert minimum > 8  # the limits, not the work, set the pace here
    assert minimum <= wall <= minimum * 1.15 + 0.5


def test_slow_requests_never_exceed_ten_in_flight(tmp_path, make_emulator):
    running = make_emulator(limits_enabled=True)
    inject(running.url, status="slow", delay_ms=1500, count=1000)
    windows = (RateWindow(500, 60.0), RateWindow(10, 1.0))
    realm_id, outcomes = hammer(
        tmp_path, running, processes=3, threads=6, requests=12, windows=windows
    )
    assert [e for o in outcomes for e in o["errors"]] == []
    statuses = [entry["status"] for entry in request_log(running.url, realm_id)]
    assert statuses == [200] * 36
    wall = max(o["last_end"] for o in outcomes) - min(o["first_start"] for o in outcomes)
    assert wall >= 3 * 1.5  # 36 requests of 1.5 s, at most 10 at a time: four waves
