"""Connecting QuickBooks through the web app and the emulator's Intuit pages, over HTTP."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx

from qb_pipeline.connections.errors import ReauthorizationRequired
from tests.web.conftest import (
    ORG,
    authorize_at_intuit,
    connect,
    csrf_of,
    start_connect,
    text_of,
)

ADMIN = "admin@acme.test"
INVALID = "This connection attempt is not valid (expired or already used)"


def test_connect_redirects_to_intuit_with_accounting_scope_and_a_fresh_state(connectable_web):
    web = connectable_web
    client = web.signed_in(ADMIN)
    first = start_connect(client)
    second = start_connect(client)
    assert first.status_code == 303
    url = urlsplit(first.headers["location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == web.settings.endpoints.authorize_url
    query = parse_qs(url.query)
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [web.settings.client_id]
    assert query["redirect_uri"] == [web.settings.redirect_uri]
    other_state = parse_qs(urlsplit(second.headers["location"]).query)["state"]
    assert query["state"] != other_state
    assert len(query["state"][0]) >= 20


def test_admin_connects_and_sees_the_company_details(connectable_web):
    web = connectable_web
    company = web.companies()[1]
    page = connect(web.signed_in(ADMIN), company["realmId"])
    assert page.status_code == 200
    text = text_of(page.text)
    assert f"Success: Connected to {company['name']}." in text
    assert "✓ Connected" in text
    assert f"Company {company['name']} (company ID {company['realmId']})" in text
    assert "Connected since" in text
    assert f"Connected by {ADMIN}" in text
    assert "Last sync Never" in text
    assert "Sync status No sync yet" in text
    assert "No data imported yet." in text
    assert "Refresh token expires (rolling)" in text
    assert "Refresh token hard expiry" in text
    assert f'href="/orgs/{ORG}/integrations/quickbooks/disconnect">Disconnect</a>' in page.text
    status = web.service.status(ORG)
    assert status.status == "connected"
    assert status.realm_id == company["realmId"]


def test_connected_page_shows_last_sync_and_datasets_once_imported(connectable_web):
    web = connectable_web
    client = web.signed_in("viewer@acme.test")
    connect(web.signed_in(ADMIN))
    status = web.service.status(ORG)
    finished = datetime(2026, 11, 15, 3, 4, tzinfo=UTC)
    web.service.record_sync(
        ORG,
        status.realm_id,
        finished - timedelta(minutes=2),
        finished,
        "succeeded",
        rows={"Account": 42, "Customer": 7},
    )
    # The names the sync records (its raw tables), shown in a user's words.
    web.service.record_datasets(ORG, status.realm_id, {"account": 42, "customer": 7})
    page = client.get(f"/orgs/{ORG}/integrations")
    text = text_of(page.text)
    assert "Last sync 15 Nov 2026, 03:04 UTC" in text
    assert "Sync status Succeeded" in text
    assert "Chart of accounts 42" in text
    assert "Customers 7" in text
    assert "No data imported yet" not in text
    # A viewer sees the details but no way to disconnect.
    assert "/quickbooks/disconnect" not in page.text
    assert "Only admins can disconnect or reconnect QuickBooks. Your role: viewer." in text


def test_cancelling_at_intuit_says_you_cancelled_and_stores_nothing(connectable_web):
    web = connectable_web
    client = web.signed_in(ADMIN)
    started = start_connect(client)
    callback = authorize_at_intuit(started.headers["location"], action="cancel")
    assert "error=access_denied" in callback
    back = client.get(callback)
    assert back.status_code == 303
    page = client.get(back.headers["location"])
    assert "You cancelled the connection to QuickBooks." in text_of(page.text)
    assert "Not connected" in text_of(page.text)
    assert web.service.status(ORG).status == "not_connected"


def test_callback_with_a_wrong_state_is_refused_and_stores_nothing(connectable_web):
    web = connectable_web
    client = web.signed_in(ADMIN)
    started = start_connect(client)
    callback = authorize_at_intuit(started.headers["location"])
    state = parse_qs(urlsplit(callback).query)["state"][0]
    tampered = callback.replace(f"state={state}", "state=forged-state-value")
    response = client.get(tampered)
    assert response.status_code == 400
    assert INVALID in text_of(response.text)
    assert web.service.status(ORG).status == "not_connected"


def test_callback_without_a_started_attempt_is_refused(connectable_web):
    web = connectable_web
    response = web.signed_in(ADMIN).get(
        "/integrations/quickbooks/callback",
        params={"code": "some-code", "state": "some-state", "realmId": "123"},
    )
    assert response.status_code == 400
    assert INVALID in text_of(response.text)
    assert web.service.status(ORG).status == "not_connected"


def test_replayed_callback_is_refused(connectable_web):
    web = connectable_web
    client = web.signed_in(ADMIN)
    started = start_connect(client)
    callback = authorize_at_intuit(started.headers["location"])
    assert client.get(callback).status_code == 303
    connected_at = web.service.status(ORG).connected_at
    again = client.get(callback)
    assert again.status_code == 400
    assert INVALID in text_of(again.text)
    assert web.service.status(ORG).connected_at == connected_at


def test_replay_with_an_old_session_cookie_is_refused_by_the_service(connectable_web):
    # The session cookie is self-contained, so a saved copy still holds the state; the
    # service must refuse the used state on its own.
    web = connectable_web
    client = web.signed_in(ADMIN)
    started = start_connect(client)
    saved_cookie = client.cookies["qbp_session"]
    callback = authorize_at_intuit(started.headers["location"])
    assert client.get(callback).status_code == 303
    status_after = web.service.status(ORG)
    replay = httpx.Client(base_url=web.url)
    web.clients.append(replay)
    replay.cookies.set("qbp_session", saved_cookie)
    response = replay.get(callback)
    assert response.status_code == 400
    assert INVALID in text_of(response.text)
    assert web.service.status(ORG) == status_after


def test_connecting_another_company_is_refused_naming_the_connected_one(connectable_web):
    web = connectable_web
    first, second = web.companies()[0], web.companies()[1]
    client = web.signed_in(ADMIN)
    connect(client, first["realmId"])
    page = connect(client, second["realmId"])
    text = text_of(page.text)
    assert "Error:" in text
    assert first["name"] in text.split("Error:")[1]
    assert "disconnect it first" in text.lower()
    status = web.service.status(ORG)
    assert status.realm_id == first["realmId"]
    assert status.company_name == first["name"]


def test_authorizing_the_same_company_again_renews_the_connection(connectable_web):
    web = connectable_web
    company = web.companies()[0]
    client = web.signed_in(ADMIN)
    connect(client, company["realmId"])
    page = connect(client, company["realmId"])
    assert f"Connected to {company['name']}." in text_of(page.text)
    assert web.service.status(ORG).status == "connected"


def test_viewer_and_editor_cannot_start_a_connection(connectable_web):
    web = connectable_web
    for email in ["viewer@acme.test", "editor@acme.test"]:
        client = web.signed_in(email)
        page = client.get(f"/orgs/{ORG}/integrations")
        response = client.post(
            f"/orgs/{ORG}/integrations/quickbooks/connect",
            data={"csrf_token": csrf_of(page.text)},
        )
        assert response.status_code == 403
        text = text_of(response.text)
        assert "Not allowed" in text
        assert email.split("@")[0] in text  # the page names the role that was refused
        assert "location" not in response.headers
    assert web.service.status(ORG).status == "not_connected"
    refusals = [e for e in web.service.audit_log(ORG) if e.outcome != "ok"]
    assert {e.actor for e in refusals} >= {"viewer@acme.test", "editor@acme.test"}


def test_connect_without_the_csrf_token_is_refused(connectable_web):
    web = connectable_web
    client = web.signed_in(ADMIN)
    response = client.post(f"/orgs/{ORG}/integrations/quickbooks/connect", data={})
    assert response.status_code == 403
    assert "location" not in response.headers
    assert web.service.status(ORG).status == "not_connected"


def test_reauthorization_required_shows_the_reason_and_a_reconnect_button(connectable_web):
    web = connectable_web
    admin = web.signed_in(ADMIN)
    connect(admin)
    realm_id = web.service.status(ORG).realm_id
    httpx.post(
        f"{web.emulator.url}/_emulator/oauth/revoke-refresh-tokens", json={"realmId": realm_id}
    )
    # Asking for more than an access token's hour forces a refresh, which Intuit refuses.
    with contextlib.suppress(ReauthorizationRequired):
        web.service.access_token(ORG, min_valid=timedelta(hours=2))
    assert web.service.status(ORG).status == "reauthorization_required"

    page = admin.get(f"/orgs/{ORG}/integrations")
    text = text_of(page.text)
    assert "! Reauthorization required" in text
    assert "QuickBooks needs to be reconnected." in text
    assert ">Reconnect QuickBooks</button>" in page.text
    viewer_text = text_of(web.signed_in("viewer@acme.test").get(f"/orgs/{ORG}/integrations").text)
    assert "QuickBooks needs to be reconnected." in viewer_text
    assert "Only admins can disconnect or reconnect QuickBooks. Your role: viewer." in viewer_text

    page = connect(admin, realm_id)
    assert "✓ Connected" in text_of(page.text)
    assert web.service.status(ORG).status == "connected"
