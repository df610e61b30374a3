"""Latency of the QuickBooks emulator alone, over real HTTP on loopback.

Starts the emulator in this process (uvicorn in a thread, rate limits off), then times
requests with one keep-alive httpx client, the way a sync job talks to it:

- 1,000-row query pages of the largest entity, `SELECT * FROM Invoice ORDER BY
  MetaData.LastUpdatedTime STARTPOSITION k MAXRESULTS 1000` at several k, and the
  incremental-sync variant with `WHERE MetaData.LastUpdatedTime >= '...'`;
- a 12-month ProfitAndLoss by month (Accrual and Cash) and a BalanceSheet by month.

Each case is requested once to warm caches (the emulator caches sorted views of an entity),
then `--repeat` times; the table shows median and p95. The target (issue 2) is a 1,000-row
page under 50 ms median. `--profile` runs the page requests again under cProfile, in this
thread through the ASGI app (the uvicorn thread cannot be profiled from here), and prints
where the time goes.

Run: `bench/run [--size large] [--repeat 20] [--profile]`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import math
import os
import pstats
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta

import httpx

from qb_pipeline.sandbox import (
    DEMO_CLIENT_ID,
    Company,
    EmulatorSettings,
    RunningEmulator,
    create_app,
    start_in_thread,
)

PAGE_TARGET_MS = 50.0
PAGE_SIZE = 1000
ENTITY = "Invoice"
BENCH_TODAY = date(2026, 11, 15)
MINOR_VERSION = "75"


@dataclass
class Case:
    name: str
    path: str  # relative to /v3/company/{realmId}/
    params: dict[str, str]
    target_ms: float | None = None


@dataclass
class Result:
    case: Case
    times_ms: list[float]
    first_ms: float  # the warm-up request: cold caches (sorted views, report indexes)
    rows: int | None
    size_bytes: int

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest rank


# --- set-up -------------------------------------------------------------------------------
def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process, in MB."""
    current = 0.0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return current, peak


def busiest_company(running: RunningEmulator) -> Company:
    """The company with the most records of ENTITY (the large demo company)."""
    return max(running.state.backend.list_companies(), key=lambda c: len(c.store.get(ENTITY, {})))


def ledger_seconds(running: RunningEmulator) -> float:
    """How long building every company's ledger takes (measured by rebuilding them)."""
    started = time.perf_counter()
    for company in running.state.backend.list_companies():
        company.invalidate_ledger()
        company.ledger  # noqa: B018 - the property builds it
    return time.perf_counter() - started


def access_token(http: httpx.Client, realm_id: str) -> str:
    """A token pair from the control API (no browser), as Intuit's OAuth playground gives."""
    answer = http.post("/_emulator/tokens", json={"client_id": DEMO_CLIENT_ID, "realmId": realm_id})
    answer.raise_for_status()
    return answer.json()["access_token"]


# --- cases --------------------------------------------------------------------------------
def page_query(start: int, where: str = "") -> str:
    return (
        f"SELECT * FROM {ENTITY}{where} ORDER BY MetaData.LastUpdatedTime "
        f"STARTPOSITION {start} MAXRESULTS {PAGE_SIZE}"
    )


