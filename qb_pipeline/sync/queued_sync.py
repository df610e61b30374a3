"""A sync run from the shell, through the run queue, to its end.

`run_through_queue` submits the run (run_queue.enqueue) and then, until the run is finished:
while a daemon heartbeats it leaves the launch to the daemon (a run worker executes it) and
waits; while none does, it tries to take the run out of the queue itself (run_queue.claim,
under the queue's limits) and executes it in this process, tagged with this process's host
and pid so a `kill -9` is seen as such (defs/abandoned_runs.py). A daemon that stops while
the run is still queued is thus replaced within DAEMON_FRESH_SECONDS; one that starts takes
over a run not claimed yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus
from dagster._core.execution.api import execute_run
from dagster._utils.hosted_user_process import recon_job_from_origin

from qb_pipeline.connections import IntegrationService
from qb_pipeline.sync.launcher import PARTITION_TAG, REALM_TAG, SYNC_JOB
from qb_pipeline.sync.run_queue import claim, daemon_alive, enqueue

POLL_SECONDS = 0.5
# What a waiting run is told: the tags whose limit holds it.
LIMIT_TAGS = (PARTITION_TAG, REALM_TAG)


def run_through_queue(
    instance: DagsterInstance,
    service: IntegrationService,
    run_id: str,
    run_config: Mapping[str, object],
    tags: Mapping[str, str],
    *,
    on_wait: Callable[[str], None],
) -> None:
    """Queue sync run `run_id` and return once it is finished (whoever executed it).
    `on_wait` hears why it waits, each time that changes."""
    from qb_pipeline.defs.abandoned_runs import fail_abandoned_runs
    from qb_pipeline.defs.instance import process_tags

    enqueue(instance, SYNC_JOB, run_config, tags, run_id)
    told = None
    try:
        while True:
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                return
            if run.status in (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED):
                if daemon_alive(instance):
                    why = "queued; the Dagster daemon launches it"
                else:
                    taken = claim(instance, run_id, process_tags())
                    if taken.taken:
                        _execute_here(instance, run_id)
                        continue
                    if taken.blocking:
                        # No daemon's sensor fails a blocker whose process was killed: do it
                        # here, or the run would wait for it for good.
                        fail_abandoned_runs(instance, service)
                    why = _waiting_text(run, taken.blocking) if taken.blocking else None
                if why is not None and why != told:
                    on_wait(why)
                    told = why
            else:
                # Launched by the daemon: a run worker executes it. A worker killed while no
                # daemon's sensor looks would stay STARTED for good, so look here too.
                fail_abandoned_runs(instance, service, partition=tags.get(PARTITION_TAG))
            time.sleep(POLL_SECONDS)  # the polling period of the run storage, not a fixed wait
    except KeyboardInterrupt:
        _cancel_if_queued(instance, run_id)
        raise


def _execute_here(instance: DagsterInstance, run_id: str) -> None:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    assert run.job_code_origin is not None  # enqueue always sets it
    execute_run(recon_job_from_origin(run.job_code_origin), run, instance)


def _waiting_text(run: DagsterRun, blocking: list[DagsterRun]) -> str:
    shared = [
        f"{key}={run.tags[key]}"
        for key in LIMIT_TAGS
        if key in run.tags and any(other.tags.get(key) == run.tags[key] for other in blocking)
    ]
    ids = ", ".join(other.run_id[:8] for other in blocking[:3])
    if shared:
        return f"queued behind run {ids} ({', '.join(shared)}: one at a time)"
    return f"queued: the run queue is full (runs {ids}{' ...' if len(blocking) > 3 else ''})"


def _cancel_if_queued(instance: DagsterInstance, run_id: str) -> None:
    """Ctrl-C while the run still waits: it leaves the queue rather than run later unseen."""
    run = instance.get_run_by_id(run_id)
    if run is not None and run.status in (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED):
        instance.report_run_canceled(run, message="The qb-pipeline sync waiting for it stopped.")


__all__ = ["run_through_queue"]
