"""`dagster dev` (the webserver and the daemon) in the background, for the demo and benchmarks.

What a deployment runs as two long-lived services (README, "Running Dagster"), started here
as one process group on the instance under QBP_HOME, with the code location loaded from the
installed package, so that goal changes and "Sync now" have a run queue, a daemon to launch
runs and sensors to evaluate. `stop()` ends the whole group (webserver, daemon, code server,
run workers) with SIGTERM, as Ctrl-C would.

Two details found the hard way: a background child inherits an ignored SIGINT, after which
Dagster ignores SIGTERM too, so the signals are reset before exec; and the webserver answers
`/server_info` seconds before the code location has loaded, so readiness is the location
reported LOADED over GraphQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from qb_pipeline.config import Settings
from qb_pipeline.sync.launcher import LOCATION_NAME

WORKSPACE = f"""# Written by qb_pipeline/dagster_dev.py: the code location of the installed package.
load_from:
  - python_module:
      module_name: qb_pipeline.defs.definitions
      attribute: defs
      location_name: {LOCATION_NAME}
"""
LOCATIONS_QUERY = (
    "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
)
STOP_SECONDS = 30.0


class DagsterDev:
    """`dagster dev` on `settings`' instance, listening on 127.0.0.1:`port`."""

    def __init__(
        self,
        settings: Settings,
        port: int,
        log: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        from qb_pipeline.defs.instance import prepare_dagster_home

        home = prepare_dagster_home(settings)
        workspace = home / "workspace.yaml"
        workspace.write_text(WORKSPACE, encoding="utf-8")
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        dagster = Path(sys.executable).with_name("dagster")
        variables = {
            **os.environ,
            **(env or {}),
            "DAGSTER_HOME": str(home),
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(dagster), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)],
                cwd=home,
                env=variables,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_default_signals,
            )

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def wait_ready(self, seconds: float = 300.0) -> None:
        """Return once the webserver reports the code location loaded."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dagster dev exited:\n{self.tail()}")
            if self._location_loaded():
                return
            time.sleep(0.25)  # the polling period, not a wait for something to happen
        raise RuntimeError(f"dagster dev was not ready after {seconds:.0f} s:\n{self.tail()}")

    def _location_loaded(self) -> bool:
        try:
            answer = httpx.post(f"{self.url}/graphql", json={"query": LOCATIONS_QUERY}, timeout=5)
            entries = answer.json()["data"]["workspaceOrError"]["locationEntries"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return False
        return any(e["name"] == LOCATION_NAME and e["loadStatus"] == "LOADED" for e in entries)

    def stop(self) -> bool:
        """SIGTERM to the whole group; True when everything was gone within STOP_SECONDS
        (else what is left is killed)."""
        group = self.process.pid
        if self.process.poll() is None:
            os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None and not live_members(group):
                return True
            time.sleep(0.2)
        for pid in live_members(group):
            os.kill(pid, signal.SIGKILL)
        self.process.wait()
        return False


def live_members(group: int) -> list[int]:
    """Processes of the process group `group` that are not zombies, from /proc."""
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


__all__ = ["DagsterDev", "live_members"]
