"""Benchmark: the dlt sync of one organization against the emulator (issue 4's targets).

Starts the emulator in its own process (`qb-pipeline sandbox serve`), makes a QBP_HOME in a
temporary folder with organization `bench` connected to the demo company through the real
OAuth consent pages, and runs each sync in a child process of its own (so its peak RSS is
the sync's alone), exactly as the Dagster asset runs it: `sync.client.client_for_org`,
`quickbooks_source`, `pipeline_for_org`, parquet loader files, the entities' pass then the
reports' pass (loads.py); each pass's extract, normalize and load are called one after the
other so each stage is timed (the figures are the sums over both passes).

(a) full sync of the `--size` company (default large) with limits off: rows/s end to end
    (rows loaded into qbo_raw, child tables included, / the sync's wall time), requests,
    the stages, peak RSS. Targets >= 20,000 rows/s and < 500 MB.
(c) incremental sync after the emulator changed 1% of the records over one day:
    requests and time vs (a). Target <= 3% of the full sync's requests.
(b) full sync with the emulator's limits on (500/min, 10/s, 10 in flight) and the
    client's shared limiter, on a fresh emulator of `--limited-size` (default medium:
    a large one needs several minutes): wall time / (requests / 500 per minute).
    Target <= 1.1.

    .venv/bin/python bench/sync_bench.py [--size large] [--limited-size medium]
        [--skip-limited] [--profile N]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TODAY = "2026-11-15"
ORG = "bench"
ADMIN = "admin@bench.example"
PASSWORD = "bench password 1"
REDIRECT_URI = "http://127.0.0.1:8799/callback"
PER_MINUTE = 500
START_DEADLINE_SECONDS = 300
TARGET_ROWS_PER_SECOND = 20_000
TARGET_PEAK_MB = 500
TARGET_PACE = 1.1
TARGET_INCREMENTAL_SHARE = 0.03


# -- the emulator, in its own process --------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def emulator(size: str) -> Iterator[str]:
    """A running `qb-pipeline sandbox serve` (limits off) of `size`; its base URL."""
    port = free_port()
    command = [str(ROOT / ".venv/bin/qb-pipeline"), "sandbox", "serve", "--port", str(port)]
    command += ["--size", size, "--today", TODAY, "--limits", "off"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    began = time.monotonic()
    try:
        while True:
            try:
                httpx.get(f"{url}/_emulator/companies", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None:
                    raise SystemExit("the emulator exited during start-up") from None
                if time.monotonic() - began > START_DEADLINE_SECONDS:
                    raise SystemExit(
                        f"the emulator did not start within {START_DEADLINE_SECONDS} s"
                    ) from None
                time.sleep(0.2)
        print(f"emulator ({size}) ready in {time.monotonic() - began:.1f} s at {url}")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def set_limits(url: str, enabled: bool) -> None:
    httpx.put(f"{url}/_emulator/limits", json={"enabled": enabled}).raise_for_status()


def company_activity(url: str, realm_id: str, days: int, change_ratio: float) -> dict:
    answer = httpx.post(
        f"{url}/_emulator/companies/{realm_id}/activity",
        json={"days": days, "change_ratio": change_ratio},
        timeout=600,
    )
    return answer.raise_for_status().json()


# -- a QBP_HOME with a connected organization ------------------------------------------------
def home_env(home: Path, url: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        "QBP_HOME": str(home),
        "QBP_SECRET_KEY": Fernet.generate_key().decode(),
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": url,
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def connect_org(env: dict[str, str]) -> str:
    """Organization `bench` connected to the emulator's demo company; its realm id."""
    from qb_pipeline.config import load_settings
    from qb_pipeline.connections import IntegrationService
    from qb_pipeline.sandbox.testing.consent import callback_params, consent

    service = IntegrationService(load_settings(env))
    service.create_org(ORG, "Bench Inc")
    service.add_user(ADMIN, ORG, "admin", PASSWORD)
    params = callback_params(consent(service.begin_connect(ORG, ADMIN, REDIRECT_URI)))
    status = service.complete_connect(
        params["state"] or "", params["code"], params["realmId"], params["error"], REDIRECT_URI
    )
    print(f"connected {ORG!r} to {status.company_name} (realm {status.realm_id})")
    return status.realm_id or ""


