"""A real Dagster deployment for the web tests: `dagster-webserver` alone (runs are queued and
stay queued) or `dagster dev` (webserver and daemon: queued runs are launched), on the test's
QBP_HOME/DAGSTER_HOME with the project's dagster.yaml and workspace.yaml.

Started as tests/defs/test_daemon_lifecycle.py starts the daemon: in its own session with
default signal handlers (a background parent may pass an ignored SIGINT, after which dagster
ignores SIGTERM too), its output in a log file; stopped with SIGTERM to the whole process
group, then checked for leftovers (the code servers and run workers it started).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

from qb_pipeline.config import Settings
from qb_pipeline.defs.instance import prepare_dagster_home
from qb_pipeline.sync.launcher import LOCATION_NAME

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Generous: loading the code location takes ~10 s of CPU, and this 2-core machine is shared.
START_SECONDS = 300
STOP_SECONDS = 30

LOCATION_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename } } } } }
"""

UNFINISHED_RUNS_QUERY = """
{ runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) {
    ... on Runs { results { runId } } } }
"""

T = TypeVar("T")


class DagsterProcess:
    """`dagster-webserver` (`with_daemon=False`) or `dagster dev` on 127.0.0.1:`port`."""

    def __init__(self, settings: Settings, port: int, log: Path, *, with_daemon: bool) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        home = prepare_dagster_home(settings)
        env = {
            **os.environ,
            "QBP_HOME": str(settings.home),
            "QBP_SECRET_KEY": settings.secret_key or "",
            "QBO_ENVIRONMENT": settings.environment,
            "QBO_EMULATOR_URL": settings.emulator_url or "",
            "DAGSTER_HOME": str(home),
            "QBP_SENSOR_INTERVAL_SECONDS": "1",
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "DAGSTER_GRPC_TIMEOUT_SECONDS": "300",
        }
        workspace = str(ROOT / "workspace.yaml")
        if with_daemon:
            command = [str(BIN / "dagster"), "dev", "-w", workspace, "-h", "127.0.0.1", "-p"]
        else:
            command = [str(BIN / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1", "-p"]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, str(port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_default_signals,
            )

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"dagster exited with {self.process.returncode}:\n{self.tail()}")

    def wait_until_ready(self) -> float:
        """Wait until the webserver answers and has loaded the code location; seconds taken."""
        started = time.monotonic()
        wait_for("the Dagster webserver", self._location_loaded, self, START_SECONDS)
        return time.monotonic() - started

    def _location_loaded(self) -> bool:
        try:
            answer = httpx.post(f"{self.url}/graphql", json={"query": LOCATION_QUERY}, timeout=5)
        except httpx.TransportError:
            return False  # not listening yet
        entries = answer.json()["data"]["workspaceOrError"].get("locationEntries", [])
        return any(
            e["name"] == LOCATION_NAME
            and e["loadStatus"] == "LOADED"
            and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
            for e in entries
        )

    def wait_until_idle(self, seconds: float = START_SECONDS) -> None:
        """Wait until no run is queued or in progress. Stopping while the daemon launches a
        run races the launch: the code server is gone, the daemon's gRPC call to it waits,
        and the group outlives SIGTERM (a run a sensor queued at the test's end)."""
        wait_for("every run to finish", self._idle, self, seconds)

    def _idle(self) -> bool:
        query = {"query": UNFINISHED_RUNS_QUERY}
        answer = httpx.post(f"{self.url}/graphql", json=query, timeout=30)
        return answer.json()["data"]["runsOrError"]["results"] == []

    def stop(self) -> bool:
        """SIGTERM to the group. True when every process of it was gone within STOP_SECONDS;
        otherwise what is left is killed and False returned."""
        group = self.process.pid
        if self.process.poll() is None:
            os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None and not _live_members(group):
                return True
            time.sleep(0.2)  # the polling period, not a wait for something to happen
        for pid in _live_members(group):
            os.kill(pid, signal.SIGKILL)
        self.process.wait()
        return False


def wait_for(
    what: str, condition: Callable[[], T | None], process: DagsterProcess, seconds: float
) -> T:
    """Poll `condition` until it returns something truthy; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        process.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}; dagster log:\n{process.tail()}")
        time.sleep(0.2)  # the polling period, not a wait for something to happen


def _live_members(group: int) -> list[int]:
    """Processes of the group that are not zombies, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


__all__ = ["DagsterProcess", "wait_for"]
