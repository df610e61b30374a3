"""The crash harness: `kill -9` at chosen moments of a real `qb-pipeline sync`, then a normal
sync, then the warehouse compared table by table with a clean sync's.

Used by `bench/run crash` (bench/crash_bench.py: N trials at random moments) and by the CI slice
(tests/crash/test_crash_slice.py: a few fixed moments). Everything is real: a private emulator
process on loopback (small company), QBP_HOMEs in a temporary folder with the organization
`demo` (whose goals goal_models/demo holds) connected through the emulator's consent pages, and
each sync a `qb-pipeline sync` process with plain-line output.

**Moments.** A moment is a trigger and a random extra delay. Triggers are what the sync shows
from outside: a line of its output (the steps it starts and ends, the source's progress), or a
file of dlt's pipeline folder (an extracted package waiting to be normalized, a normalized one
being loaded). So a trial kills in the phase it names whatever the machine's speed.

**After a kill** the trial checks, before the next sync: every run of the instance ends up
finished once the abandoned runs are found (`quickbooks_abandoned_runs` evaluated), no sync-log
entry stays `running`, none says `succeeded` for the killed run unless its serving copy was
published, and the schedule sensor, at a due slot, requests a sync of the organization (nothing
holds it back). Then a normal `qb-pipeline sync` must succeed, with no manual step.

**Comparison.** Every table and view of the schemas qbo_raw, qbo, marts and goals, in the
warehouse and in the serving copy, row for row (a multiset), without what legitimately differs
between two syncs of the same data:
- dlt's bookkeeping: the `_dlt_*` tables (loads, versions, pipeline state) and the `_dlt_id`,
  `_dlt_load_id`, `_dlt_parent_id` and `_dlt_root_id` columns (random ids, load ids);
- moments of the sync itself: `pulled_at` (a report month's pull), `computed_at` and `as_of`
  (goal computations), `last_sync_at` and `connected_at` (the connection's moments);
- goal history tables (`*history*`) are compared as sets: they gain one row per computation by
  design, so a killed run that computed the goals before dying leaves the same rows twice.
"""

from __future__ import annotations

import os
import queue
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("qb-pipeline")
ORG = "demo"
TODAY = date(2026, 11, 15)
SEED = 7
SCHEMAS = ("qbo_raw", "qbo", "marts", "goals")
DLT_COLUMNS = {"_dlt_id", "_dlt_load_id", "_dlt_parent_id", "_dlt_root_id"}
MOMENT_COLUMNS = {"pulled_at", "computed_at", "as_of", "last_sync_at", "connected_at"}
SYNC_TIMEOUT_SECONDS = 600
STEP_POLL_SECONDS = 0.02
# What dlt prints about a failed load, none of which applies to qb-pipeline's users.
DLT_NOISE = ("Traceback", "abort-packages", "Pending packages", "partially loaded", "dlthub.com")
POLL_SECONDS = 0.005


# -- moments ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Moment:
    """When to kill, then a random delay within `delay` seconds: the first output line
    matching `line`, a file matching `files` under the pipeline's folder, a step starting
    (`step`, a regular expression on its key) or ending (`step_done`) in the Dagster run, or
    the serving copy replaced (`published`)."""

    name: str
    line: str | None = None
    files: str | None = None
    step: str | None = None
    step_done: str | None = None
    published: bool = False
    delay: tuple[float, float] = (0.0, 0.0)


MOMENTS = {
    m.name: m
    for m in (
        # Between the command's start and the first step: the run exists, or is being made.
        Moment("before-run", line=r"^Syncing ", delay=(0.5, 4.0)),
        # The raw step: the connection check, the token, then dlt's extraction of the entities.
        Moment("extraction", step="quickbooks_raw", delay=(0.0, 4.0)),
        Moment("normalize", files="normalize/extracted/*/*", delay=(0.0, 0.3)),
        Moment("load", files="load/normalized/*/*", delay=(0.0, 0.3)),
        Moment("after-raw-load", step_done="quickbooks_raw"),
        Moment("marts", step=r"(qbo|marts)__\w+", delay=(0.0, 3.0)),
        Moment("goals", step="goal_values", delay=(0.0, 0.3)),
        # The old closing point: the sync log said "succeeded" here before the publication.
        Moment("after-finish", step_done="qbo__connection_status"),
        Moment("token-health", step="quickbooks_token_health_check"),
        Moment("publish", step="serving__warehouse", delay=(0.0, 0.2)),
        Moment("after-publish", published=True),
    )
}


