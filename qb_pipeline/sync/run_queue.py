"""Putting a run into the Dagster instance's run queue, and taking it out again when no
daemon does.

`enqueue` creates a run of the code location's job, the way `dagster job launch` and the UI
do (a remote job origin naming the location `qb-pipeline`, so the daemon's workspace finds
it), and submits it to the instance's run coordinator: with the QueuedRunCoordinator of
dagster.yaml it is QUEUED, under the queue's limits. No webserver is needed: the code
location is loaded in this process, as the caller has it imported already.

Who launches it: the daemon, when one heartbeats on this instance (`daemon_alive`);
otherwise `claim` takes the run out of the queue for this process to execute, under the same
limits the daemon applies (max_concurrent_runs and the tag limits: one run per partition, one
sync per realm), read from the instance's own configuration. Claims go through a file lock
beside the instance, so two waiting processes of one machine never both take a slot. This is
the embedded default's situation (`bin/demo`, the tests, a shell with no daemon); a
deployment with a daemon never self-dequeues.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    RunsFilter,
)
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.remote_representation.code_location import InProcessCodeLocation
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.run_coordinator.base import SubmitRunContext
from dagster._core.storage.dagster_run import ACTIVE_RUN_STATUSES
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
    QueuedRunCoordinatorDaemon,
)
from dagster._utils.tags import TagConcurrencyLimitsCounter

from qb_pipeline.file_locks import exclusive_file_lock
from qb_pipeline.sync.launcher import LOCATION_NAME, REPOSITORY_NAME

DEFINITIONS_MODULE = "qb_pipeline.defs.definitions"
# The daemon heartbeats every 30 s (Dagster's default) between dequeue passes; a launch on a
# busy machine can hold a pass for a while, so only a heartbeat older than this means no
# daemon. A daemon that stopped is thus noticed within two minutes.
DAEMON_FRESH_SECONDS = 120.0
CLAIM_LOCK = "run-queue.lock"


def enqueue(
    instance: DagsterInstance,
    job_name: str,
    run_config: Mapping[str, object],
    tags: Mapping[str, str],
    run_id: str,
) -> DagsterRun:
    """Create run `run_id` of `job_name` and submit it to the instance's run coordinator."""
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable, module_name=DEFINITIONS_MODULE, attribute="defs"
        ),
        location_name=LOCATION_NAME,
    )
    with InProcessCodeLocation(origin, instance=instance) as location:
        repository = location.get_repository(REPOSITORY_NAME)
        remote_job = repository.get_full_job(job_name)
        plan = location.get_execution_plan(
            remote_job,
            dict(run_config),
            step_keys_to_execute=None,
            known_state=None,
            instance=instance,
        )
        run = instance.create_run(
            job_name=job_name,
            run_id=run_id,
            run_config=dict(run_config),
            resolved_op_selection=None,
            step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute,
            op_selection=None,
            status=None,
            root_run_id=None,
            parent_run_id=None,
            tags={**remote_job.tags, **tags},
            job_snapshot=remote_job.job_snapshot,
            execution_plan_snapshot=plan.execution_plan_snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot,
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
            asset_selection=None,
            asset_check_selection=None,
            asset_graph=repository.asset_graph,
        )
    if not isinstance(instance.run_coordinator, QueuedRunCoordinator):
        # Another coordinator would launch at once, which needs a code server's workspace;
        # the run stays NOT_STARTED for `claim` (the project's dagster.yaml always queues).
        return run
    return instance.run_coordinator.submit_run(SubmitRunContext(run, workspace=None))  # type: ignore[arg-type]


def daemon_alive(instance: DagsterInstance, now: float | None = None) -> bool:
    """Whether a daemon dequeues this instance's runs: its run-queue heartbeat is fresh."""
    if not isinstance(instance.run_coordinator, QueuedRunCoordinator):
        return False
    beat = instance.get_daemon_heartbeats().get(QueuedRunCoordinatorDaemon.daemon_type())
    moment = time.time() if now is None else now
    return beat is not None and moment - beat.timestamp <= DAEMON_FRESH_SECONDS


@dataclass(frozen=True)
class Claim:
    """What `claim` found: the run taken, or the runs it waits for (or neither when the run
    left the queue: a daemon took it, or it was cancelled)."""

    taken: bool
    blocking: list[DagsterRun]
    left_queue: bool = False


def claim(instance: DagsterInstance, run_id: str, tags: Mapping[str, str]) -> Claim:
    """Take run `run_id` out of the queue when the queue's limits allow it now: mark it
    STARTING (as the daemon does before launching) with `tags` added, under the claim lock.
    Never takes it while a daemon is alive."""
    home = Path(instance.root_directory)
    with exclusive_file_lock(home / CLAIM_LOCK):  # held for a few reads and one write
        run = instance.get_run_by_id(run_id)
        if run is None or run.status not in _claimable_statuses(instance):
            return Claim(False, [], left_queue=True)
        if daemon_alive(instance):
            return Claim(False, [])
        active = [
            record.dagster_run
            for record in instance.get_run_records(RunsFilter(statuses=ACTIVE_RUN_STATUSES))
        ]
        blocking = _blocking(instance, run, active)
        if blocking is not None:
            return Claim(False, blocking)
        instance.add_run_tags(run_id, dict(tags))
        starting = DagsterEvent(
            event_type_value=DagsterEventType.PIPELINE_STARTING.value, job_name=run.job_name
        )
        instance.report_dagster_event(starting, run_id=run_id)
        return Claim(True, [])


def _claimable_statuses(instance: DagsterInstance) -> list[DagsterRunStatus]:
    if isinstance(instance.run_coordinator, QueuedRunCoordinator):
        return [DagsterRunStatus.QUEUED]
    return [DagsterRunStatus.NOT_STARTED]


def _blocking(
    instance: DagsterInstance, run: DagsterRun, active: list[DagsterRun]
) -> list[DagsterRun] | None:
    """The active runs that keep `run` in the queue under the instance's limits, or None
    when it may start."""
    queue = instance.get_concurrency_config().run_queue_config
    if queue is None:
        return None
    limits = list(queue.tag_concurrency_limits or [])
    if TagConcurrencyLimitsCounter(limits, active).is_blocked(run):
        keys = {limit["key"] for limit in limits}
        shared = {(key, run.tags[key]) for key in keys if key in run.tags}
        return [other for other in active if shared & set(other.tags.items())] or active
    if queue.max_concurrent_runs != -1 and len(active) >= queue.max_concurrent_runs:
        return active
    return None


__all__ = ["Claim", "claim", "daemon_alive", "enqueue"]
