"""The persistent Dagster instance under QBP_HOME, shared by `qb-pipeline sync` and the UI.

`qb-pipeline sync` queues its runs on `$QBP_HOME/dagster`; `dagster dev` (or the webserver and
the daemon) started with `DAGSTER_HOME=$QBP_HOME/dagster` shows and launches them.

Storage is SQLite under that folder unless QBP_DAGSTER_PG_URL is set: the dagster.yaml written
there then has a dagster-postgres `storage` section that reads the URL from that variable
(`env: QBP_DAGSTER_PG_URL`), so the password is in the environment of each process only,
never in the file.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from dagster import DagsterInstance

from qb_pipeline.config import DAGSTER_PG_URL_VARIABLE, ConfigError, Settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.abandoned_runs import HOST_TAG, PID_TAG, fail_abandoned_runs

TEMPLATE = Path(__file__).with_name("dagster.yaml")
DAGSTER_DIR = "dagster"
# Added to the template when QBP_DAGSTER_PG_URL is set. Dagster reads the variable itself
# (`env:`), in every process that opens the instance: the URL and its password stay out of
# the file.
POSTGRES_STORAGE = f"""
# Runs, event logs and schedules in Postgres (dagster-postgres), at the URL in
# ${DAGSTER_PG_URL_VARIABLE}: every process on this instance (webserver, daemon, run workers,
# qb-pipeline) needs the variable in its environment.
storage:
  postgres:
    postgres_url:
      env: {DAGSTER_PG_URL_VARIABLE}
"""


def dagster_home(settings: Settings) -> Path:
    return settings.home / DAGSTER_DIR


def prepare_dagster_home(settings: Settings) -> Path:
    """Create `$QBP_HOME/dagster` with the project's dagster.yaml (an existing one is kept,
    with the Postgres storage section added when QBP_DAGSTER_PG_URL asks for it)."""
    home = dagster_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        text = TEMPLATE.read_text()
        if settings.dagster_pg_url is not None:
            text += POSTGRES_STORAGE
        _write_atomically(target, text)
    else:
        _check_storage(target, settings)
    return home


def _check_storage(target: Path, settings: Settings) -> None:
    """An existing dagster.yaml agrees with QBP_DAGSTER_PG_URL: the section is added to a file
    that has no storage of its own; any other disagreement is an error naming the file."""
    text = target.read_text()
    storage = (yaml.safe_load(text) or {}).get("storage")
    reads_ours = _storage_reads_our_variable(storage)
    if settings.dagster_pg_url is not None:
        if storage is None:
            _write_atomically(target, text.rstrip("\n") + "\n" + POSTGRES_STORAGE)
        elif not reads_ours:
            raise ConfigError(
                f"{DAGSTER_PG_URL_VARIABLE} is set but {target} has a storage section of its "
                f"own; replace it with postgres_url: {{env: {DAGSTER_PG_URL_VARIABLE}}} or "
                "unset the variable"
            )
    elif reads_ours:
        raise ConfigError(
            f"{target} keeps Dagster's runs in Postgres at ${DAGSTER_PG_URL_VARIABLE}, which "
            "is not set; set it (the Postgres URL) in this environment"
        )


def _storage_reads_our_variable(storage: object) -> bool:
    if not isinstance(storage, dict):
        return False
    postgres = storage.get("postgres")
    url = postgres.get("postgres_url") if isinstance(postgres, dict) else None
    return isinstance(url, dict) and url.get("env") == DAGSTER_PG_URL_VARIABLE


def _write_atomically(target: Path, text: str) -> None:
    """A daemon starting at the same moment never reads half a file."""
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    partial.write_text(text)
    os.replace(partial, target)


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
