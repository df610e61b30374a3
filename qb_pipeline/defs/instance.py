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

from dagster import DagsterInstance, DagsterRunStatus

from qb_pipeline.config import Settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.abandoned_runs import (
    HOST_TAG,
    PID_TAG,
    Abandoned,
    fail_abandoned_runs,
    process_gone,
    run_process,
)
from qb_pipeline.defs.resources import DUCKDB_WRITER_POOL

TEMPLATE = Path(__file__).with_name("dagster.yaml")
DAGSTER_DIR = "dagster"

_FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


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
    """The instance under QBP_HOME, with the DuckDB writer pool limited to one slot, after
    failing the runs whose process is gone (their sync-log entries closed through `service`,
    by default one on `settings`) and giving back writer slots nobody can release."""
    with DagsterInstance.from_config(str(prepare_dagster_home(settings))) as instance:
        limit_writer_pool(instance)
        fail_abandoned_runs(instance, service or IntegrationService(settings))
        release_abandoned_slots(instance)
        yield instance


def process_tags() -> dict[str, str]:
    """Tags naming this process, for runs executed in it (see abandoned_runs.py)."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def limit_writer_pool(instance: DagsterInstance) -> None:
    """Set the duckdb_writer pool to one slot (dagster.yaml's default_limit says the same; this
    makes it explicit in the UI's Concurrency page)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    info = storage.get_concurrency_info(DUCKDB_WRITER_POOL)
    if info.slot_count != 1:
        storage.set_concurrency_slots(DUCKDB_WRITER_POOL, 1)


def release_abandoned_slots(instance: DagsterInstance) -> list[str]:
    """Give back writer slots still held by runs that can no longer release them.

    A run killed in the middle of a step (Ctrl-C twice, SIGKILL) keeps its pool slot, and every
    later run would wait for it forever. Slots of finished runs are freed; so are those of
    unfinished runs whose process is gone (the run is marked failed; abandoned_runs.py).
    Returns the ids of the runs whose slots were freed.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    info = storage.get_concurrency_info(DUCKDB_WRITER_POOL)
    holders = {slot.run_id for slot in info.claimed_slots}
    holders |= {step.run_id for step in info.pending_steps}
    freed = []
    for run_id in sorted(holders):
        record = instance.get_run_record_by_id(run_id)
        if record is None or record.dagster_run.status in _FINISHED:
            storage.free_concurrency_slots_for_run(run_id)
            freed.append(run_id)
            continue
        process = run_process(instance, record)
        if process is not None and process_gone(process):
            abandoned = Abandoned(
                run_id,
                record.dagster_run.job_name,
                record.dagster_run.tags.get("dagster/partition"),
                process,
            )
            instance.report_run_failed(record.dagster_run, abandoned.reason)
            storage.free_concurrency_slots_for_run(run_id)
            freed.append(run_id)
    return freed
