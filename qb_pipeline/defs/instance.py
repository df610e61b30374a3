"""The persistent Dagster instance under QBP_HOME, shared by `qb-pipeline sync` and the UI.

`qb-pipeline sync` runs the job in its own process on `$QBP_HOME/dagster`; `dagster dev` started
with `DAGSTER_HOME=$QBP_HOME/dagster` shows those runs next to the ones it launches.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import DagsterInstance

from qb_pipeline.config import Settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.abandoned_runs import HOST_TAG, PID_TAG, fail_abandoned_runs

TEMPLATE = Path(__file__).with_name("dagster.yaml")
DAGSTER_DIR = "dagster"


def dagster_home(settings: Settings) -> Path:
    return settings.home / DAGSTER_DIR


def prepare_dagster_home(settings: Settings) -> Path:
    """Create `$QBP_HOME/dagster` with the project's dagster.yaml (an existing one is kept)."""
    home = dagster_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(TEMPLATE, target)
    return home


@contextmanager
def open_instance(
    settings: Settings, service: IntegrationService | None = None
) -> Iterator[DagsterInstance]:
    """The instance under QBP_HOME, after failing the runs whose process is gone (their
    sync-log entries closed through `service`, by default one on `settings`)."""
    with DagsterInstance.from_config(str(prepare_dagster_home(settings))) as instance:
        fail_abandoned_runs(instance, service or IntegrationService(settings))
        yield instance


def process_tags() -> dict[str, str]:
    """Tags naming this process, for runs executed in it (see abandoned_runs.py)."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