# -- one sync, in a child process -------------------------------------------------------------
@dataclass
class Sync:
    rows: int
    requests: int
    seconds: float
    extract: float
    normalize: float
    load: float
    peak_mb: float
    tables: int
    peak_after_extract_mb: float = 0.0
    peak_after_normalize_mb: float = 0.0
    cpu: float = 0.0  # user + system seconds of the sync process
    load_average: float = 0.0  # of the machine, 1 minute, at the end of the sync

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def run_sync(env: dict[str, str], limited: bool, profile: int = 0) -> Sync:
    options = json.dumps({"limited": limited, "profile": profile})
    answer = subprocess.run(
        [sys.executable, __file__, "--worker", options],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        check=True,
        text=True,
    )
    lines = answer.stdout.splitlines()
    print("\n".join(lines[:-1]))  # the profile, when asked for
    return Sync(**json.loads(lines[-1]))


def worker(options: dict) -> None:
    """Sync organization `bench` in this process; prints the figures as JSON."""
    from qb_pipeline.config import load_settings
    from qb_pipeline.connections import IntegrationService
    from qb_pipeline.quickbooks import UnlimitedLimiter
    from qb_pipeline.sources.quickbooks import quickbooks_source, sync_session
    from qb_pipeline.sources.quickbooks.settings import LOADER_FILE_FORMAT
    from qb_pipeline.sync.client import client_for_org
    from qb_pipeline.sync.passes import load_passes, reports_sent_ahead
    from qb_pipeline.sync.pipeline import pipeline_for_org

    settings = load_settings()
    service = IntegrationService(settings)
    limiter = None if options["limited"] else UnlimitedLimiter()  # None: the shared one
    profiler = cProfile.Profile() if options["profile"] else None
    began = time.perf_counter()
    cpu_began = _cpu_seconds()
    if profiler:
        profiler.enable()
    stages = {"extract": 0.0, "normalize": 0.0, "load": 0.0}
    peaks = {"extract": 0.0, "normalize": 0.0}
    counts: dict[str, int] = {}
    with client_for_org(service, ORG, limiter=limiter) as client:
        # As the Dagster asset does (defs/quickbooks/assets/raw.py): the entities' pass, then the
        # reports' pass, whose requests are sent while the entities load (loads.py).
        history_years = service.settings(ORG).history_years
        today = date.fromisoformat(TODAY)
        session = sync_session(client, ORG, client.realm_id, today=today)
        source = quickbooks_source(
            client=client,
            org_id=ORG,
            realm_id=client.realm_id,
            history_years=history_years,
            today=today,
            session=session,
        )
        pipeline = pipeline_for_org(ORG, settings, realm_id=client.realm_id)
        passes = load_passes(source)
        with reports_sent_ahead(pipeline, session, history_years, passes):
            for part in passes:
                mark = time.perf_counter()
                pipeline.extract(part, loader_file_format=LOADER_FILE_FORMAT)
                stages["extract"] += time.perf_counter() - mark
                peaks["extract"] = max(peaks["extract"], _peak_mb())
                mark = time.perf_counter()
                info = pipeline.normalize()
                stages["normalize"] += time.perf_counter() - mark
                peaks["normalize"] = max(peaks["normalize"], _peak_mb())
                for table, rows in info.row_counts.items():
                    counts[table] = counts.get(table, 0) + rows
                mark = time.perf_counter()
                pipeline.load()
                stages["load"] += time.perf_counter() - mark
                print(f"  pass {', '.join(part.selected_resources)[:40]}...: ended at "
                      f"{time.perf_counter() - began:.1f} s, {client.requests_made} requests "
                      f"so far")  # fmt: skip
        loaded = time.perf_counter()
        requests = client.requests_made
    if profiler:
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text).sort_stats("cumulative")
        stats.print_stats(options["profile"])
        text.write("\n-- by own time --\n")
        stats.sort_stats("tottime").print_stats(options["profile"])
        print(text.getvalue())
    rows = sum(n for table, n in counts.items() if not table.startswith("_dlt"))
    figures = Sync(
        rows=rows,
        requests=requests,
        seconds=loaded - began,
        extract=stages["extract"],
        normalize=stages["normalize"],
        load=stages["load"],
        peak_mb=_peak_mb(),
        tables=sum(1 for table in counts if not table.startswith("_dlt")),
        peak_after_extract_mb=peaks["extract"],
        peak_after_normalize_mb=peaks["normalize"],
        cpu=_cpu_seconds() - cpu_began,
        load_average=os.getloadavg()[0],
    )
    print(json.dumps(figures.__dict__))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- the bench ------------------------------------------------------------------------------
