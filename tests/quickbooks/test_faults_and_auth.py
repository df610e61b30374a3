"""A 401 gets one token refresh and one retry; every other fault is raised at once, typed,
with Intuit's code, message, detail and intuit_tid, and never a token."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from qb_pipeline.connections import NotConnected, ReauthorizationRequired
from qb_pipeline.quickbooks import (
    AuthenticationError,
    AuthorizationError,
    QuickBooksClient,
    QuickBooksError,
)
from qb_pipeline.quickbooks.faults import parse_fault, scrub_detail
from qb_pipeline.sync.client import client_for_org
from tests.quickbooks.conftest import fast_policy, inject, request_log


def statuses(url: str, realm_id: str) -> list[int]:
    return [entry["status"] for entry in request_log(url, realm_id)]


def access_tokens_issued(url: str) -> int:
    issued = httpx.get(f"{url}/_emulator/tokens").raise_for_status().json()
    return sum(1 for token in issued if token["kind"] == "access")


def expire_access_tokens(url: str, realm_id: str) -> None:
    httpx.post(
        f"{url}/_emulator/oauth/expire-access-tokens", json={"realmId": realm_id}
    ).raise_for_status()


def test_an_expired_token_is_refreshed_once_and_the_request_retried(private_emulator, connect):
    qb = connect(private_emulator)
    qb.client.company_info()
    first_token = qb.tokens.access_token
    expire_access_tokens(qb.url, qb.realm_id)

    info = qb.client.company_info()

    assert info["Id"] == "1"
    assert qb.tokens.calls == [None, first_token]  # exactly one refresh, of the rejected one
    assert qb.tokens.access_token != first_token
    assert statuses(qb.url, qb.realm_id) == [200, 401, 200]
    assert qb.sleeps.waits == []  # a refresh is not a backoff


def test_a_second_401_after_the_refresh_is_an_authentication_error(private_emulator, connect):
    qb = connect(private_emulator)
    inject(private_emulator.url, status=401, count=2)
    with pytest.raises(AuthenticationError) as caught:
        qb.client.company_info()
    error = caught.value
    assert qb.tokens.refreshes == 1
    assert statuses(qb.url, qb.realm_id) == [401, 401]
    assert (error.status, error.code, error.fault_type) == (401, "3200", "AUTHENTICATION")
    assert error.intuit_tid
    for secret in qb.tokens.secrets() + [c for c in qb.tokens.calls if c]:
        assert secret not in str(error)
        assert secret[:20] not in repr(error)
        assert secret[:20] not in (error.detail or "")


def test_each_expiry_gets_its_own_refresh(private_emulator, connect):
    qb = connect(private_emulator)
    for _ in range(3):
        expire_access_tokens(qb.url, qb.realm_id)
        qb.client.company_info()
    assert qb.tokens.refreshes == 3


def test_a_validation_fault_is_raised_at_once_with_its_details(private_emulator, connect):
    qb = connect(private_emulator)
    with pytest.raises(QuickBooksError) as caught:
        qb.client.query("SELECT * FROM Invoice WHERE")
    error = caught.value
    assert type(error) is QuickBooksError
    assert error.status == 400
    assert error.code == "4000"
    assert error.message
    assert error.detail
    assert error.intuit_tid
    assert error.intuit_tid.startswith("1-")
    assert statuses(qb.url, qb.realm_id) == [400]
    text = str(error)
    for fact in ("HTTP 400", "code 4000", error.message, error.detail, error.intuit_tid):
        assert fact in text
    assert qb.tokens.access_token not in text


def test_an_unknown_record_is_a_validation_fault_not_a_retry(private_emulator, connect):
    qb = connect(private_emulator)
    with pytest.raises(QuickBooksError) as caught:
        qb.client.read("Invoice", "999999")
    assert (caught.value.status, caught.value.code) == (400, "610")
    assert qb.client.requests_made == 1


def test_forbidden_is_an_authorization_error_at_once(private_emulator, connect):
    qb = connect(private_emulator)
    inject(private_emulator.url, status=403)
    with pytest.raises(AuthorizationError) as caught:
        qb.client.company_info()
    assert (caught.value.status, caught.value.code) == (403, "3100")
    assert qb.tokens.refreshes == 0
    assert qb.client.requests_made == 1


def test_an_unknown_resource_is_a_fault_with_its_code(private_emulator, connect):
    qb = connect(private_emulator)
    with pytest.raises(QuickBooksError) as caught:
        qb.client.report("NoSuchReport", {})
    assert (caught.value.status, caught.value.code) == (400, "500")


def test_no_token_reaches_the_logs(private_emulator, connect, caplog):
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    qb = connect(private_emulator)
    tokens_seen = [qb.tokens.access_token]
    qb.client.company_info()
    expire_access_tokens(qb.url, qb.realm_id)
    qb.client.count("Account")
    tokens_seen.append(qb.tokens.access_token)
    inject(private_emulator.url, status=429, count=1)
    inject(private_emulator.url, status=401, count=2)
    with pytest.raises(AuthenticationError):
        qb.client.company_info()
    with pytest.raises(QuickBooksError):
        qb.client.query("SELECT nonsense")
    tokens_seen += qb.tokens.secrets()
    assert "QuickBooks GET" in caplog.text
    assert "intuit_tid=1-" in caplog.text
    for token in tokens_seen:
        assert token not in caplog.text
        assert token[:12] not in caplog.text
    assert "authorization" not in caplog.text.lower()  # no request header is logged


# --- a 200 answer can carry a Fault; Intuit-Tid may be spelled with a hyphen ----------------
class _Canned(BaseHTTPRequestHandler):
    body = b""
    headers_out: dict[str, str] = {}

    def do_GET(self) -> None:
        self.send_response(200)
        for name, value in self.headers_out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def canned_server():
    """A loopback server that answers every GET with `_Canned.body` and its headers."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_fault_inside_a_200_answer_is_raised(canned_server):
    _Canned.body = (
        b'{"Fault": {"Error": [{"Message": "Stale object", "Detail": "old SyncToken",'
        b' "code": "5010"}], "type": "ValidationFault"}, "time": "2026-11-15T10:00:00-08:00"}'
    )
    _Canned.headers_out = {"Content-Type": "application/json", "Intuit-Tid": "1-abc-def"}
    client = QuickBooksClient("42", canned_server, lambda r: "t", retry_policy=fast_policy())
    with client, pytest.raises(QuickBooksError) as caught:
        client.preferences()
    assert (caught.value.status, caught.value.code) == (200, "5010")
    assert caught.value.intuit_tid == "1-abc-def"


