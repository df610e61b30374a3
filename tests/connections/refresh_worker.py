"""A separate OS process that asks for access tokens and uses them, for the rotation tests.

Started with the `spawn` method, so it shares nothing with the test process but QBP_HOME
(the control DB and the lock files) and the emulator over loopback HTTP.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx

from qb_pipeline.config import load_settings
from qb_pipeline.connections import IntegrationService

BARRIER_TIMEOUT = 120


def company_info_status(api_base: str, realm_id: str, access_token: str) -> int:
    return httpx.get(
        f"{api_base}/v3/company/{realm_id}/companyinfo/{realm_id}",
        params={"minorversion": "75"},
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=30,
    ).status_code


def run(
    env: dict[str, str],
    org: str,
    rounds: int,
    forced_refreshes: int,
    barrier: threading.Barrier,
    results,
) -> None:
    """Rounds in step with the test (which expires every access token before each round),
    then `forced_refreshes` refreshes as fast as possible. Reports counts or the error."""
    outcome: dict = {"used": 0, "retried_after_401": 0, "forced": 0, "error": None}
    try:
        service = IntegrationService(load_settings(env))
        api_base = env["QBO_EMULATOR_URL"]
        for _ in range(rounds):
            barrier.wait(BARRIER_TIMEOUT)
            token = service.access_token(org)
            status = company_info_status(api_base, token.realm_id, token.value)
            if status == 401:  # expired early at Intuit: ask for a replacement of this one
                token = service.access_token(org, rejected=token.value)
                status = company_info_status(api_base, token.realm_id, token.value)
                outcome["retried_after_401"] += 1
            if status != 200:
                raise AssertionError(f"CompanyInfo answered HTTP {status} with a fresh token")
            outcome["used"] += 1
            barrier.wait(BARRIER_TIMEOUT)
        for _ in range(forced_refreshes):
            # Wanting 2 hours of validity from 1-hour tokens forces a refresh every time.
            token = service.access_token(org, min_valid=timedelta(hours=2))
            status = company_info_status(api_base, token.realm_id, token.value)
            if status != 200:
                raise AssertionError(f"CompanyInfo answered HTTP {status} after a refresh")
            outcome["forced"] += 1
    except Exception as error:
        outcome["error"] = f"{type(error).__name__}: {error}"
        barrier.abort()  # release everyone else instead of letting them time out
    results.put(outcome)


def run_unlocked(
    env: dict[str, str],
    org: str,
    barrier: threading.Barrier,
    first_stored: str,
    stored: threading.Event,
    results,
) -> None:
    """One forced refresh with the connection lock switched off and every worker's refresh
    request held back until all of them have read the same stored refresh token, so the
    requests overlap for certain: what the lock exists to prevent. Intuit accepts one of them;
    which answer reaches the control DB first is then a race, which `first_stored` settles so
    that each outcome is tested on purpose: "winner" (the new pair is stored before any
    refusal) or "refusal" (a refusal erases the connection before the winner stores). `stored`
    is set by whichever store goes first and awaited by the other kind. Reports as `run` does.
    """
    from contextlib import nullcontext

    from qb_pipeline.connections import tokens
    from qb_pipeline.connections.locks import ConnectionLocks
    from qb_pipeline.connections.oauth_flow import IntuitOAuth

    ConnectionLocks.hold = lambda self, org_slug: nullcontext()  # the lock, disabled
    send = IntuitOAuth.refresh
    store_pair = tokens._store_refreshed
    store_refusal = tokens._mark_reauthorization_required

    def refresh_together(self, *args, **kwargs):
        barrier.wait(BARRIER_TIMEOUT)
        return send(self, *args, **kwargs)

    def in_order(store, goes_first: bool):
        def ordered(*args, **kwargs):
            if goes_first:
                try:
                    return store(*args, **kwargs)
                finally:
                    stored.set()
            if not stored.wait(BARRIER_TIMEOUT):
                raise TimeoutError("the store that goes first never happened")
            return store(*args, **kwargs)

        return ordered

    IntuitOAuth.refresh = refresh_together
    tokens._store_refreshed = in_order(store_pair, first_stored == "winner")
    tokens._mark_reauthorization_required = in_order(store_refusal, first_stored == "refusal")
    outcome: dict = {"used": 0, "retried_after_401": 0, "forced": 0, "error": None}
    try:
        service = IntegrationService(load_settings(env))
        service.access_token(org, min_valid=timedelta(hours=2))
        outcome["forced"] += 1
    except Exception as error:
        outcome["error"] = f"{type(error).__name__}: {error}"
    results.put(outcome)
