"""Benchmark: many small organizations synced through the run queue on one machine.

The emulator serves `--orgs` load-test companies (`--companies N`, real rate limits on); one
organization is connected to each through the OAuth flow; `dagster dev` (webserver + daemon)
runs on the same QBP_HOME; every sync is submitted through the webserver's GraphQL into the
run queue (launcher.submit_sync, as "Sync now" does), which runs at most
`max_concurrent_runs` at once, one per organization and per company. Reported:

- wall: first submission to the last run's end;
- the CPU-bound floor: the sum of each run worker's CPU seconds (qbp/process_cpu_seconds,
  recorded by the run's last step) divided by the cores, and wall / floor (target <= 1.5);
  the emulator's own CPU (it shares the cores here; Intuit would not) beside it;
- peak memory: the largest run worker, and the whole `dagster dev` process tree sampled;
- duplicate keys: rows minus distinct (org_id, realm_id, id) in every raw root table of every
  organization's serving copy (must be 0);
- solo equality: `--compare` organizations synced again alone, in a fresh QBP_HOME, and their
  marts compared with the queued sync's, table by table (must be equal).

    bench/run orgs [--orgs 200] [--compare 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from queued_deployment import queued_deployment  # beside this file (bench/)

from qb_pipeline.config import DAGSTER_PG_URL_VARIABLE, Settings, load_settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.instance import dagster_home
from qb_pipeline.defs.partitions import ORGANIZATIONS
from qb_pipeline.sandbox import EmulatorSettings, start_in_thread
from qb_pipeline.sandbox.testing.consent import callback_params, consent
from qb_pipeline.sql_placeholders import to_pyformat
from qb_pipeline.sync.dagster_dev import DagsterDev, live_members
from qb_pipeline.sync.launcher import submit_sync
from qb_pipeline.sync.runner import sync_org
from qb_pipeline.warehouse.dialect import postgres_schemas

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for tests/
from tests.postgres_server import PostgresServer

ADMIN = "admin@orgs.example"
REDIRECT_URI = "http://127.0.0.1:8000/integrations/quickbooks/callback"
TODAY = date(2026, 11, 15)
TARGET_RATIO = 1.5
POSTGRES_CONNECTIONS = 400
WAIT_SECONDS = 3600.0
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
# Marts whose rows say when they were computed or synced: not comparable between two syncs.
NOT_COMPARED = {"connection_status"}


def org_slug(index: int) -> str:
    return f"load-{index:03d}"


def connect_all(service: IntegrationService, realms: list[str]) -> None:
    for index, realm in enumerate(realms):
        org = org_slug(index)
        service.create_org(org, f"Load Test Org {index:03d}")
        if index == 0:
            service.add_user(ADMIN, org, "admin", "orgs-bench-password-1")
        else:
            service.add_user(ADMIN, org, "admin")
        authorize = service.begin_connect(org, ADMIN, REDIRECT_URI)
        params = callback_params(consent(authorize, realm_id=realm))
        service.complete_connect(
            params["state"] or "", params["code"], params["realmId"], params["error"], REDIRECT_URI
        )


def tree_rss_mb(group: int) -> float:
    total = 0
    for pid in live_members(group):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue  # ended meanwhile
    return total / 1024


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds of the Postgres server `pid` so far: the postmaster's own, its ended
    backends' (the kernel adds a reaped child's time to its parent's cutime/cstime) and
    its live backends'."""
    ticks = os.sysconf("SC_CLK_TCK")

    def fields(stat_pid: int | str) -> list[str]:
        text = Path(f"/proc/{stat_pid}/stat").read_text()
        return text[text.rindex(")") + 2 :].split()  # after "pid (comm) "

    own = fields(pid)
    total = sum(int(own[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            child = fields(entry.name)
        except (OSError, ValueError):
            continue  # ended meanwhile
        if int(child[1]) == pid:  # ppid
            total += int(child[11]) + int(child[12])
    return total / ticks


CONNECTION_SENSOR = "quickbooks_connection_changes"


def wait_for_sensor_tick(instance: DagsterInstance, name: str) -> None:
    """Until the daemon has finished one tick of sensor `name`."""
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.scheduler.instigation import TickStatus

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
            if state.instigator_name != name:
                continue
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
            if ticks and ticks[0].status != TickStatus.STARTED:
                return
        time.sleep(0.2)  # the daemon's tick is in another process: nothing to wait on here
    raise TimeoutError(f"sensor {name} did not tick within 300 s")


def wait_for_runs(
    instance: DagsterInstance,
    run_ids: list[str],
    dagster: DagsterDev,
    on_poll: Callable[[list], None] | None = None,
) -> tuple[list, float]:
    """The finished run records, and the peak RSS of the dagster dev tree meanwhile
    (`on_poll` sees the run records at each look)."""
    deadline = time.monotonic() + WAIT_SECONDS
    peak = 0.0
    group = os.getpgid(dagster.process.pid)
    while True:
        peak = max(peak, tree_rss_mb(group))
        records = instance.get_run_records(RunsFilter(run_ids=run_ids))
        if on_poll is not None:
            on_poll(records)
        if len(records) == len(run_ids) and all(r.dagster_run.status in FINISHED for r in records):
            return records, peak
        if time.monotonic() > deadline:
            raise TimeoutError(f"runs unfinished after {WAIT_SECONDS:g} s")
        # Sampling the tree's memory is the reason to look often; the runs give no signal.
        time.sleep(0.5)


class ConnectionSampler:
    """Client connections of the Postgres server against runs started, at each look: what
    one run holds (the issue asks for it; the server's max_connections must cover it)."""

    COUNT = "SELECT count(*) - 1 FROM pg_stat_activity WHERE backend_type = 'client backend'"

    def __init__(self, url: str) -> None:
        self._connection = psycopg2.connect(url)
        self._connection.autocommit = True
        self.before = self.count()
        self.samples: list[tuple[int, int]] = []  # (runs started, connections)

    def count(self) -> int:
        with self._connection.cursor() as cursor:
            cursor.execute(self.COUNT)
            return int(cursor.fetchone()[0])

    def __call__(self, records: list) -> None:
        started = sum(1 for r in records if r.dagster_run.status == DagsterRunStatus.STARTED)
        self.samples.append((started, self.count()))

    def summary(self) -> str:
        peak_runs = max((runs for runs, _ in self.samples), default=0)
        peak = max((count for _, count in self.samples), default=self.before)
        per_run = [(count - self.before) / runs for runs, count in self.samples if runs]
        return (
            f"client connections: {self.before} before the runs, peak {peak} with up to "
            f"{peak_runs} runs started; per started run at most {max(per_run, default=0):.1f}"
        )

    def close(self) -> None:
        self._connection.close()


def run_figures(instance: DagsterInstance, run_id: str) -> tuple[float, float]:
    """(CPU seconds, peak RSS MB) of the run's worker, from its serving materialization."""
    from qb_pipeline.defs.keys import SERVING_WAREHOUSE

    events = instance.get_records_for_run(run_id, of_type=_materialization()).records
    for record in events:
        materialization = record.event_log_entry.dagster_event.step_materialization_data
        if materialization.materialization.asset_key == SERVING_WAREHOUSE:
            metadata = materialization.materialization.metadata
            return (
                metadata["qbp/process_cpu_seconds"].value,
                metadata["qbp/process_peak_rss_mb"].value,
            )
    raise LookupError(f"run {run_id} published nothing")


def _materialization():
    from dagster import DagsterEventType

    return DagsterEventType.ASSET_MATERIALIZATION


def duplicate_keys(settings: Settings, org: str) -> int:
    """Rows minus distinct (org_id, realm_id, id) over every raw root table of `org`."""
    extra = 0
    with raw_reader(settings, org) as (query, raw, _marts):
        tables = [row[0] for row in query(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = ?"
            " AND column_name = 'id' AND table_name NOT LIKE '%\\_\\_%' ESCAPE '\\'",
            (raw,),
        )]  # fmt: skip
        for table in tables:
            ((count,),) = query(
                f'SELECT count(*) - count(DISTINCT (org_id, realm_id, id)) FROM {raw}."{table}"'
            )
            extra += count
    return extra


def marts_of(settings: Settings, org: str) -> dict[str, list[str]]:
    """Every mart of `org` but those NOT_COMPARED, its rows as sorted text."""
    with raw_reader(settings, org) as (query, _raw, marts):
        names = [row[0] for row in query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", (marts,)
        )]  # fmt: skip
        return {
            name: sorted(map(repr, query(f'SELECT * FROM {marts}."{name}"')))
            for name in sorted(names)
            if name not in NOT_COMPARED
        }


@contextlib.contextmanager
def raw_reader(settings: Settings, org: str):
    """(query(sql, params) -> rows, raw schema, marts schema) on `org`'s published data: its
    serving copy, or its schemas of the Postgres warehouse."""
    if settings.warehouse_url is None:
        with duckdb.connect(str(settings.serving_path(org)), read_only=True) as con:
            yield (lambda sql, params=(): con.execute(sql, params).fetchall()), "qbo_raw", "marts"
        return
    schemas = postgres_schemas(org)
    conn = psycopg2.connect(settings.warehouse_url)
    try:

        def query(sql: str, params: tuple = ()) -> list[tuple]:
            with conn.cursor() as cursor:
                cursor.execute(to_pyformat(sql), params)
                return cursor.fetchall()

        yield query, schemas["qbo_raw"], schemas["marts"]
    finally:
        conn.close()


def solo_marts(
    env: dict[str, str], realm: str, org: str, tmp: Path, postgres: Any = None
) -> dict[str, list[str]]:
    """`org`'s company synced alone (in process) in a fresh QBP_HOME (and, on Postgres, fresh
    control and warehouse databases; Dagster's instance in that QBP_HOME)."""
    home = tmp / f"solo-{org}"
    solo_env = {**env, "QBP_HOME": str(home)}
    solo_env.pop(DAGSTER_PG_URL_VARIABLE, None)
    if postgres is not None:
        name = f"solo_{org.replace('-', '_')}"
        solo_env["QBP_DATABASE_URL"] = postgres.create_database(f"{name}_control")
        solo_env["QBP_WAREHOUSE_URL"] = postgres.create_database(f"{name}_warehouse")
    saved = dict(os.environ)
    os.environ.pop(DAGSTER_PG_URL_VARIABLE, None)
    os.environ.update(solo_env)
    try:
        settings = load_settings(solo_env)
        service = IntegrationService(settings)
        connect_all_one(service, org, realm)
        outcome = sync_org(org, settings, today=TODAY)
        assert outcome.succeeded, outcome.message
        return marts_of(settings, org)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def connect_all_one(service: IntegrationService, org: str, realm: str) -> None:
    service.create_org(org, org)
    service.add_user(ADMIN, org, "admin", "orgs-bench-password-1")
    authorize = service.begin_connect(org, ADMIN, REDIRECT_URI)
    params = callback_params(consent(authorize, realm_id=realm))
    service.complete_connect(
        params["state"] or "", params["code"], params["realmId"], params["error"], REDIRECT_URI
    )


def postgres_environment(server: Any) -> dict[str, str]:
    """The control DB, the warehouse and Dagster's instance in databases of `server`."""
    dagster = server.create_database("dagster").replace("postgresql://", "postgresql+psycopg2://")
    return {
        "QBP_DATABASE_URL": server.create_database("control"),
        "QBP_WAREHOUSE_URL": server.create_database("warehouse"),
        DAGSTER_PG_URL_VARIABLE: dagster,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--compare", type=int, default=3, help="organizations synced solo")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="control DB, warehouse and Dagster's instance on a throwaway Postgres cluster",
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1

    emulator = start_in_thread(
        EmulatorSettings(seed=7, today=TODAY, limits_enabled=True, companies=args.orgs)
    )
    realms = [c.realm_id for c in emulator.state.backend.load_test_companies()]
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        tmp = Path(folder)
        # Each run opens connections to Dagster's storages, the control DB, the request
        # budget (slots, and a window connection per sending thread), dlt and the warehouse:
        # the test clusters' 100 ran out ("too many clients") with 4 runs, the daemon and the
        # webserver at once.
        server = PostgresServer(max_connections=POSTGRES_CONNECTIONS) if args.postgres else None
        postgres = stack.enter_context(server) if server is not None else None
        extra = postgres_environment(postgres) if postgres is not None else {}
        env, settings, port = queued_deployment(tmp, emulator.url, extra)
        service = IntegrationService(settings)
        dagster = DagsterDev(settings, port, tmp / "dagster-dev.log", env)
        try:
            dagster.wait_ready()
            with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
                wait_for_sensor_tick(instance, CONNECTION_SENSOR)
            # Connected after the connection sensor's first tick, whose next one is an hour
            # away: it would otherwise request a sync of every new connection itself, beside
            # the submissions measured here, and double the work.
            started = time.perf_counter()
            connect_all(service, realms)
            with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
                # What the sensor's tick would do for a new connection, less its sync.
                instance.add_dynamic_partitions(
                    ORGANIZATIONS, [org_slug(i) for i in range(len(realms))]
                )
            print(f"{args.orgs} organizations connected in {time.perf_counter() - started:.1f} s")
            emulator_cpu_before = time.process_time()
            server_before = server_cpu_seconds(postgres.pid) if postgres is not None else 0.0
            sampler = ConnectionSampler(postgres.url()) if postgres is not None else None
            submitted = time.time()
            run_ids = []
            for index, realm in enumerate(realms):
                submission = submit_sync(
                    settings, org_slug(index), requested_by="orgs-bench", realm_id=realm
                )
                assert submission.submitted, submission.problem
                run_ids.append(submission.run_id)
            with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
                records, tree_peak = wait_for_runs(instance, run_ids, dagster, sampler)
                if sampler is not None:
                    sampler.close()
                emulator_cpu = time.process_time() - emulator_cpu_before
                server_cpu = (
                    server_cpu_seconds(postgres.pid) - server_before if postgres is not None else 0
                )
                failed = [r for r in records if r.dagster_run.status != DagsterRunStatus.SUCCESS]
                assert not failed, f"{len(failed)} runs failed, e.g. {failed[0].dagster_run.run_id}"
                ended = max(r.end_time for r in records)
                figures = [run_figures(instance, run_id) for run_id in run_ids]
        finally:
            dagster.stop()
        wall = ended - submitted
        cpu = sum(f[0] for f in figures)
        floor = cpu / cores
        duplicates = sum(duplicate_keys(settings, org_slug(i)) for i in range(len(realms)))
        compared = sorted({0, len(realms) - 1, *range(min(args.compare, len(realms)))})
        unequal = [
            org_slug(i)
            for i in compared
            if solo_marts(env, realms[i], org_slug(i), tmp, postgres)
            != marts_of(settings, org_slug(i))
        ]
    emulator.stop()
    where = "Postgres (control DB, warehouse, Dagster)" if args.postgres else "SQLite + DuckDB"
    print(f"organizations: {args.orgs}, cores: {cores}, on {where}")
    print(f"wall (first submission -> last run ended): {wall:.1f} s")
    print(f"run workers' CPU: {cpu:.1f} s; CPU-bound floor (CPU / cores): {floor:.1f} s")
    print(f"wall / floor: {wall / floor:.2f} (target <= {TARGET_RATIO})")
    print(f"emulator + bench CPU meanwhile (same cores): {emulator_cpu:.1f} s; "
          f"wall / floor with it: {wall / ((cpu + emulator_cpu) / cores):.2f}")  # fmt: skip
    if args.postgres:
        # The syncs' work the run workers hand to the database: loads, the marts' queries,
        # Dagster's event log. It shares the cores, so a floor without it understates.
        print(f"Postgres server CPU meanwhile: {server_cpu:.1f} s; wall / floor with it: "
              f"{wall / ((cpu + server_cpu) / cores):.2f}; with it and the emulator's: "
              f"{wall / ((cpu + server_cpu + emulator_cpu) / cores):.2f}")  # fmt: skip
        assert sampler is not None
        print(sampler.summary())
    print(f"peak RSS: largest run worker {max(f[1] for f in figures):.0f} MB, "
          f"dagster dev tree {tree_peak:.0f} MB")  # fmt: skip
    print(f"duplicate keys: {duplicates}")
    print(f"marts equal to a solo sync: {len(compared) - len(unequal)}/{len(compared)}"
          + (f" (unequal: {', '.join(unequal)})" if unequal else ""))  # fmt: skip


if __name__ == "__main__":
    main()