def test_an_xml_fault_inside_a_200_answer_is_raised(canned_server):
    _Canned.body = (
        b'<?xml version="1.0"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3">'
        b'<Fault type="SystemFault"><Error code="10000"><Message>An error</Message>'
        b"</Error></Fault></IntuitResponse>"
    )
    _Canned.headers_out = {"Content-Type": "application/xml", "intuit_tid": "1-x-y"}
    client = QuickBooksClient("42", canned_server, lambda r: "t", retry_policy=fast_policy())
    with client, pytest.raises(QuickBooksError) as caught:
        client.preferences()
    assert (caught.value.code, caught.value.intuit_tid) == ("10000", "1-x-y")


# --- fault bodies in every shape -------------------------------------------------------------
def test_faults_are_read_in_both_json_casings_and_xml():
    upper = parse_fault(
        b'{"Fault": {"Error": [{"Message": "M", "Detail": "D", "code": "2010", "element": ""}],'
        b' "type": "ValidationFault"}, "time": "x"}'
    )
    lower = parse_fault(
        b'{"warnings": null, "fault": {"error": [{"message": "M", "detail": "D", "code": "2010",'
        b' "element": null}], "type": "AUTHENTICATION"}, "time": 1730024394085}'
    )
    xml = parse_fault(
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<IntuitResponse '
        b'xmlns="http://schema.intuit.com/finance/v3" time="2026-01-01T00:00:00.000-08:00">'
        b'<Fault type="SERVICE"><Error code="3001"><Message>M</Message><Detail>D</Detail>'
        b"</Error></Fault></IntuitResponse>",
        "application/xml",
    )
    assert (upper.code, upper.message, upper.detail, upper.type) == (
        "2010", "M", "D", "ValidationFault",
    )  # fmt: skip
    assert (lower.code, lower.message, lower.detail, lower.type) == (
        "2010", "M", "D", "AUTHENTICATION",
    )  # fmt: skip
    assert (xml.code, xml.message, xml.detail, xml.type) == ("3001", "M", "D", "SERVICE")