class Watch:
    """What a running sync shows: its Dagster run's steps and the serving copy's file."""

    def __init__(self, home: Home, since: float) -> None:
        from dagster import DagsterInstance

        from qb_pipeline.defs.instance import prepare_dagster_home

        self.home = home
        self.since = since
        self.serving = _identity(home.serving)
        # A new home's first sync makes this folder too (the same dagster.yaml, copied once).
        folder = prepare_dagster_home(home.settings())
        self.instance = DagsterInstance.from_config(str(folder))
        self.run_id: str | None = None
        self.next_look = 0.0

    def close(self) -> None:
        self.instance.dispose()

    def fired(self, moment: Moment, line: str) -> str | None:
        """What triggered `moment` now (None: not yet)."""
        if moment.line is not None and line and re.search(moment.line, line):
            return line
        if moment.files is not None and any(self.home.pipeline_dir.glob(moment.files)):
            return f"files {moment.files}"
        if moment.published and _identity(self.home.serving) != self.serving:
            return "serving copy replaced"
        if moment.step or moment.step_done:
            return self._step_event(moment)
        return None

    def _step_event(self, moment: Moment) -> str | None:
        from dagster import DagsterEventType

        if time.monotonic() < self.next_look:
            return None
        self.next_look = time.monotonic() + STEP_POLL_SECONDS
        if self.run_id is None:
            newest = self.instance.get_run_records(limit=1)
            if not newest or _epoch(newest[0].create_timestamp) < self.since - 1:
                return None
            self.run_id = newest[0].dagster_run.run_id
        wanted, pattern = (
            (DagsterEventType.STEP_START, moment.step)
            if moment.step
            else (DagsterEventType.STEP_SUCCESS, moment.step_done)
        )
        records = self.instance.get_records_for_run(self.run_id, of_type=wanted).records
        for record in records:
            step = record.event_log_entry.step_key or ""
            if re.fullmatch(pattern, step):
                return f"{wanted.value} {step}"
        return None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


# -- homes -----------------------------------------------------------------------------------
@dataclass
class Home:
    """A QBP_HOME with `demo` connected to the emulator's demo company."""

    path: Path
    env: dict[str, str]

    @property
    def warehouse(self) -> Path:
        return self.path / "orgs" / ORG / "warehouse.duckdb"

    @property
    def serving(self) -> Path:
        return self.path / "serving" / f"{ORG}.duckdb"

    @property
    def pipeline_dir(self) -> Path:
        return self.path / "orgs" / ORG / "dlt" / f"quickbooks_{ORG}"

    def settings(self):
        from qb_pipeline.config import load_settings

        return load_settings(self.env)

    def service(self):
        from qb_pipeline.connections import IntegrationService

        return IntegrationService(self.settings())

    def process_env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.env,
            "PYTHONPATH": str(ROOT),
            "QBP_GOALS_DIR": str(ROOT / "goal_models"),
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }

    def copy_to(self, path: Path) -> Home:
        """A copy of this home (its control DB, warehouse, serving copy, dlt state and Dagster
        instance) at `path`; the same tokens, so it syncs the same company."""
        shutil.copytree(self.path, path)
        return Home(path, {**self.env, "QBP_HOME": str(path)})


class Lab:
    """A private emulator (small company, limits off) and the homes made on it."""

    def __init__(self, folder: Path, strict_rotation: bool = False) -> None:
        self.folder = folder
        self.key = Fernet.generate_key().decode()
        self.emulator = EmulatorProcess(folder, strict_rotation)
        self._homes = 0

    def close(self) -> None:
        self.emulator.stop()

    def new_home(self, name: str | None = None) -> Home:
        from tests.connections.conftest import add_team, connect_company

        self._homes += 1
        path = self.folder / (name or f"home-{self._homes}")
        env = {
            "QBP_HOME": str(path),
            "QBP_SECRET_KEY": self.key,
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": self.emulator.url,
        }
        home = Home(path, env)
        service = home.service()
        add_team(service, ORG)
        connect_company(service, ORG)
        # Dagster's storage made now: two processes creating it at once (the sync and the
        # harness watching it) can both stamp its schema ("more than one head").
        from dagster import DagsterInstance

        from qb_pipeline.defs.instance import prepare_dagster_home

        with DagsterInstance.from_config(str(prepare_dagster_home(home.settings()))):
            pass
        return home

    def reconnect(self, home: Home) -> None:
        from tests.connections.conftest import connect_company

        connect_company(home.service(), ORG)


