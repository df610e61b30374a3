"""End to end: the real `dagster-daemon` drives an organization's whole lifecycle by itself.

The daemon runs on a DAGSTER_HOME under a temporary QBP_HOME, with the project's dagster.yaml
and workspace.yaml, sensors evaluated every second (QBP_SENSOR_INTERVAL_SECONDS), against a
private small emulator company. The test only acts as the organization's admin does (connect
through the emulator's consent pages, disconnect, reconnect) and watches the Dagster instance,
the control DB and the serving copy until each expected state arrives or its deadline passes:

connect -> the first sync runs and goal values appear -> a goal stored meanwhile (no run
submitted: the daemon's goal-changes sensor must see it) gets its values -> disconnect -> the
goals are flagged stale with the reason and no sync is requested any more -> reconnect ->
fresh values.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import duckdb
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.scheduler.instigation import InstigatorType

from qb_pipeline.config import Settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.instance import dagster_home, open_instance
from qb_pipeline.defs.quickbooks.sensors.connection import SENSOR_NAME
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.loader import load_goals
from qb_pipeline.goals.store import GoalStore
from tests.connections.conftest import ADMIN, EDITOR, add_team, connect_company

ROOT = Path(__file__).resolve().parents[2]
DAEMON = Path(sys.executable).with_name("dagster-daemon")
DEMO = "demo"  # the organization goal_models/demo belongs to
SYNC, GOALS = "quickbooks_sync", "goals_refresh"

# Deadlines, generous for a 2-core machine shared with other work; the test waits only as long
# as each state takes to arrive.
DAEMON_START_SECONDS = 300
RUN_SECONDS = 600
STOP_SECONDS = 30

GOAL_VALUES = """
SELECT goal_id, is_stale, stale_reason, computed_at
FROM marts.goal_values
WHERE org_id = ?
"""

NET_INCOME = GoalDefinition.model_validate(
    {
        "id": "net-income",
        "name": "Net income",
        "organization": DEMO,
        "dataset": "profit_and_loss",
        "grain": "quarter",
        "tracks": {"line": {"group": "NetIncome"}},
        "target": {"value": 5000},
    }
)

T = TypeVar("T")


class Daemon:
    """`dagster-daemon run` in its own process group, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(DAEMON), "run", "-w", str(ROOT / "workspace.yaml")],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own session, so stopping it reaches the code server and run workers it
                # starts; default signal handlers, since a background parent may pass an
                # ignored SIGINT, after which dagster ignores SIGTERM too.
                start_new_session=True,
                preexec_fn=_default_signals,
            )

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(
                f"dagster-daemon exited with {self.process.returncode}:\n{self.tail()}"
            )

    def stop(self) -> bool:
        """SIGTERM to the whole group, as Ctrl-C would. True when the daemon and every process
        it started (code server, run workers) were gone within STOP_SECONDS; otherwise what is
        left of the group is killed and False returned."""
        group = self.process.pid
        if self.process.poll() is None:
            os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None and not _live_members(group):
                return True
            time.sleep(0.2)
        for pid in _live_members(group):
            os.kill(pid, signal.SIGKILL)
        self.process.wait()
        return False


def _live_members(group: int) -> list[int]:
    """Processes of the group that are not zombies, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state != "Z":
            members.append(int(stat.parent.name))
    return members


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def wait_for(what: str, condition: Callable[[], T | None], daemon: Daemon, seconds: float) -> T:
    """Poll `condition` until it returns something truthy; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        daemon.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}; daemon log:\n{daemon.tail()}")
        time.sleep(0.2)  # the polling period, not a wait for something to happen


class Watch:
    """What the test reads: runs of the instance, the serving copy's goal values."""

    def __init__(self, instance: DagsterInstance, settings: Settings, daemon: Daemon) -> None:
        self.instance = instance
        self.settings = settings
        self.daemon = daemon

    def runs(self, job: str) -> list:
        records = self.instance.get_run_records(
            RunsFilter(job_name=job, tags={"dagster/partition": DEMO}), ascending=True
        )
        return [record.dagster_run for record in records]

    def no_run_failed(self) -> None:
        for job in (SYNC, GOALS):
            for run in self.runs(job):
                if run.status == DagsterRunStatus.FAILURE:
                    raise AssertionError(f"{job} run {run.run_id} failed: {self.why(run.run_id)}")

    def why(self, run_id: str) -> str:
        """The failed steps' errors (the first lines of each), else the run's error logs."""
        steps = self.instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE)
        failures = [r.event_log_entry.dagster_event.step_failure_data for r in steps.records]
        errors = [f.error.to_string()[-1500:] for f in failures if f.error is not None]
        if not errors:
            errors = [e.message for e in self.instance.all_logs(run_id) if e.level >= 40]
        return "\n".join(errors) or "(no error logged)"

    def succeeded(self, job: str, after: int) -> bool:
        """Whether more than `after` runs of `job` exist and every one of them has succeeded
        (two sensors may both ask; the partition's runs go one at a time)."""
        self.no_run_failed()
        runs = self.runs(job)
        return len(runs) > after and all(r.status == DagsterRunStatus.SUCCESS for r in runs)

    def goal_values(self) -> list[tuple]:
        if not self.settings.serving_path(DEMO).exists():
            return []
        with duckdb.connect(str(self.settings.serving_path(DEMO)), read_only=True) as con:
            try:
                return con.execute(GOAL_VALUES, [DEMO]).fetchall()
            except duckdb.CatalogException:
                return []  # published before the goals existed

    def connection_ticks_after(self, moment: float) -> int:
        """Completed evaluations of the connection sensor since `moment` (epoch seconds)."""
        for state in self.instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
            if state.instigator_name == SENSOR_NAME:
                ticks = self.instance.get_ticks(
                    state.instigator_origin_id, state.selector_id, after=float(moment)
                )
                return sum(1 for tick in ticks if tick.is_completed)
        return 0