def test_bodies_without_a_fault_give_none():
    assert parse_fault(b"<html><body>504 Gateway Time-out</body></html>", "text/html") is None
    assert parse_fault(b"") is None
    assert parse_fault(b'{"QueryResponse": {}}') is None
    assert parse_fault(b"not json") is None
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><IntuitResponse><Fault/></IntuitResponse>'
    assert parse_fault(bomb) is None


def test_a_token_echoed_in_a_fault_detail_is_scrubbed():
    assert scrub_detail("Token expired: eyJlbmMiOiJBMTI4") == "Token expired: [redacted]"
    assert scrub_detail("Token revoked") == "Token revoked"
    fault = parse_fault(
        b'{"fault": {"error": [{"message": "m", "detail": "Token expired: AB12secret",'
        b' "code": "3200"}], "type": "AUTHENTICATION"}}'
    )
    assert "AB12secret" not in fault.detail


# --- client_for_org (the sync's): through the real connection service ---------------------
@pytest.fixture
def org_service(make_emulator, tmp_path):
    """A real connection service in tmp_path on a private emulator, org `acme` with a team."""
    from cryptography.fernet import Fernet

    from qb_pipeline.config import load_settings
    from qb_pipeline.connections import IntegrationService
    from tests.connections.conftest import add_team

    running = make_emulator(limits_enabled=False)
    settings = load_settings(
        {
            "QBP_HOME": str(tmp_path / "qbp-home"),
            "QBP_SECRET_KEY": Fernet.generate_key().decode(),
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": running.url,
        }
    )
    service = IntegrationService(settings)
    add_team(service)
    return running, service


def test_client_for_org_reads_with_the_connection_services_tokens(org_service):
    from tests.connections.conftest import connect_company

    running, service = org_service
    status = connect_company(service)
    before = len(request_log(running.url))  # connecting read the company's name
    with client_for_org(service, "acme", retry_policy=fast_policy()) as qb:
        assert qb.realm_id == status.realm_id
        assert qb.api_base == running.url
        assert qb.company_info()["Id"] == "1"
        issued_before = access_tokens_issued(running.url)
        expire_access_tokens(running.url, status.realm_id)
        assert qb.count("Account") > 0
    assert statuses(running.url, status.realm_id)[before:] == [200, 401, 200]
    assert access_tokens_issued(running.url) == issued_before + 1  # one refresh grant


def test_client_for_org_refuses_an_unconnected_org_before_any_request(org_service):
    running, service = org_service
    with pytest.raises(NotConnected, match="acme"):
        client_for_org(service, "acme")
    assert request_log(running.url) == []


def test_client_for_org_refuses_an_org_that_needs_reauthorization(org_service):
    from tests.connections.conftest import connect_company

    running, service = org_service
    status = connect_company(service)
    httpx.post(
        f"{running.url}/_emulator/oauth/revoke-refresh-tokens", json={"realmId": status.realm_id}
    ).raise_for_status()
    expire_access_tokens(running.url, status.realm_id)
    client = client_for_org(service, "acme", retry_policy=fast_policy())
    with client, pytest.raises(ReauthorizationRequired):
        client.company_info()  # 401, then the refresh is refused: reconnect needed
    seen = len(request_log(running.url))
    with pytest.raises(ReauthorizationRequired, match="acme"):
        client_for_org(service, "acme")
    assert len(request_log(running.url)) == seen
