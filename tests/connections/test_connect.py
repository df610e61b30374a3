"""Connecting, re-authorizing and disconnecting an organization's QuickBooks company."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from qb_pipeline.connections import (
    ConnectCancelled,
    ConnectionRefused,
    IntegrationService,
    NotConnected,
    PermissionDenied,
    StateMismatch,
)
from tests.connections.conftest import (
    ADMIN,
    EDITOR,
    REDIRECT_URI,
    VIEWER,
    add_team,
    authorize,
    companies,
    complete,
    connect_company,
    execute,
    issued_tokens,
    rows,
)


def connection_rows(home) -> list[dict]:
    return rows(home, "SELECT * FROM quickbooks_connections")


def state_rows(home) -> list[dict]:
    return rows(home, "SELECT * FROM oauth_states")


def actions(service: IntegrationService) -> list[tuple[str, str]]:
    return [(e.action, e.outcome) for e in reversed(service.audit_log("acme"))]


def token_status(emulator_url: str, value: str) -> str:
    return next(t["status"] for t in issued_tokens(emulator_url) if t["value"] == value)


def test_the_authorize_url_asks_for_the_accounting_scope_only_with_a_fresh_state(service, home):
    first = urlsplit(service.begin_connect("acme", ADMIN, REDIRECT_URI))
    second = urlsplit(service.begin_connect("acme", ADMIN, REDIRECT_URI))

    query = parse_qs(first.query)
    assert first.path == "/connect/oauth2"
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["qbp-demo-client"]
    assert query["redirect_uri"] == [REDIRECT_URI]
    state = query["state"][0]
    assert len(state) >= 40
    assert state != parse_qs(second.query)["state"][0]
    # Only a hash of the state is stored.
    stored = [row["state_hash"] for row in state_rows(home)]
    assert len(stored) == 2
    assert state not in stored


def test_an_admin_connects_and_sees_the_company_and_its_details(emulator, service):
    first_company = companies(emulator.url)[0]
    before = datetime.now(UTC).replace(microsecond=0)

    status = connect_company(service)

    assert status.status == "connected"
    assert status.realm_id == first_company["realmId"]
    assert status.company_name == first_company["name"]
    assert status.connected_by == ADMIN
    assert status.connected_at >= before
    assert status.status_reason is None
    # Expiries come from the token response: 1 hour, ~101 days rolling, 5 years hard.
    assert status.access_expires_at - before == pytest.approx(
        timedelta(hours=1), abs=timedelta(seconds=5)
    )
    assert status.refresh_expires_at - before == pytest.approx(
        timedelta(seconds=8726400), abs=timedelta(seconds=5)
    )
    assert (status.refresh_hard_expires_at - before).days in range(1824, 1827)
    assert service.status("acme") == status
    assert actions(service)[-2:] == [("connect started", "ok"), ("connected", "ok")]


@pytest.mark.parametrize("who", [VIEWER, EDITOR, "stranger@example.com"])
def test_only_admins_may_start_a_connect_and_a_refusal_writes_nothing(service, home, who):
    with pytest.raises(PermissionDenied) as raised:
        service.begin_connect("acme", who, REDIRECT_URI)

    assert f"{who} may not connect QuickBooks for acme: that needs the admin role" in str(
        raised.value
    )
    assert state_rows(home) == []
    assert connection_rows(home) == []
    refusal = service.audit_log()[0]
    assert (refusal.action, refusal.outcome, refusal.actor) == ("forbidden", "forbidden", who)
    if who == "stranger@example.com":
        # Not a member: audited without an organization (they have none), not in acme's log.
        assert refusal.org_slug is None
        assert refusal.detail["organization"] == "acme"
        assert actions(service)[-1] != ("forbidden", "forbidden")
    else:
        assert refusal.org_slug == "acme"
        assert actions(service)[-1] == ("forbidden", "forbidden")


@pytest.mark.parametrize("who", [VIEWER, EDITOR])
def test_only_admins_may_disconnect_and_a_refusal_changes_nothing(service, home, who):
    connect_company(service)
    before = connection_rows(home)

    with pytest.raises(PermissionDenied, match="may not disconnect QuickBooks for acme"):
        service.disconnect("acme", who)

    assert connection_rows(home) == before
    assert service.status("acme").status == "connected"


def test_a_replayed_callback_is_refused_and_changes_nothing(service, home):
    callback = authorize(service)
    complete(service, callback)
    before = connection_rows(home)

    with pytest.raises(StateMismatch, match="used already; nothing was stored"):
        complete(service, callback)

    assert connection_rows(home) == before
    assert actions(service)[-1] == ("connect refused", "refused")


def test_an_unknown_state_is_refused_and_nothing_is_stored(service, home):
    callback = authorize(service)
    callback.state = "forged-" + callback.state

    with pytest.raises(StateMismatch, match="does not match any connect in progress"):
        complete(service, callback)

    assert connection_rows(home) == []


def test_a_state_older_than_ten_minutes_is_refused(service, home):
    callback = authorize(service)
    eleven_minutes_ago = (datetime.now(UTC) - timedelta(minutes=11)).isoformat(timespec="seconds")
    execute(home, "UPDATE oauth_states SET created_at = ?", (eleven_minutes_ago,))

    with pytest.raises(StateMismatch, match="expired"):
        complete(service, callback)

    assert connection_rows(home) == []


def test_a_callback_to_another_address_is_refused(service, home):
    callback = authorize(service)

    with pytest.raises(StateMismatch, match="different address"):
        service.complete_connect(
            callback.state, callback.code, callback.realm_id, None, "http://127.0.0.1:1/callback"
        )

    assert connection_rows(home) == []


def test_cancelling_at_quickbooks_says_so_and_stores_nothing(service, home):
    callback = authorize(service, cancel=True)
    assert callback.error == "access_denied"

    with pytest.raises(ConnectCancelled, match="You cancelled connecting QuickBooks for acme"):
        complete(service, callback)

    assert connection_rows(home) == []
    assert actions(service)[-1] == ("connect cancelled", "refused")


def test_an_admin_demoted_during_the_sign_in_cannot_complete_it(service, home):
    callback = authorize(service)
    service.add_user(ADMIN, "acme", "viewer")

    with pytest.raises(PermissionDenied, match=r"admin@example\.com is a viewer"):
        complete(service, callback)

    assert connection_rows(home) == []


def test_another_company_while_one_is_connected_is_refused_naming_the_connected_one(
    emulator, service, home
):
    first, second = companies(emulator.url)[:2]
    connect_company(service, realm_id=first["realmId"])
    before = connection_rows(home)
    tokens_before = {t["value"] for t in issued_tokens(emulator.url)}

    with pytest.raises(ConnectionRefused) as raised:
        connect_company(service, realm_id=second["realmId"])

    assert str(raised.value) == (
        f"acme is connected to {first['name']}; disconnect it first to connect {second['name']}"
    )
    assert connection_rows(home) == before
    # The tokens QuickBooks issued for the refused company were revoked at once.
    new = [t for t in issued_tokens(emulator.url) if t["value"] not in tokens_before]
    assert new
    assert all(t["status"] == "revoked" for t in new)
    assert all(t["realm_id"] == second["realmId"] for t in new)
    assert ("connect refused", "refused") in actions(service)


def test_reauthorizing_the_same_company_renews_the_tokens(emulator, service, home):
    first = connect_company(service)
    [old] = connection_rows(home)

    again = connect_company(service, realm_id=first.realm_id)

    [new] = connection_rows(home)
    assert again.status == "connected"
    assert again.connected_at == first.connected_at
    assert new["access_token_encrypted"] != old["access_token_encrypted"]
    assert new["refresh_token_encrypted"] != old["refresh_token_encrypted"]
    assert actions(service)[-1] == ("reauthorized", "ok")
    assert service.access_token("acme").realm_id == first.realm_id


def test_disconnect_revokes_at_intuit_erases_tokens_and_records_who_and_when(
    emulator, service, home
):
    connect_company(service)
    token = service.access_token("acme").value

    status = service.disconnect("acme", ADMIN)

    assert status.status == "disconnected"
    assert status.disconnected_by == ADMIN
    assert status.disconnected_at is not None
    assert status.status_reason is None
    assert status.company_name  # which company it was stays visible
    [row] = connection_rows(home)
    assert row["access_token_encrypted"] is None
    assert row["refresh_token_encrypted"] is None
    assert token_status(emulator.url, token) == "revoked"
    assert actions(service)[-1] == ("disconnected", "ok")
    with pytest.raises(NotConnected, match="acme is not connected to QuickBooks"):
        service.access_token("acme")
    with pytest.raises(NotConnected, match="nothing to disconnect"):
        service.disconnect("acme", ADMIN)


def test_after_a_disconnect_another_company_can_be_connected_and_data_stays_apart(
    emulator, service
):
    first, second = companies(emulator.url)[:2]
    connect_company(service, realm_id=first["realmId"])
    service.record_datasets("acme", first["realmId"], {"Account": 42})
    service.disconnect("acme", ADMIN)

    status = connect_company(service, realm_id=second["realmId"])

    assert (status.status, status.company_name) == ("connected", second["name"])
    assert status.disconnected_at is None
    assert status.datasets_available == []  # the first company's data is not shown as its
    service.record_datasets("acme", second["realmId"], {"Customer": 7})
    assert [d.name for d in service.status("acme").datasets_available] == ["Customer"]


def test_disconnect_still_erases_locally_when_intuit_cannot_be_reached(
    make_emulator, make_settings, home
):
    running = make_emulator(limits_enabled=False)
    service = IntegrationService(make_settings(running.url))
    add_team(service)
    connect_company(service)
    running.stop()

    status = service.disconnect("acme", ADMIN)

    assert status.status == "disconnected"
    assert "QuickBooks did not confirm revoking the tokens" in status.status_reason
    [row] = connection_rows(home)
    assert row["refresh_token_encrypted"] is None
    assert actions(service)[-2:] == [("revoke failed", "failed"), ("disconnected", "ok")]


def test_status_of_an_organization_that_never_connected(service):
    status = service.status("acme")

    assert status.status == "not_connected"
    assert status.to_dict()["company_name"] is None
    assert status.to_dict()["settings"]["frequency"] == "nightly"
    with pytest.raises(NotConnected, match="acme is not connected to QuickBooks"):
        service.access_token("acme")


def test_status_shows_the_last_sync_of_the_connected_company(service):
    status = connect_company(service)
    started = datetime(2026, 11, 15, 2, 0, tzinfo=UTC)
    service.record_sync("acme", "999", started, started, "failed", "another company")
    service.record_sync(
        "acme",
        status.realm_id,
        started,
        started + timedelta(minutes=3),
        "succeeded",
        rows={"Account": 40},
        requests=12,
    )

    last = service.status("acme").last_sync

    assert (last.status, last.rows, last.requests) == ("succeeded", {"Account": 40}, 12)
    assert (
        service.status("acme").to_dict()["last_sync"]["finished_at"] == "2026-11-15T02:03:00+00:00"
    )
