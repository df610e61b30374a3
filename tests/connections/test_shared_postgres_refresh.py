"""Refresh-token rotation across machines: 8 processes, each with a QBP_HOME of its own (so no
file lock is shared), one control DB on Postgres. Only the Postgres advisory lock keeps two of
them from spending the same refresh token, which under strict rotation loses the connection."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import httpx
import pytest

from qb_pipeline.config import load_settings
from qb_pipeline.connections import IntegrationService
from tests.connections import refresh_worker
from tests.connections.conftest import add_team, company_info, connect_company, issued_tokens
from tests.connections.test_tokens import FORCE

WORKERS = 8


def environments(tmp_path: Path, emulator_url: str, secret_key: str, database_url: str):
    """One environment per process: its own QBP_HOME, the shared Postgres control DB."""
    return [
        {
            "QBP_HOME": str(tmp_path / f"machine-{index}"),
            "QBP_SECRET_KEY": secret_key,
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": emulator_url,
            "QBP_DATABASE_URL": database_url,
        }
        for index in range(WORKERS + 1)
    ]


@pytest.fixture
def shared(make_emulator, tmp_path, secret_key, postgres_url):
    """A strict-rotation emulator, and `acme` connected through machine 0's QBP_HOME."""
    running = make_emulator(strict_rotation=True, limits_enabled=False)
    envs = environments(tmp_path, running.url, secret_key, postgres_url)
    service = IntegrationService(load_settings(envs[0]))
    add_team(service)
    connect_company(service)
    return running, service, envs[1:]


def active_refresh_tokens(emulator_url: str) -> list[dict]:
    return [
        t for t in issued_tokens(emulator_url) if t["kind"] == "refresh" and t["status"] == "active"
    ]


def collect(processes, results) -> list[dict]:
    try:
        return [results.get(timeout=180) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)


@pytest.mark.slow
def test_eight_machines_sharing_postgres_refresh_under_strict_rotation_and_keep_it(shared):
    running, service, envs = shared
    rounds, forced = 3, 3
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS + 1)
    results = context.Queue()
    processes = [
        context.Process(
            target=refresh_worker.run, args=(env, "acme", rounds, forced, barrier, results)
        )
        for env in envs
    ]
    for process in processes:
        process.start()
    try:
        for _ in range(rounds):
            httpx.post(f"{running.url}/_emulator/oauth/expire-access-tokens").raise_for_status()
            barrier.wait(refresh_worker.BARRIER_TIMEOUT)  # the round starts
            barrier.wait(refresh_worker.BARRIER_TIMEOUT)  # every worker has used a token
    finally:
        outcomes = collect(processes, results)

    assert [o["error"] for o in outcomes] == [None] * WORKERS
    assert sum(o["used"] for o in outcomes) == WORKERS * rounds
    assert sum(o["forced"] for o in outcomes) == WORKERS * forced
    refreshes = [e for e in service.audit_log("acme", limit=1000) if e.action == "token refreshed"]
    # One refresh per round (the others found its token after taking the lock), then one per
    # forced call: every rotation was committed before the next one began.
    assert len(refreshes) == rounds + WORKERS * forced
    status = service.status("acme")
    assert (status.status, status.status_reason) == ("connected", None)
    assert len(active_refresh_tokens(running.url)) == 1
    final = service.access_token("acme", min_valid=FORCE)
    assert company_info(running.url, final.realm_id, final.value).status_code == 200


def refresh_without_the_lock(envs: list[dict], first_stored: str) -> list[dict]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    stored = context.Event()
    results = context.Queue()
    processes = [
        context.Process(
            target=refresh_worker.run_unlocked,
            args=(env, "acme", barrier, first_stored, stored, results),
        )
        for env in envs
    ]
    for process in processes:
        process.start()
    return collect(processes, results)


@pytest.mark.slow
def test_without_the_lock_overlapping_refreshes_are_refused(shared):
    """The same machines with the connection lock switched off: the refresh requests overlap
    (held back until all have read the stored token), Intuit accepts the first and refuses the
    other seven with invalid_grant, and their callers fail with "reauthorization required":
    what the first test would see (its first assertion fails) if the advisory lock did nothing.
    Here the winner's new pair reaches the control DB before any refusal, and the connection
    survives only because each refusal's update is conditional on the token it spent."""
    running, service, envs = shared
    outcomes = refresh_without_the_lock(envs, first_stored="winner")

    errors = [o["error"] for o in outcomes if o["error"] is not None]
    assert len(errors) == WORKERS - 1
    assert all(e.startswith("ReauthorizationRequired") for e in errors), errors
    audit = service.audit_log("acme", limit=1000)
    assert sum(1 for e in audit if e.action == "token refreshed") == 1
    assert service.status("acme").status == "connected"
    assert len(active_refresh_tokens(running.url)) == 1


@pytest.mark.slow
def test_without_the_lock_a_refusal_stored_first_loses_the_connection(shared):
    """The other order of the same race: a refused caller marks the connection
    reauthorization-required (erasing the token every caller spent) before the winner stores
    its new pair, so the winner's conditional update finds the connection changed and the only
    live refresh token at Intuit is dropped. All eight callers fail and an admin must
    reconnect: the connection lost, which the lock makes impossible."""
    running, service, envs = shared
    outcomes = refresh_without_the_lock(envs, first_stored="refusal")

    errors = [o["error"] for o in outcomes]
    assert len(errors) == WORKERS
    assert None not in errors, errors
    assert [e for e in errors if e.startswith("NotConnected")] == [
        "NotConnected: acme: the QuickBooks connection changed during a refresh"
    ]
    assert sum(1 for e in errors if e.startswith("ReauthorizationRequired")) == WORKERS - 1
    audit = service.audit_log("acme", limit=1000)
    assert sum(1 for e in audit if e.action == "token refreshed") == 0
    status = service.status("acme")
    assert status.status == "reauthorization_required", status
    # Intuit still holds one live refresh token (the winner's), which nobody stored.
    assert len(active_refresh_tokens(running.url)) == 1
