"""Benchmark: a goal saved -> its values visible, with `dagster dev` (webserver + daemon)
running (target p95 < 5 s).

Sets up what a deployment has: the emulator's demo company connected to an organization
through the OAuth flow and synced once, and `dagster dev` on the same QBP_HOME. Then, `--goals`
times, it saves a new goal the way the web app and the API do (goals/editing.py into the store,
then launcher.submit_goals_run through the webserver's GraphQL into the run queue) and polls
the serving copy until that goal's values are there (marts.goals holds its version and
marts.goal_values its rows). The time from the save to the values is one sample; the run
queue's daemon launches a run worker per goals run, so each sample pays for a process start
and a code-location load, then the goals step and the serving copy's publish.

    bench/run latency [--goals 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
from queued_deployment import queued_deployment  # beside this file (bench/)

from qb_pipeline.config import Settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.goals import editing
from qb_pipeline.goals.catalog import load_catalog
from qb_pipeline.goals.store import GoalStore
from qb_pipeline.sandbox import EmulatorSettings, start_in_thread
from qb_pipeline.sandbox.testing.consent import callback_params, consent
from qb_pipeline.sync.dagster_dev import DagsterDev
from qb_pipeline.sync.launcher import submit_goals_run

ORG = "bench"
EDITOR = "editor@bench.example"
REDIRECT_URI = "http://127.0.0.1:8000/integrations/quickbooks/callback"
TODAY = date(2026, 11, 15)
TARGET_P95_SECONDS = 5.0
POLL_SECONDS = 0.05
DEADLINE_SECONDS = 120.0


def connect(service: IntegrationService, realm_id: str) -> None:
    authorize = service.begin_connect(ORG, EDITOR, REDIRECT_URI)
    params = callback_params(consent(authorize, realm_id=realm_id))
    service.complete_connect(
        params["state"] or "", params["code"], params["realmId"], params["error"], REDIRECT_URI
    )


def visible(serving: Path, goal_id: str, version: int) -> bool:
    """Whether the serving copy holds `goal_id`'s values computed from `version`."""
    if not serving.exists():
        return False
    try:
        with duckdb.connect(str(serving), read_only=True) as con:
            (computed,) = con.execute(
                "SELECT max(version) FROM marts.goals WHERE org_id = ? AND goal_id = ?",
                [ORG, goal_id],
            ).fetchone()
            (rows,) = con.execute(
                "SELECT count(*) FROM marts.goal_values WHERE org_id = ? AND goal_id = ?",
                [ORG, goal_id],
            ).fetchone()
    except duckdb.Error:
        return False  # published before the goals existed, or being replaced this instant
    return computed is not None and computed >= version and rows > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goals", type=int, default=20)
    args = parser.parse_args()

    emulator = start_in_thread(
        EmulatorSettings(seed=7, size="small", today=TODAY, limits_enabled=False)
    )
    with tempfile.TemporaryDirectory() as tmp:
        env, settings, port = queued_deployment(Path(tmp), emulator.url)
        service = IntegrationService(settings)
        service.create_org(ORG, "Bench Inc.")
        service.add_user(EDITOR, ORG, "admin", "bench-password-1")
        realm = emulator.state.backend.list_companies()[0].realm_id
        connect(service, realm)
        from qb_pipeline.sync.runner import sync_org

        started = time.perf_counter()
        outcome = sync_org(ORG, settings, today=TODAY)
        assert outcome.succeeded, outcome.message
        print(f"synced the demo company in {time.perf_counter() - started:.1f} s")
        dagster = DagsterDev(settings, port, Path(tmp) / "dagster-dev.log", env)
        try:
            started = time.perf_counter()
            dagster.wait_ready()
            print(f"dagster dev ready in {time.perf_counter() - started:.1f} s")
            samples, runs = measure(service, settings, args.goals)
            stages = run_stages(settings, runs)
        finally:
            stopped = dagster.stop()
    emulator.stop()
    report(samples, stages, stopped)


