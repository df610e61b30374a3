"""The single access-token function: refresh, rotation across processes, invalid_grant."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from qb_pipeline.connections import IntegrationService, ReauthorizationRequired
from qb_pipeline.connections.crypto import TokenCipher
from tests.connections import refresh_worker
from tests.connections.conftest import (
    ADMIN,
    add_team,
    company_info,
    connect_company,
    issued_tokens,
    rows,
)

FORCE = timedelta(hours=2)  # more than an access token's life: every call refreshes


@pytest.fixture
def strict(make_emulator, make_settings):
    """A private emulator in strict rotation mode and a connected organization `acme`."""
    running = make_emulator(strict_rotation=True, limits_enabled=False)
    service = IntegrationService(make_settings(running.url))
    add_team(service)
    connect_company(service)
    return running, service


def stored(home, secret_key) -> dict:
    cipher = TokenCipher(secret_key)
    [row] = rows(home, "SELECT * FROM quickbooks_connections")
    for name in ("access_token_encrypted", "refresh_token_encrypted"):
        if row[name] is not None:
            row[name.removesuffix("_encrypted")] = cipher.decrypt(row[name])
    return row


def refresh_count(service: IntegrationService) -> int:
    return sum(1 for e in service.audit_log("acme", limit=1000) if e.action == "token refreshed")


def active_refresh_tokens(emulator_url: str) -> list[str]:
    return [
        t["value"]
        for t in issued_tokens(emulator_url)
        if t["kind"] == "refresh" and t["status"] == "active"
    ]


def test_a_valid_token_is_handed_out_without_calling_intuit(emulator, service):
    connect_company(service)
    issued = len(issued_tokens(emulator.url))

    first = service.access_token("acme")
    second = service.access_token("acme")

    assert first.value == second.value
    assert len(issued_tokens(emulator.url)) == issued
    assert company_info(emulator.url, first.realm_id, first.value).status_code == 200


def test_the_access_token_repr_hides_its_value(emulator, service):
    connect_company(service)
    token = service.access_token("acme")

    assert token.value not in repr(token)
    assert token.value not in str(token)
    assert "<hidden>" in repr(token)


def test_a_refresh_commits_the_rotated_refresh_token_before_returning(strict, home, secret_key):
    running, service = strict
    before = stored(home, secret_key)

    token = service.access_token("acme", min_valid=FORCE)

    after = stored(home, secret_key)
    assert token.value == after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    assert active_refresh_tokens(running.url) == [after["refresh_token"]]
    assert company_info(running.url, token.realm_id, token.value).status_code == 200
    [entry] = [e for e in service.audit_log("acme") if e.action == "token refreshed"]
    assert entry.detail["refresh_token_rotated"] is True


def test_refresh_token_expiries_are_stored_and_shown(strict):
    _running, service = strict
    connected = service.status("acme")

    before = datetime.now(UTC).replace(microsecond=0)  # stored with second precision
    service.access_token("acme", min_valid=FORCE)
    after = datetime.now(UTC)

    status = service.status("acme")
    now = datetime.now(UTC)
    # Strict rotation issues a new refresh token: its rolling ~101 days start again, counted
    # from the moment its answer arrived, which lies between `before` and `after`.
    rolling = timedelta(seconds=8726400)
    assert before + rolling <= status.refresh_expires_at <= after + rolling
    assert status.refresh_hard_expires_at == connected.refresh_hard_expires_at
    assert status.last_refreshed_at >= connected.last_refreshed_at
    shown = status.to_dict()
    assert shown["refresh_expires_at"] == status.refresh_expires_at.isoformat()
    assert shown["refresh_hard_expires_at"].startswith(str(now.year + 5)[:3])


def test_a_token_rejected_by_quickbooks_is_replaced_once(strict):
    running, service = strict
    old = service.access_token("acme")
    httpx.post(f"{running.url}/_emulator/oauth/expire-access-tokens").raise_for_status()
    assert company_info(running.url, old.realm_id, old.value).status_code == 401

    new = service.access_token("acme", rejected=old.value)
    again = service.access_token("acme", rejected=old.value)  # a second worker with the old one

    assert new.value != old.value
    assert again.value == new.value
    assert refresh_count(service) == 1
    assert company_info(running.url, new.realm_id, new.value).status_code == 200


def test_invalid_grant_requires_reauthorization_with_a_clear_reason(strict, home):
    running, service = strict
    httpx.post(f"{running.url}/_emulator/oauth/revoke-refresh-tokens").raise_for_status()

    with pytest.raises(ReauthorizationRequired) as raised:
        service.access_token("acme", min_valid=FORCE)

    reason = "QuickBooks refused the stored refresh token (invalid_grant); an admin must reconnect"
    assert str(raised.value) == f"acme: {reason}"
    status = service.status("acme")
    assert (status.status, status.status_reason) == ("reauthorization_required", reason)
    [tokens] = rows(
        home, "SELECT access_token_encrypted, refresh_token_encrypted FROM quickbooks_connections"
    )
    assert tokens == {"access_token_encrypted": None, "refresh_token_encrypted": None}
    entry = service.audit_log("acme")[0]
    assert (entry.action, entry.outcome, entry.detail["reason"]) == (
        "reauthorization required",
        "failed",
        reason,
    )
    # Later callers get the same answer without calling Intuit.
    with pytest.raises(ReauthorizationRequired, match="an admin must reconnect"):
        service.access_token("acme")


def test_an_admin_reconnects_after_reauthorization_was_required(strict):
    running, service = strict
    realm_id = service.status("acme").realm_id
    httpx.post(f"{running.url}/_emulator/oauth/revoke-refresh-tokens").raise_for_status()
    with pytest.raises(ReauthorizationRequired):
        service.access_token("acme", min_valid=FORCE)

    status = connect_company(service, realm_id=realm_id)

    assert (status.status, status.status_reason) == ("connected", None)
    assert service.audit_log("acme")[0].action == "reconnected"
    token = service.access_token("acme", min_valid=FORCE)
    assert company_info(running.url, realm_id, token.value).status_code == 200
    assert service.status("acme").connected_by == ADMIN


@pytest.mark.slow
def test_processes_refreshing_at_once_under_strict_rotation_keep_the_connection(
    strict, make_settings, home, secret_key, control_db_url
):
    running, service = strict
    workers, rounds, forced = 4, 5, 5
    settings_env = {
        "QBP_HOME": str(home),
        "QBP_SECRET_KEY": secret_key,
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": running.url,
        "QBP_DATABASE_URL": control_db_url or "",
    }
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers + 1)
    results = context.Queue()
    processes = [
        context.Process(
            target=refresh_worker.run,
            args=(settings_env, "acme", rounds, forced, barrier, results),
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        for _ in range(rounds):
            # Intuit ends every access token early; the stored expiry still says valid.
            httpx.post(f"{running.url}/_emulator/oauth/expire-access-tokens").raise_for_status()
            barrier.wait(refresh_worker.BARRIER_TIMEOUT)  # the round starts
            barrier.wait(refresh_worker.BARRIER_TIMEOUT)  # every worker has used a token
        outcomes = [results.get(timeout=180) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)

    assert [o["error"] for o in outcomes] == [None] * workers
    assert sum(o["used"] for o in outcomes) == workers * rounds
    assert sum(o["retried_after_401"] for o in outcomes) == workers * rounds
    assert sum(o["forced"] for o in outcomes) == workers * forced
    # One refresh per round (the others found the replacement after taking the lock), then
    # one per forced call: every rotation was committed and used in turn.
    assert refresh_count(service) == rounds + workers * forced
    status = service.status("acme")
    assert (status.status, status.status_reason) == ("connected", None)
    assert active_refresh_tokens(running.url) == [stored(home, secret_key)["refresh_token"]]
    final = service.access_token("acme", min_valid=FORCE)
    assert company_info(running.url, final.realm_id, final.value).status_code == 200
