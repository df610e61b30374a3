"""The /_emulator/ control API over real HTTP: every route, and every error a caller can cause."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import httpx
import pytest

from qb_pipeline.sandbox.oauth.backend import DEMO_CLIENT_ID
from qb_pipeline.sandbox.server.runner import RunningEmulator
from tests.conftest import TEST_TODAY


def control(running: RunningEmulator) -> httpx.Client:
    return httpx.Client(base_url=f"{running.url}/_emulator")


def first_realm(running: RunningEmulator) -> str:
    return running.state.backend.list_companies()[0].realm_id


def data_client(running: RunningEmulator, realm: str, client_id: str = DEMO_CLIENT_ID):
    token = httpx.post(
        f"{running.url}/_emulator/tokens", json={"client_id": client_id, "realmId": realm}
    ).json()["access_token"]
    return httpx.Client(
        base_url=f"{running.url}/v3/company/{realm}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


@pytest.fixture
def private(make_emulator):
    running = make_emulator(limits_enabled=False)
    with control(running) as ctl:
        yield running, ctl, first_realm(running)


@pytest.fixture(scope="module")
def shared(emulator):
    """The shared emulator, for requests that are refused and so change nothing."""
    with control(emulator) as ctl:
        yield emulator, ctl, first_realm(emulator)


def assert_error(response: httpx.Response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"].startswith(f"{field}:"), body["error"]


# --- companies -----------------------------------------------------------------------------
def test_companies_are_listed_demo_company_first(emulator):
    with control(emulator) as ctl:
        companies = ctl.get("/companies").json()
    backend = emulator.state.backend.list_companies()
    assert [c["realmId"] for c in companies] == [c.realm_id for c in backend]
    assert len(companies) >= 2
    for row, company in zip(companies, backend, strict=True):
        assert set(row) == {
            "realmId", "name", "fiscalYearStartMonth", "homeCurrency", "multiCurrency", "today",
        }  # fmt: skip
        assert row["name"] == company.name
        assert row["homeCurrency"] == company.home_currency
        assert row["today"] == TEST_TODAY.isoformat()
    assert {c["fiscalYearStartMonth"] for c in companies} - {"January"}
    assert any(c["multiCurrency"] for c in companies)


# --- apps and tokens -----------------------------------------------------------------------
def test_registered_app_gets_tokens_that_read_data(private):
    running, ctl, realm = private
    app = {"client_id": "bi-app", "client_secret": "s3cret", "redirect_uris": ["https://x.test/cb"]}
    response = ctl.post("/apps", json=app)
    assert response.status_code == 201
    assert response.json() == {"client_id": "bi-app", "redirect_uris": ["https://x.test/cb"]}
    tokens = ctl.post("/tokens", json={"client_id": "bi-app", "realmId": realm})
    assert tokens.status_code == 200
    body = tokens.json()
    assert set(body) == {
        "token_type", "access_token", "expires_in", "refresh_token", "x_refresh_token_expires_in",
    }  # fmt: skip
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    with data_client(running, realm, "bi-app") as client:
        assert client.get("preferences").status_code == 200
    issued = ctl.get("/tokens").json()
    assert len(issued) >= 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"client_secret": "s", "redirect_uris": ["https://x.test/cb"]}, "client_id"),
        ({"client_id": "a", "redirect_uris": ["https://x.test/cb"]}, "client_secret"),
        ({"client_id": "a", "client_secret": "s"}, "redirect_uris"),
        ({"client_id": "a", "client_secret": "s", "redirect_uris": []}, "redirect_uris"),
        ({"client_id": "a", "client_secret": "s", "redirect_uris": ["not a url"]}, "redirect_uris"),
    ],
)
def test_app_registration_errors_name_the_field(shared, body, field):
    _, ctl, _ = shared
    assert_error(ctl.post("/apps", json=body), 400, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"realmId": "x"}, "client_id"),
        ({"client_id": DEMO_CLIENT_ID}, "realmId"),
        ({"client_id": DEMO_CLIENT_ID, "realmId": "404"}, "realmId"),
        ({"client_id": "nobody", "realmId": None}, "realmId"),
    ],
)
def test_token_request_errors_name_the_field(shared, body, field):
    _, ctl, _ = shared
    assert_error(ctl.post("/tokens", json=body), 400, field)


def test_tokens_for_an_unknown_app_are_refused(shared):
    _, ctl, realm = shared
    assert_error(
        ctl.post("/tokens", json={"client_id": "nobody", "realmId": realm}), 400, "client_id"
    )


@pytest.mark.parametrize("content", [b"", b"not json", b"[1, 2]"])
def test_bodies_that_are_not_json_objects_are_refused(shared, content):
    _, ctl, _ = shared
    response = ctl.post("/tokens", content=content, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "body")


# --- OAuth switches ------------------------------------------------------------------------
def test_expiring_access_tokens_makes_the_api_answer_401(private):
    running, ctl, realm = private
    with data_client(running, realm) as client:
        response = ctl.post("/oauth/expire-access-tokens", json={"realmId": realm})
        assert response.json() == {"realmId": realm, "done": 1}
        answer = client.get("preferences")
        assert answer.status_code == 401
        assert answer.json()["fault"]["error"][0]["detail"].startswith("Token expired")


def test_expiring_tokens_of_one_realm_leaves_the_others(private):
    running, ctl, realm = private
    other = running.state.backend.list_companies()[1].realm_id
    with data_client(running, other) as client:
        ctl.post("/oauth/expire-access-tokens", json={"realmId": realm})
        assert client.get("preferences").status_code == 200
        assert ctl.post("/oauth/expire-access-tokens").json() == {"realmId": None, "done": 1}
        assert client.get("preferences").status_code == 401


def test_revoking_refresh_tokens_ends_the_grant(private):
    running, ctl, realm = private
    with data_client(running, realm) as client:
        assert ctl.post("/oauth/revoke-refresh-tokens", json={"realmId": realm}).json() == {
            "realmId": realm,
            "done": 1,
        }
        answer = client.get("preferences")
    assert answer.status_code == 401
    assert answer.json()["fault"]["error"][0]["detail"] == "Token revoked"
    assert {row["status"] for row in ctl.get("/tokens").json()} == {"revoked"}


def test_oauth_switch_errors_name_the_field(shared):
    _, ctl, _ = shared
    assert_error(ctl.post("/oauth/expire-access-tokens", json={"realmId": "nope"}), 400, "realmId")
    assert_error(ctl.post("/oauth/revoke-refresh-tokens", json={"realmId": 5}), 400, "realmId")
    assert_error(ctl.put("/oauth/rotation", json={"strict": "yes"}), 400, "strict")


def test_rotation_can_be_made_strict_and_relaxed(private):
    running, ctl, _ = private
    assert ctl.put("/oauth/rotation", json={"strict": True}).json() == {"strict": True}
    assert running.state.oauth.strict_rotation is True
    assert ctl.put("/oauth/rotation", json={"strict": False}).json() == {"strict": False}
    assert running.state.oauth.strict_rotation is False


# --- request log ---------------------------------------------------------------------------
def test_request_log_records_every_v3_request(private):
    running, ctl, realm = private
    other = running.state.backend.list_companies()[1].realm_id
    with data_client(running, realm) as client:
        client.get("preferences")
        client.get("customer/999999")
        client.post("query", content=b"select * from Term", headers={"Content-Type": "text/plain"})
        httpx.get(f"{running.url}/v3/company/{other}/preferences")  # no token
    ctl.get("/companies")  # the control API itself is not logged
    rows = ctl.get("/requests").json()
    assert rows == [
        {"index": 0, "method": "GET", "path": f"/v3/company/{realm}/preferences",
         "realmId": realm, "status": 200},
        {"index": 1, "method": "GET", "path": f"/v3/company/{realm}/customer/999999",
         "realmId": realm, "status": 400},
        {"index": 2, "method": "POST", "path": f"/v3/company/{realm}/query",
         "realmId": realm, "status": 200},
        {"index": 3, "method": "GET", "path": f"/v3/company/{other}/preferences",
         "realmId": other, "status": 401},
    ]  # fmt: skip
    assert [r["index"] for r in ctl.get("/requests", params={"realmId": other}).json()] == [3]
    assert [r["index"] for r in ctl.get("/requests", params={"since": 2}).json()] == [2, 3]
    assert ctl.delete("/requests").json() == {"cleared": 4}
    assert ctl.get("/requests").json() == []


@pytest.mark.parametrize("since", ["-1", "two"])
def test_request_log_since_must_be_an_index(shared, since):
    _, ctl, _ = shared
    assert_error(ctl.get("/requests", params={"since": since}), 400, "since")


# --- faults and limits -----------------------------------------------------------------------
def test_faults_can_be_queued_listed_and_cleared(private):
    _, ctl, realm = private
    created = ctl.post(
        "/faults",
        json={"status": 429, "count": 3, "realmId": realm, "format": "xml", "retry_after": 30},
    )
    assert created.status_code == 201
    assert created.json() == {
        "id": 1,
        "status": 429,
        "count": 3,
        "realmId": realm,
        "format": "xml",
        "path_prefix": None,
        "delay_ms": 0,
        "retry_after": 30,
    }
    ctl.post("/faults", json={"status": "slow", "delay_ms": 50, "path_prefix": "query"})
    assert [f["status"] for f in ctl.get("/faults").json()] == [429, "slow"]
    assert ctl.delete("/faults").json() == {"cleared": 2}
    assert ctl.get("/faults").json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": 418}, "status"),
        ({}, "status"),
        ({"status": 500, "count": 0}, "count"),
        ({"status": 500, "count": "2"}, "count"),
        ({"status": 500, "format": "yaml"}, "format"),
        ({"status": "slow"}, "delay_ms"),
        ({"status": 500, "delay_ms": -5}, "delay_ms"),
        ({"status": 500, "realmId": "404"}, "realmId"),
        ({"status": 500, "path_prefix": 7}, "path_prefix"),
        ({"status": 429, "retry_after": -1}, "retry_after"),
        ({"status": 500, "colour": "red"}, "colour"),
    ],
)
def test_fault_errors_name_the_field(shared, body, field):
    _, ctl, _ = shared
    assert_error(ctl.post("/faults", json=body), 400, field)


def test_limits_can_be_read_and_switched(private):
    running, ctl, _ = private
    limits = ctl.get("/limits").json()
    assert limits["enabled"] is False
    assert (limits["per_minute"], limits["per_second"]) == (500, 10)
    assert (limits["concurrent"], limits["batch_per_minute"]) == (10, 40)
    assert ctl.put("/limits", json={"enabled": True}).json()["enabled"] is True
    assert running.state.settings.limits_enabled is True
    with data_client(running, first_realm(running)) as client:
        client.get("preferences")
    (usage,) = ctl.get("/limits").json()["usage"]
    assert usage["client_id"] == DEMO_CLIENT_ID
    assert usage["last_minute"] == 1
    assert_error(ctl.put("/limits", json={"enabled": 1}), 400, "enabled")


# --- company clock and activity ----------------------------------------------------------------
def test_clock_advance_moves_the_company_day(private):
    running, ctl, realm = private
    answer = ctl.post(f"/companies/{realm}/clock", json={"advance_days": 3})
    assert answer.status_code == 200
    assert answer.json()["today"] == (TEST_TODAY + timedelta(days=3)).isoformat()
    with data_client(running, realm) as client:
        moment = datetime.fromisoformat(client.get("preferences").json()["time"])
    assert moment.date() in {TEST_TODAY + timedelta(days=d) for d in (3, 4)}
    others = [c for c in ctl.get("/companies").json() if c["realmId"] != realm]
    assert {c["today"] for c in others} == {TEST_TODAY.isoformat()}


@pytest.mark.parametrize("body", [{"advance_days": -1}, {"advance_days": "1"}, {}])
def test_clock_errors_name_the_field(shared, body):
    _, ctl, realm = shared
    assert_error(ctl.post(f"/companies/{realm}/clock", json=body), 400, "advance_days")


def test_activity_simulates_business_that_cdc_then_reports(private):
    running, ctl, realm = private
    company = running.state.backend.company(realm)
    before = company.now()
    answer = ctl.post(f"/companies/{realm}/activity", json={"days": 5, "seed": 3})
    assert answer.status_code == 200
    summary = answer.json()
    assert summary["created"]
    assert date.fromisoformat(summary["today"]) == TEST_TODAY + timedelta(days=5)
    with data_client(running, realm) as client:
        changes = client.get(
            "cdc",
            params={"entities": ",".join(summary["created"]), "changedSince": before.isoformat()},
        ).json()
    assert changes["CDCResponse"][0]["QueryResponse"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"days": 0}, "days"),
        ({"days": 2, "change_ratio": 2}, "change_ratio"),
        ({"days": 2, "seed": "x"}, "seed"),
    ],
)
def test_activity_errors_name_the_field(shared, body, field):
    _, ctl, realm = shared
    assert_error(ctl.post(f"/companies/{realm}/activity", json=body), 400, field)


def test_unknown_company_is_404(shared):
    _, ctl, _ = shared
    assert_error(ctl.post("/companies/404/clock", json={"advance_days": 1}), 404, "realmId")
    assert_error(ctl.post("/companies/404/entities/Customer", json={}), 404, "realmId")


# --- entities --------------------------------------------------------------------------------
def test_created_entity_gets_metadata_and_is_served_by_the_api(private):
    running, ctl, realm = private
    created = ctl.post(
        f"/companies/{realm}/entities/customer",
        json={"DisplayName": "Zed's Zebras", "Active": True},
    )
    assert created.status_code == 201
    record = created.json()["Customer"]
    assert (record["SyncToken"], record["domain"], record["sparse"]) == ("0", "QBO", False)
    assert record["MetaData"]["CreateTime"] == record["MetaData"]["LastUpdatedTime"]
    with data_client(running, realm) as client:
        assert client.get(f"customer/{record['Id']}").json()["Customer"] == record
        found = client.get(
            "query", params={"query": "select * from Customer where DisplayName = 'Zed\\'s Zebras'"}
        ).json()
    assert [c["Id"] for c in found["QueryResponse"]["Customer"]] == [record["Id"]]


def test_patch_merges_and_moves_sync_token(private):
    running, ctl, realm = private
    customer = dict(running.state.backend.company(realm).records("Customer")[0])
    answer = ctl.patch(
        f"/companies/{realm}/entities/Customer/{customer['Id']}",
        json={"Notes": "Prefers email", "PrimaryPhone": None, "Id": "ignored"},
    )
    assert answer.status_code == 200
    record = answer.json()["Customer"]
    assert record["Id"] == customer["Id"]
    assert record["Notes"] == "Prefers email"
    assert "PrimaryPhone" not in record
    assert record["SyncToken"] == str(int(customer["SyncToken"]) + 1)
    assert record["MetaData"]["CreateTime"] == customer["MetaData"]["CreateTime"]
    assert record["DisplayName"] == customer["DisplayName"]


def test_deleting_a_transaction_removes_it_from_the_api(private):
    running, ctl, realm = private
    invoice_id = running.state.backend.company(realm).records("Invoice")[0]["Id"]
    answer = ctl.delete(f"/companies/{realm}/entities/Invoice/{invoice_id}")
    assert answer.json() == {"deleted": {"entity": "Invoice", "Id": invoice_id}}
    with data_client(running, realm) as client:
        assert client.get(f"invoice/{invoice_id}").json()["Fault"]["Error"][0]["code"] == "610"
    assert_error(ctl.delete(f"/companies/{realm}/entities/Invoice/{invoice_id}"), 404, "Id")


def test_deleting_an_account_makes_it_inactive_and_renamed(private):
    running, ctl, realm = private
    account = running.state.backend.company(realm).records("Account")[-1]
    answer = ctl.delete(f"/companies/{realm}/entities/Account/{account['Id']}").json()
    assert answer["deleted"] == {"entity": "Account", "Id": account["Id"]}
    assert answer["Account"]["Active"] is False
    assert answer["Account"]["Name"].endswith(" (deleted)")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "entities/Widget", {}, 400, "Entity"),
        ("POST", "entities/CompanyInfo", {}, 400, "Entity"),
        ("POST", "entities/Customer", [], 400, "body"),
        ("POST", "entities/Customer", {"Id": "1"}, 400, "Id"),
        ("POST", "entities/Customer", {"Id": 5}, 400, "Id"),
        ("PATCH", "entities/Customer/999999", {"Notes": "x"}, 404, "Id"),
        ("PATCH", "entities/Widget/1", {}, 400, "Entity"),
        ("DELETE", "entities/Customer/999999", None, 404, "Id"),
        ("DELETE", "entities/Preferences/1", None, 400, "Entity"),
    ],
)
def test_entity_errors_name_the_field(shared, method, path, body, status, field):
    _, ctl, realm = shared
    response = ctl.request(method, f"/companies/{realm}/{path}", json=body)
    assert_error(response, status, field)