def measure(
    service: IntegrationService, settings: Settings, count: int
) -> tuple[list[float], list[tuple[float, str]]]:
    """Seconds from each save to its values, and (moment saved, run id) of each run."""
    store = GoalStore(service.db_path)
    realm = service.status(ORG).realm_id
    with duckdb.connect(str(settings.serving_path(ORG)), read_only=True) as con:
        catalog = load_catalog(con, ORG, realm)
    samples, runs = [], []
    for n in range(count):
        raw = {
            "id": f"latency-{n:03d}",
            "name": f"Monthly income {n}",
            "organization": ORG,
            "dataset": "profit_and_loss",
            "grain": "month",
            "tracks": {"line": {"group": "Income"}},
            "target": {"value": 10_000 + n},
        }
        saved, saved_at = time.perf_counter(), time.time()
        change = editing.create(store, raw, catalog, actor=EDITOR, source="api", realm_id=realm)
        submission = submit_goals_run(
            settings, ORG, event_id=change.event_id or 0, requested_by=EDITOR, trigger="bench"
        )
        assert submission.submitted, submission.problem
        runs.append((saved_at, submission.run_id or ""))
        while not visible(settings.serving_path(ORG), change.goal.goal_id, change.goal.version):
            if time.perf_counter() - saved > DEADLINE_SECONDS:
                raise SystemExit(f"goal {n}: no values after {DEADLINE_SECONDS:.0f} s")
            time.sleep(POLL_SECONDS)  # the polling period, not a wait for something to happen
        samples.append(time.perf_counter() - saved)
        print(f"  goal {n:>3}: values after {samples[-1]:.2f} s")
    return samples, runs


def run_stages(settings: Settings, runs: list[tuple[float, str]]) -> dict[str, float]:
    """Median seconds of each stage of the runs, from the instance's records: saved and
    submitted -> queued run created, created -> started (the daemon dequeues it and a run
    worker process starts and loads the code location), started -> the goal step begins,
    the goal step, the serving copy's publish, and the run's end."""
    from dagster import DagsterEventType, DagsterInstance

    from qb_pipeline.defs.instance import dagster_home

    stages: dict[str, list[float]] = {}
    with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
        for saved_at, run_id in runs:
            record = instance.get_run_record_by_id(run_id)
            if record is None or record.start_time is None or record.end_time is None:
                continue
            steps: dict[str, dict[str, float]] = {}
            for event in instance.all_logs(run_id):
                kind = event.dagster_event.event_type if event.dagster_event else None
                if kind in (DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS):
                    steps.setdefault(event.step_key or "", {})[kind.value] = event.timestamp
            goal = steps.get("goal_values", {})
            serving = steps.get("serving_warehouse", {})
            marks = {
                "submitted -> created": record.create_timestamp.timestamp() - saved_at,
                "created -> started": record.start_time - record.create_timestamp.timestamp(),
                "started -> goal step": goal.get("STEP_START", record.start_time)
                - record.start_time,
                "goal step": goal.get("STEP_SUCCESS", 0) - goal.get("STEP_START", 0),
                "publish step": serving.get("STEP_SUCCESS", 0) - serving.get("STEP_START", 0),
                "publish -> run end": record.end_time
                - serving.get("STEP_SUCCESS", record.end_time),
            }
            for name, seconds in marks.items():
                stages.setdefault(name, []).append(seconds)
    return {name: statistics.median(values) for name, values in stages.items()}


def report(samples: list[float], stages: dict[str, float], stopped: bool) -> None:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(
        f"{len(samples)} goals saved -> values visible: median {statistics.median(samples):.2f} s, "
        f"p95 {p95:.2f} s, max {ordered[-1]:.2f} s; load average {os.getloadavg()[0]:.1f}"
    )
    print("median stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items()))
    verdict = "meets" if p95 < TARGET_P95_SECONDS else "MISSES"
    print(f"target p95 < {TARGET_P95_SECONDS:.0f} s: {verdict} ({p95 / TARGET_P95_SECONDS:.2f})")
    if not stopped:
        print("warning: dagster dev left processes behind; they were killed")


if __name__ == "__main__":
    main()