class EmulatorProcess:
    """`qb-pipeline sandbox serve` in a process of its own: the processes measured and killed
    never share an interpreter (or its lock) with QuickBooks' side."""

    def __init__(self, folder: Path, strict_rotation: bool) -> None:
        from qb_pipeline.sandbox import free_port

        folder.mkdir(parents=True, exist_ok=True)
        port = free_port("127.0.0.1")
        self.url = f"http://127.0.0.1:{port}"
        command = [
            str(CLI), "sandbox", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--seed", str(SEED), "--size", "small", "--today", TODAY.isoformat(), "--limits", "off",
        ]  # fmt: skip
        if strict_rotation:
            command.append("--strict-rotation")
        self._log = (folder / "emulator.log").open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/_emulator/companies", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the emulator did not start; see {folder / 'emulator.log'}")
            time.sleep(0.1)  # polling until it answers

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@contextmanager
def lab(folder: Path, strict_rotation: bool = False) -> Iterator[Lab]:
    made = Lab(folder, strict_rotation)
    try:
        yield made
    finally:
        made.close()


# -- running a sync --------------------------------------------------------------------------
@dataclass
class SyncProcess:
    """How one `qb-pipeline sync` process ended."""

    returncode: int
    output: list[str]
    seconds: float
    started_at: float  # epoch seconds
    killed: bool = False
    killed_after: str | None = None  # the output line (or file) that triggered the kill
    delay: float = 0.0

    @property
    def stderr_lines(self) -> list[str]:
        marker = "[stderr] "
        return [line.removeprefix(marker) for line in self.output if line.startswith(marker)]