def describe(label: str, sync: Sync) -> None:
    print(
        f"{label}: {sync.rows:,} rows in {sync.tables} tables, {sync.requests:,} requests, "
        f"{sync.seconds:.1f} s (extract {sync.extract:.1f}, normalize {sync.normalize:.1f}, "
        f"load {sync.load:.1f}), CPU {sync.cpu:.1f} s, peak RSS {sync.peak_mb:.0f} MB (after "
        f"extract {sync.peak_after_extract_mb:.0f}, after normalize "
        f"{sync.peak_after_normalize_mb:.0f}), load average {sync.load_average:.1f}"
    )


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["small", "medium", "large"], default="large")
    parser.add_argument("--limited-size", choices=["small", "medium", "large"], default="medium")
    parser.add_argument("--skip-limited", action="store_true", help="leave out part (b)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="cProfile the full sync and print its N top functions")  # fmt: skip
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory(prefix="qbp-sync-bench-") as tmp:
        with emulator(args.size) as url:
            env = home_env(Path(tmp) / "full", url)
            realm_id = connect_org(env)
            full = run_sync(env, limited=False, profile=args.profile)
            describe(f"(a) full sync, {args.size}, limits off", full)
            began = time.monotonic()
            changed = company_activity(url, realm_id, days=1, change_ratio=0.01)
            print(f"emulator activity (1 day, 1% changed) in {time.monotonic() - began:.1f} s: "
                  f"{json.dumps(changed)[:300]}")  # fmt: skip
            incremental = run_sync(env, limited=False)
            describe("(c) incremental after 1% changed", incremental)
        limited: Sync | None = None
        if not args.skip_limited:
            with emulator(args.limited_size) as url:
                set_limits(url, True)
                env = home_env(Path(tmp) / "limited", url)
                connect_org(env)
                limited = run_sync(env, limited=True)
                describe(f"(b) full sync, {args.limited_size}, limits on", limited)

    rows: list[tuple[str, str, str, str, bool]] = [
        ("(a) rows/s end to end", f"{full.rows_per_second:,.0f}",
         f">= {TARGET_ROWS_PER_SECOND:,}", f"{full.rows_per_second / TARGET_ROWS_PER_SECOND:.2f}",
         full.rows_per_second >= TARGET_ROWS_PER_SECOND),
        ("(a) peak RSS of the sync process", f"{full.peak_mb:,.0f} MB", f"< {TARGET_PEAK_MB} MB",
         f"{full.peak_mb / TARGET_PEAK_MB:.2f}", full.peak_mb < TARGET_PEAK_MB),
        # On a busy machine wall time includes waiting for a core; CPU time does not.
        ("(a) rows per CPU second of the sync process", f"{full.rows / full.cpu:,.0f}",
         "-", "-", True),
    ]  # fmt: skip
    if limited is not None:
        floor = limited.requests / PER_MINUTE * 60
        pace = limited.seconds / floor
        rows.append((f"(b) wall / ({limited.requests} req / 500 per min = {floor:.1f} s)",
                     f"{pace:.2f}", f"<= {TARGET_PACE}", f"{pace / TARGET_PACE:.2f}",
                     pace <= TARGET_PACE))  # fmt: skip
        extract_pace = limited.extract / floor
        rows.append(("(b) same, extract stage only", f"{extract_pace:.2f}", "-", "-", True))
    share = incremental.requests / full.requests
    rows.append(
        (
            "(c) incremental requests / full",
            f"{incremental.requests} / {full.requests} = {share:.1%}",
            f"<= {TARGET_INCREMENTAL_SHARE:.0%}",
            f"{share / TARGET_INCREMENTAL_SHARE:.2f}",
            share <= TARGET_INCREMENTAL_SHARE,
        )
    )
    rows.append(("(c) incremental time / full", f"{incremental.seconds:.1f} s / "
                 f"{full.seconds:.1f} s = {incremental.seconds / full.seconds:.1%}", "-", "-",
                 True))  # fmt: skip
    print()
    print(f"{'figure':<52} {'measured':>26} {'target':>12} {'ratio':>6}")
    print("-" * 104)
    for label, measured, target, ratio, ok in rows:
        mark = verdict(ok) if target != "-" else ""
        print(f"{label:<52} {measured:>26} {target:>12} {ratio:>6} {mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