def median_update_time(company: Company) -> str:
    """A LastUpdatedTime with about half of the entity's records at or after it."""
    stamps = sorted(r["MetaData"]["LastUpdatedTime"] for r in company.records(ENTITY))
    return stamps[len(stamps) // 2]


def last_twelve_months(today: date) -> tuple[date, date]:
    """The twelve whole months before today's month."""
    end = today.replace(day=1) - timedelta(days=1)
    start = date(end.year - 1, end.month, 1) + timedelta(days=32)
    return start.replace(day=1), end


def build_cases(company: Company) -> list[Case]:
    total = len(company.store.get(ENTITY, {}))
    positions = sorted({1, total // 4, total // 2, max(1, total - PAGE_SIZE)})
    cases = [
        Case(f"query page STARTPOSITION {k}", "query", {"query": page_query(k)}, PAGE_TARGET_MS)
        for k in positions
    ]
    since = median_update_time(company)
    where = f" WHERE MetaData.LastUpdatedTime >= '{since}'"
    cases.append(
        Case("query page WHERE LastUpdatedTime >= (1st)", "query",
             {"query": page_query(1, where)}, PAGE_TARGET_MS)
    )  # fmt: skip
    cases.append(
        Case("query page WHERE LastUpdatedTime >= (3rd)", "query",
             {"query": page_query(2 * PAGE_SIZE + 1, where)}, PAGE_TARGET_MS)
    )  # fmt: skip
    start, end = last_twelve_months(company.today())
    period = {"start_date": start.isoformat(), "end_date": end.isoformat()}
    for basis in ("Accrual", "Cash"):
        cases.append(
            Case(f"ProfitAndLoss 12 months by Month, {basis}", "reports/ProfitAndLoss",
                 {**period, "summarize_column_by": "Month", "accounting_method": basis})
        )  # fmt: skip
    for basis in ("Accrual", "Cash"):
        cases.append(
            Case(f"BalanceSheet 12 months by Month, {basis}", "reports/BalanceSheet",
                 {**period, "summarize_column_by": "Month", "accounting_method": basis})
        )  # fmt: skip
    return cases


# --- measuring ------------------------------------------------------------------------------
def measure(http: httpx.Client, realm_id: str, case: Case, repeat: int) -> Result:
    url = f"/v3/company/{realm_id}/{case.path}"
    params = {**case.params, "minorversion": MINOR_VERSION}

    def once() -> httpx.Response:
        answer = http.get(url, params=params)
        if answer.status_code != 200:
            sys.exit(f"{case.name}: HTTP {answer.status_code}: {answer.text[:500]}")
        return answer

    started = time.perf_counter()
    answer = once()  # warm-up, and the shape check below
    first_ms = (time.perf_counter() - started) * 1000
    rows = None
    if case.path == "query":
        rows = answer.json()["QueryResponse"].get("maxResults", 0)
    times: list[float] = []
    gc.collect()
    for _ in range(repeat):
        started = time.perf_counter()
        once()
        times.append((time.perf_counter() - started) * 1000)
    return Result(case, times, first_ms, rows, len(answer.content))


def print_table(results: list[Result], repeat: int) -> None:
    header = (
        f"{'case':<46} {'rows':>5} {'KB':>6} {'first ms':>9} {'median ms':>10} {'p95 ms':>7} "
        f"{'target':>7} {'median/target':>14}"
    )
    print(f"\nlatency over HTTP: the first request, then {repeat} more per case")
    print(header)
    print("-" * len(header))
    for r in results:
        rows = "" if r.rows is None else str(r.rows)
        target = f"{r.case.target_ms:.0f} ms" if r.case.target_ms else "-"
        ratio = ""
        if r.case.target_ms:
            verdict = "ok" if r.median < r.case.target_ms else "MISS"
            ratio = f"{r.median / r.case.target_ms:.2f} {verdict}"
        print(
            f"{r.case.name:<46} {rows:>5} {r.size_bytes / 1024:>6.0f} {r.first_ms:>9.1f} "
            f"{r.median:>10.1f} {r.p95:>7.1f} {target:>7} {ratio:>14}"
        )


def profile_pages(running: RunningEmulator, realm_id: str, token: str, cases: list[Case]) -> None:
    """cProfile the page requests through the ASGI app in this thread (no sockets)."""
    app = create_app(running.state)
    page_cases = [c for c in cases if c.target_ms]

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://emulator", headers=headers
        ) as client:
            for _ in range(10):
                for case in page_cases:
                    params = {**case.params, "minorversion": MINOR_VERSION}
                    answer = await client.get(f"/v3/company/{realm_id}/query", params=params)
                    answer.raise_for_status()

    profiler = cProfile.Profile()
    profiler.runcall(asyncio.run, run())
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(15)
    print(f"\ncProfile of {10 * len(page_cases)} page requests (in-process ASGI):")
    print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per case")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile the page requests")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    print(f"starting the emulator: size={args.size} seed={args.seed} today={BENCH_TODAY}")
    started = time.perf_counter()
    running = start_in_thread(
        EmulatorSettings(seed=args.seed, size=args.size, today=BENCH_TODAY, limits_enabled=False)
    )
    startup = time.perf_counter() - started
    try:
        current, peak = rss_mb()
        ledger = ledger_seconds(running)
        company = busiest_company(running)
        records = sum(len(v) for v in company.store.values())
        postings = len(company.ledger.postings("Accrual"))
        print(
            f"startup {startup:.1f} s (generation + ledgers + server; rebuilding all ledgers "
            f"alone takes {ledger:.1f} s)\nRSS {current:.0f} MB (peak {peak:.0f} MB)\n"
            f"company {company.realm_id} {company.name!r}: {records:,} records, "
            f"{len(company.store.get(ENTITY, {})):,} {ENTITY}s, {postings:,} accrual postings"
        )
        with httpx.Client(base_url=running.url, timeout=120) as http:
            token = access_token(http, company.realm_id)
            http.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
            cases = build_cases(company)
            results = [measure(http, company.realm_id, case, args.repeat) for case in cases]
        print_table(results, args.repeat)
        # Other processes on the machine skew latencies; say how busy it was.
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average during the run: {load} ({os.cpu_count()} CPUs)")
        pages = [r for r in results if r.case.target_ms]
        worst = max(pages, key=lambda r: r.median)
        verdict = "meets" if worst.median < PAGE_TARGET_MS else "MISSES"
        print(
            f"\nslowest 1,000-row page: {worst.median:.1f} ms median ({worst.case.name}); "
            f"{verdict} the {PAGE_TARGET_MS:.0f} ms target"
        )
        if args.profile:
            profile_pages(running, company.realm_id, token, cases)
        return 0 if worst.median < PAGE_TARGET_MS else 1
    finally:
        running.stop()


if __name__ == "__main__":
    sys.exit(main())