def run_sync(
    home: Home,
    kill: Moment | None = None,
    rng: random.Random | None = None,
    file_size_limit: int | None = None,
) -> SyncProcess:
    """Run `qb-pipeline sync --org demo` in its own process; with `kill`, SIGKILL it at that
    moment. `file_size_limit` (bytes) sets RLIMIT_FSIZE for it, with SIGXFSZ ignored, so a
    write past the limit fails as on a full disk."""
    rng = rng or random.Random(0)
    delay = rng.uniform(*kill.delay) if kill is not None else 0.0

    def limits() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if file_size_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    started = time.monotonic()
    started_at = time.time()
    process = subprocess.Popen(
        [str(CLI), "sync", "--org", ORG, "--today", TODAY.isoformat()],
        cwd=ROOT,
        env=home.process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limits,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    readers = [
        threading.Thread(target=_read, args=(process.stdout, "", lines), daemon=True),
        threading.Thread(target=_read, args=(process.stderr, "[stderr] ", lines), daemon=True),
    ]
    for reader in readers:
        reader.start()
    output: list[str] = []
    trigger: str | None = None
    kill_at: float | None = None
    closed = 0
    watch = Watch(home, started_at) if kill is not None else None
    try:
        while closed < 2:
            try:
                line = lines.get(timeout=POLL_SECONDS)
            except queue.Empty:
                line = ""
            if line is None:
                closed += 1
                continue
            if line:
                output.append(line)
            if watch is not None and trigger is None and kill is not None:
                trigger = watch.fired(kill, line)
                if trigger is not None:
                    kill_at = time.monotonic() + delay
            if kill_at is not None and time.monotonic() >= kill_at and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kill_at = None
            if time.monotonic() - started > SYNC_TIMEOUT_SECONDS:
                process.kill()
                raise AssertionError(f"sync still running after {SYNC_TIMEOUT_SECONDS} s")
    finally:
        if watch is not None:
            watch.close()
    returncode = process.wait()
    return SyncProcess(
        returncode=returncode,
        output=output,
        seconds=time.monotonic() - started,
        started_at=started_at,
        killed=returncode == -signal.SIGKILL,
        killed_after=trigger,
        delay=delay,
    )


def _read(stream, prefix: str, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(prefix + line.rstrip("\n"))
    lines.put(None)


# -- what a warehouse holds ------------------------------------------------------------------
def contents(path: Path) -> dict[str, list[tuple]]:
    """Every table and view of SCHEMAS in the DuckDB file, rows sorted, without what
    legitimately differs between syncs (the module's docstring)."""
    out: dict[str, list[tuple]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        relations = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema IN (SELECT unnest(?))"
            " AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\' ORDER BY 1, 2",
            [list(SCHEMAS)],
        ).fetchall()
        for schema, table in relations:
            columns = [
                name
                for (name,) in con.execute(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = ? AND table_name = ? ORDER BY column_name",
                    [schema, table],
                ).fetchall()
                if name not in DLT_COLUMNS and name not in MOMENT_COLUMNS
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f'SELECT {listed} FROM "{schema}"."{table}"').fetchall()
            if "history" in table:
                rows = list(set(rows))
            out[f"{schema}.{table}"] = sorted(rows, key=repr)
    return out


def differences(expected: dict[str, list[tuple]], found: dict[str, list[tuple]]) -> list[str]:
    """One line per table that differs (missing, extra, or other rows)."""
    lines = []
    for table in sorted(set(expected) | set(found)):
        if table not in found:
            lines.append(f"{table}: missing")
        elif table not in expected:
            lines.append(f"{table}: not in the clean sync")
        elif expected[table] != found[table]:
            want, got = expected[table], found[table]
            lines.append(f"{table}: {len(got)} rows, the clean sync has {len(want)}")
    return lines


# -- after a kill ----------------------------------------------------------------------------
@dataclass
class AfterKill:
    """What the instance and the control DB say once the killed run was looked at."""

    unfinished_runs: list[str] = field(default_factory=list)
    running_entries: int = 0
    status_before: str | None = None  # the killed run's, before anyone looked ("none": no run)
    killed_run_status: str | None = None
    killed_run_started: float | None = None
    killed_entry_id: int | None = None
    killed_entry_status: str | None = None
    serving_published_at: float | None = None
    last_sync: tuple[str, str | None] | None = None
    schedule_requests: list[str] = field(default_factory=list)

    @property
    def succeeded_unpublished(self) -> bool:
        """The killed run's entry says succeeded, but that run published no serving copy."""
        published = (
            self.serving_published_at is not None
            and self.killed_run_started is not None
            and self.serving_published_at >= self.killed_run_started
        )
        return self.killed_entry_status == "succeeded" and not published

    @property
    def problems(self) -> list[str]:
        found = []
        if self.succeeded_unpublished:
            found.append("the killed sync is recorded succeeded without its serving copy")
        if self.unfinished_runs:
            found.append(f"runs still unfinished: {', '.join(self.unfinished_runs)}")
        if self.running_entries:
            found.append(f"{self.running_entries} sync-log entries still running")
        if self.schedule_requests != [ORG]:
            found.append(f"the schedule at a due slot requested {self.schedule_requests}")
        return found


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """The process environment naming `env`'s QBP_HOME (Dagster's resources read it)."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def look_after_kill(home: Home, since: float) -> AfterKill:
    """Evaluate the abandoned-runs sensor, then the schedule sensor at a due nightly slot, as
    the daemon would; report what is left unfinished and what the schedule asks for."""
    from dagster import DagsterInstance, RunsFilter, build_sensor_context

    from qb_pipeline.connections.sync_log import SYNC_RUN_TAG
    from qb_pipeline.defs.abandoned_runs import UNFINISHED_RUN_STATUSES
    from qb_pipeline.defs.instance import prepare_dagster_home
    from qb_pipeline.defs.quickbooks.schedules import build_sync_sensor
    from qb_pipeline.defs.quickbooks.sensors.abandoned_runs import build_abandoned_runs_sensor
    from qb_pipeline.defs.resources import QuickBooksIntegration

    settings = home.settings()
    service = home.service()
    found = AfterKill()
    # Not open_instance: that would fail the abandoned runs itself, as the next sync does.
    with (
        environment(home.env),
        DagsterInstance.from_config(str(prepare_dagster_home(settings))) as instance,
    ):
        resources = {"quickbooks": QuickBooksIntegration()}
        newest = instance.get_run_records(limit=1)
        made = bool(newest) and _epoch(newest[0].create_timestamp) >= since - 1
        found.status_before = newest[0].dagster_run.status.value if made else "none"
        reaper = build_abandoned_runs_sensor()
        reaper(build_sensor_context(instance=instance, resources=resources))
        unfinished = instance.get_run_records(RunsFilter(statuses=UNFINISHED_RUN_STATUSES))
        found.unfinished_runs = [
            f"{r.dagster_run.run_id} {r.dagster_run.status.value}" for r in unfinished
        ]
        newest = instance.get_run_records(limit=1)
        if newest:
            killed = newest[0]
            found.killed_run_status = killed.dagster_run.status.value
            found.killed_run_started = _epoch(killed.create_timestamp)
            entry = killed.dagster_run.tags.get(SYNC_RUN_TAG)
            found.killed_entry_id = int(entry) if entry else None
        due = _due_moment(service.settings(ORG).local_time)
        cursor = f'{{"evaluated_at": "{(due - timedelta(minutes=1)).isoformat()}"}}'
        schedule = build_sync_sensor(clock=lambda: due)
        result = schedule(
            build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        )
        found.schedule_requests = [r.partition_key for r in result.run_requests]
    with _control_db(settings.control_db_path) as conn:
        found.running_entries = conn.execute(
            "SELECT count(*) FROM sync_runs WHERE status = 'running'"
        ).fetchone()[0]
        if found.killed_entry_id is not None:
            row = conn.execute(
                "SELECT status FROM sync_runs WHERE id = ?", (found.killed_entry_id,)
            ).fetchone()
            found.killed_entry_status = row[0] if row else None
    found.serving_published_at = home.serving.stat().st_mtime if home.serving.exists() else None
    last = service.status(ORG).last_sync
    found.last_sync = (last.status, last.message) if last else None
    return found


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _due_moment(local_time: str) -> datetime:
    """Half a minute after today's nightly slot (settings are UTC by default)."""
    hour, minute = (int(part) for part in local_time.split(":"))
    now = datetime.now(UTC)
    slot = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if slot > now:
        slot -= timedelta(days=1)
    return slot + timedelta(seconds=30)


@contextmanager
def _control_db(path: Path) -> Iterator:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        yield conn
    finally:
        conn.close()


# -- one trial -------------------------------------------------------------------------------
@dataclass
class Trial:
    """One kill -9 and the sync after it."""

    moment: str
    mode: str  # "first" (the home's first sync killed) or "later" (a sync after a clean one)
    killed: SyncProcess
    after_kill: AfterKill
    next_sync: SyncProcess
    warehouse_differences: list[str]
    serving_differences: list[str]

    @property
    def problems(self) -> list[str]:
        found = list(self.after_kill.problems)
        if self.next_sync.returncode != 0:
            tail = " | ".join(self.next_sync.output[-3:])
            found.append(f"the next sync exited {self.next_sync.returncode}: {tail}")
        found += [f"warehouse {d}" for d in self.warehouse_differences]
        found += [f"serving copy {d}" for d in self.serving_differences]
        return found

    @property
    def passed(self) -> bool:
        return not self.problems


def crash_trial(
    home: Home,
    moment: Moment,
    clean: dict[str, list[tuple]],
    rng: random.Random,
    mode: str,
    on_step: Callable[[str], None] | None = None,
) -> Trial:
    """Kill a sync of `home` at `moment`, look at what it left, sync again, compare."""
    killed = run_sync(home, kill=moment, rng=rng)
    if on_step:
        on_step(f"killed after {killed.seconds:.1f} s ({killed.killed_after})")
    after = look_after_kill(home, killed.started_at)
    again = run_sync(home)
    warehouse = differences(clean, contents(home.warehouse)) if again.returncode == 0 else []
    serving = differences(clean, contents(home.serving)) if again.returncode == 0 else []
    return Trial(moment.name, mode, killed, after, again, warehouse, serving)


# -- a full disk -----------------------------------------------------------------------------
@dataclass
class FullDisk:
    """A sync with a file size limit, then one without."""

    limited: SyncProcess
    stored_message: str | None
    next_sync: SyncProcess
    warehouse_differences: list[str]

    @property
    def problems(self) -> list[str]:
        found = []
        if self.limited.returncode != 1:
            found.append(f"the limited sync exited {self.limited.returncode}, not 1")
        errors = self.limited.stderr_lines
        text = "\n".join(self.limited.output)
        if any(words in text for words in DLT_NOISE):
            found.append("the output shows dlt's traceback or advice")
        if not any("no space left writing" in line for line in errors):
            found.append(f"no 'no space left' line on stderr: {errors[-1:]}")
        if not self.stored_message or "\n" in self.stored_message:
            found.append(f"the stored message is not one line: {self.stored_message!r}")
        elif not errors or self.stored_message not in errors[-1]:
            found.append("the stored message is not the one the command printed")
        if self.next_sync.returncode != 0:
            found.append(f"the next sync exited {self.next_sync.returncode}")
        found += [f"warehouse {d}" for d in self.warehouse_differences]
        return found


def full_disk_trial(home: Home, clean: dict[str, list[tuple]], limit: int) -> FullDisk:
    limited = run_sync(home, file_size_limit=limit)
    last = home.service().status(ORG).last_sync
    again = run_sync(home)
    found = differences(clean, contents(home.warehouse)) if again.returncode == 0 else []
    return FullDisk(limited, last.message if last else None, again, found)


# -- a kill inside a token refresh -----------------------------------------------------------
@dataclass
class RefreshKills:
    """Kills of a process refreshing in a loop, under strict rotation."""

    trials: int = 0
    lost: int = 0
    refreshes: list[int] = field(default_factory=list)


@contextmanager
def other_writer(home: Home, busy: bool) -> Iterator[None]:
    """With `busy`, another process writes the control DB all along (control_db_writer.py)."""
    if not busy:
        yield
        return
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.crash.control_db_writer", str(home.path / "control.sqlite3")],
        cwd=ROOT,
        env=home.process_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if writer.stdout.readline().strip() != "ready":
            raise AssertionError("the other writer did not start")
        yield
    finally:
        writer.kill()
        writer.wait()


def refresh_kill_trials(
    lab_: Lab,
    home: Home,
    trials: int,
    rng: random.Random,
    on_trial: Callable[[int, bool], None] | None = None,
) -> RefreshKills:
    """Each trial starts tests.crash.refresh_loop, waits for its first refresh, kills it with
    SIGKILL after a random 0.05-0.5 s, then forces one refresh here: an `invalid_grant`
    (reauthorization required) is a lost connection, which is then reconnected."""
    from qb_pipeline.connections import ReauthorizationRequired

    found = RefreshKills()
    service = home.service()
    for number in range(trials):
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.crash.refresh_loop", ORG],
            cwd=ROOT,
            env=home.process_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        ready = worker.stdout.readline().strip()
        if ready != "ready":
            worker.kill()
            raise AssertionError(f"the refresh loop did not start: {ready!r}")
        time.sleep(rng.uniform(0.05, 0.5))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        found.trials += 1
        try:
            service.access_token(ORG, min_valid=timedelta(hours=2))
            lost = False
        except ReauthorizationRequired:
            lost = True
            found.lost += 1
            lab_.reconnect(home)
        if on_trial:
            on_trial(number, lost)
    return found


def refresh_windows(home: Home, count: int) -> list[float]:
    """Milliseconds between the token endpoint's answer reaching this process (IntuitOAuth.
    refresh returning) and the new pair's COMMIT returning, over `count` forced refreshes.
    Both functions run unchanged; they are wrapped only to read the clock when they return."""
    from qb_pipeline.connections import oauth_flow, tokens

    answered: list[float] = []
    windows: list[float] = []
    refresh, store = oauth_flow.IntuitOAuth.refresh, tokens._store_refreshed

    def timed_refresh(self, *args, **kwargs):
        result = refresh(self, *args, **kwargs)
        answered.append(time.perf_counter())
        return result

    def timed_store(*args, **kwargs):
        stored = store(*args, **kwargs)
        windows.append((time.perf_counter() - answered[-1]) * 1000)
        return stored

    service = home.service()
    oauth_flow.IntuitOAuth.refresh, tokens._store_refreshed = timed_refresh, timed_store
    try:
        for _ in range(count):
            service.access_token(ORG, min_valid=timedelta(hours=2))
    finally:
        oauth_flow.IntuitOAuth.refresh, tokens._store_refreshed = refresh, store
    return windows
