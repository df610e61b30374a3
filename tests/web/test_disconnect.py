"""Disconnecting: a confirmation step, admins only, tokens revoked, then free to connect again."""

from __future__ import annotations

import httpx

from tests.web.conftest import ORG, connect, csrf_of, text_of

ADMIN = "admin@acme.test"
DISCONNECT = f"/orgs/{ORG}/integrations/quickbooks/disconnect"


def test_disconnect_asks_for_confirmation_then_shows_not_connected(connectable_web):
    web = connectable_web
    company = web.companies()[0]
    client = web.signed_in(ADMIN)
    connect(client, company["realmId"])

    confirm = client.get(DISCONNECT)
    assert confirm.status_code == 200
    text = text_of(confirm.text)
    assert f"Disconnect {company['name']}?" in text
    assert "Data already imported is kept." in text
    assert web.service.status(ORG).status == "connected"  # the GET changed nothing

    done = client.post(DISCONNECT, data={"csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    text = text_of(page.text)
    assert f"Disconnected from {company['name']}." in text
    assert "○ Not connected" in text
    assert "was disconnected on" in text
    assert f"by {ADMIN}" in text
    assert ">Connect QuickBooks</button>" in page.text
    status = web.service.status(ORG)
    assert status.status == "disconnected"
    assert status.disconnected_by == ADMIN
    # Intuit was told: no token the emulator issued is still usable.
    issued = httpx.get(f"{web.emulator.url}/_emulator/tokens").json()
    assert issued
    assert [t["kind"] for t in issued if t["status"] == "active"] == []


def test_another_company_can_be_connected_after_a_disconnect(connectable_web):
    web = connectable_web
    first, second = web.companies()[0], web.companies()[1]
    client = web.signed_in(ADMIN)
    connect(client, first["realmId"])
    confirm = client.get(DISCONNECT)
    client.post(DISCONNECT, data={"csrf_token": csrf_of(confirm.text)})
    page = connect(client, second["realmId"])
    assert f"Connected to {second['name']}." in text_of(page.text)
    assert web.service.status(ORG).realm_id == second["realmId"]


def test_viewer_and_editor_can_neither_open_the_confirmation_nor_disconnect(connectable_web):
    web = connectable_web
    connect(web.signed_in(ADMIN))
    for email in ["viewer@acme.test", "editor@acme.test"]:
        role = email.split("@")[0]
        client = web.signed_in(email)
        confirm = client.get(DISCONNECT)
        assert confirm.status_code == 403
        assert f"Only admins can disconnect QuickBooks. Your role in '{ORG}': {role}." in text_of(
            confirm.text
        )
        page = client.get(f"/orgs/{ORG}/integrations")
        forged = client.post(DISCONNECT, data={"csrf_token": csrf_of(page.text)})
        assert forged.status_code == 403
        assert "Not allowed" in text_of(forged.text)
    assert web.service.status(ORG).status == "connected"


def test_disconnect_without_the_csrf_token_keeps_the_connection(connectable_web):
    web = connectable_web
    client = web.signed_in(ADMIN)
    connect(client)
    response = client.post(DISCONNECT, data={"csrf_token": "not-the-token"})
    assert response.status_code == 403
    assert web.service.status(ORG).status == "connected"


def test_confirmation_page_when_nothing_is_connected_says_so(connectable_web):
    web = connectable_web
    client = web.signed_in(ADMIN)
    response = client.get(DISCONNECT)
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "QuickBooks is not connected, so there is nothing to disconnect." in text_of(page.text)