def daemon_env(settings: Settings) -> dict[str, str]:
    """The daemon's environment: this process's (make_env exported QBP_HOME, the key and the
    emulator's URL), the instance under QBP_HOME, sensors every second, no run submission."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home(settings)),
        "QBP_SENSOR_INTERVAL_SECONDS": "1",
        "QBP_DAGSTER_URL": "off",
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        # On a busy 2-core machine the code server can take longer than Dagster's default 60 s
        # to load the code location and start a run (sensors use the same timeout).
        "DAGSTER_GRPC_TIMEOUT_SECONDS": "300",
    }


@pytest.fixture
def lifecycle(make_emulator, make_env, tmp_path) -> Iterator[tuple[IntegrationService, Watch]]:
    """Organization `demo` (not connected yet) and the daemon watching over it."""
    running = make_emulator(limits_enabled=False)
    settings = make_env(running.url)
    service = IntegrationService(settings)
    add_team(service, DEMO)
    # The demo goals, stored before the organization connects (they take its company then).
    store = GoalStore(service.db_path)
    for sourced in load_goals([ROOT / "goal_models" / "demo"]).goals:
        store.create(sourced.goal, actor=EDITOR, source="cli", realm_id=None)
    env = daemon_env(settings)
    with open_instance(settings) as instance:  # DAGSTER_HOME with the project's dagster.yaml
        daemon = Daemon(env, tmp_path / "daemon.log")
        try:
            watch = Watch(instance, settings, daemon)
            wait_for(
                "the daemon's first connection-sensor tick",
                lambda: watch.connection_ticks_after(0),
                daemon,
                DAEMON_START_SECONDS,
            )
            yield service, watch
        finally:
            stopped_cleanly = daemon.stop()
        assert stopped_cleanly, f"SIGTERM left processes of the daemon running:\n{daemon.tail()}"


def test_the_daemon_syncs_a_new_connection_flags_goals_stale_on_disconnect_and_refreshes_them(
    lifecycle,
):
    service, watch = lifecycle
    daemon = watch.daemon

    # Connect: the first sync runs without anyone touching Dagster, and the goals appear.
    connect_company(service, DEMO)
    wait_for("the first sync", lambda: watch.succeeded(SYNC, after=0), daemon, RUN_SECONDS)
    first = wait_for("goal values", watch.goal_values, daemon, RUN_SECONDS)
    assert not any(stale for _, stale, _, _ in first)
    assert service.status(DEMO).last_sync.status == "succeeded"
    syncs = len(watch.runs(SYNC))

    # A goal stored without any run submitted: the goal-changes sensor asks for its values.
    realm = service.status(DEMO).realm_id
    GoalStore(service.db_path).create(NET_INCOME, actor=EDITOR, source="web", realm_id=realm)
    wait_for(
        "the new goal's values",
        lambda: "net-income" in {row[0] for row in watch.goal_values()},
        daemon,
        RUN_SECONDS,
    )
    assert [run.tags["qbp/trigger"] for run in watch.runs(GOALS)] == ["goal_change"]
    first = watch.goal_values()

    # Disconnect: a goal run flags the values stale with the reason; no sync follows.
    service.disconnect(DEMO, ADMIN)
    wait_for("the goal run", lambda: watch.succeeded(GOALS, after=1), daemon, RUN_SECONDS)
    stale = wait_for(
        "stale goal values",
        lambda: (rows := watch.goal_values()) and all(row[1] for row in rows) and rows,
        daemon,
        RUN_SECONDS,
    )
    assert {(row[0], row[2]) for row in stale} == {(row[0], "disconnected") for row in first}
    settled = time.time()
    wait_for(
        "two more connection-sensor ticks",
        lambda: watch.connection_ticks_after(settled) >= 2,
        daemon,
        DAEMON_START_SECONDS,
    )
    assert len(watch.runs(SYNC)) == syncs, "no sync is requested while disconnected"
    assert len(watch.runs(GOALS)) == 2  # the new goal's, then the stale flags'

    # Reconnect: a new sync recomputes the goals and clears the stale flag.
    connect_company(service, DEMO)
    wait_for(
        "the sync after reconnecting", lambda: watch.succeeded(SYNC, syncs), daemon, RUN_SECONDS
    )
    fresh = wait_for(
        "fresh goal values",
        lambda: (rows := watch.goal_values()) and not any(row[1] for row in rows) and rows,
        daemon,
        RUN_SECONDS,
    )
    assert {row[0] for row in fresh} == {row[0] for row in first}
    assert {row[2] for row in fresh} == {None}
    assert min(row[3] for row in fresh) > max(row[3] for row in first)
