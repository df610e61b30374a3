"""The v3 data API over real HTTP: envelopes, headers, faults and XML, as QuickBooks serves them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import httpx
import pytest
import requests

from qb_pipeline.sandbox.oauth.backend import DEMO_CLIENT_ID
from qb_pipeline.sandbox.server.runner import RunningEmulator

JSON = "application/json;charset=UTF-8"
NS = {"q": "http://schema.intuit.com/finance/v3"}
TIME_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
TID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")


def demo_realm(running: RunningEmulator) -> str:
    return running.state.backend.list_companies()[0].realm_id


def token_headers(running: RunningEmulator, realm: str) -> dict[str, str]:
    issued = httpx.post(
        f"{running.url}/_emulator/tokens", json={"client_id": DEMO_CLIENT_ID, "realmId": realm}
    )
    assert issued.status_code == 200, issued.text
    return {
        "Authorization": f"Bearer {issued.json()['access_token']}",
        "Accept": "application/json",
    }


@pytest.fixture(scope="module")
def api(emulator) -> httpx.Client:
    """A client for the shared emulator's demo company, with a token and JSON Accept."""
    realm = demo_realm(emulator)
    with httpx.Client(
        base_url=f"{emulator.url}/v3/company/{realm}", headers=token_headers(emulator, realm)
    ) as client:
        yield client


@pytest.fixture
def private(make_emulator):
    """A private emulator (for changes) and a client for its demo company."""
    running = make_emulator(limits_enabled=False)
    realm = demo_realm(running)
    with httpx.Client(
        base_url=f"{running.url}/v3/company/{realm}", headers=token_headers(running, realm)
    ) as client:
        yield running, realm, client


def company_of(running: RunningEmulator):
    return running.state.backend.list_companies()[0]


def only_error(body: dict) -> dict:
    assert set(body) == {"Fault", "time"}
    (error,) = body["Fault"]["Error"]
    return error


# --- query -----------------------------------------------------------------------------
def test_query_answers_the_envelope_with_time_and_intuit_headers(api):
    response = api.get("query", params={"query": "select * from Customer maxresults 3"})
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert TID.match(response.headers["intuit_tid"])
    assert response.headers["qbo-version"]
    assert re.match(r"^total=\d+, db=\d+$", response.headers["service-time"])
    body = response.json()
    assert set(body) == {"QueryResponse", "time"}
    assert TIME_MILLIS.match(body["time"])
    page = body["QueryResponse"]
    assert page["startPosition"] == 1
    assert page["maxResults"] == len(page["Customer"]) == 3


def test_every_response_gets_its_own_transaction_id(api):
    tids = {api.get("preferences").headers["intuit_tid"] for _ in range(3)}
    assert len(tids) == 3


@pytest.mark.parametrize("content_type", ["application/text", "text/plain"])
def test_query_can_be_posted_as_text(api, content_type):
    response = api.post(
        "query",
        content=b"select * from Term",
        headers={"Content-Type": content_type},
        params={"minorversion": "75"},
    )
    assert response.status_code == 200
    assert response.json()["QueryResponse"]["Term"]


def test_query_time_is_company_local_with_milliseconds(emulator, api):
    company = company_of(emulator)
    body = api.get("query", params={"query": "select * from Term"}).json()
    moment = datetime.fromisoformat(body["time"])
    assert moment.utcoffset() == company.now().utcoffset()
    assert abs(moment - company.now()) < timedelta(minutes=1)


def test_count_query_answers_total_count_only(emulator, api):
    expected = len(company_of(emulator).records("Invoice"))
    body = api.get("query", params={"query": "select count(*) from Invoice"}).json()
    assert body["QueryResponse"] == {"totalCount": expected}


def test_query_without_matches_is_an_empty_query_response(api):
    body = api.get("query", params={"query": "select * from Invoice where Id = '99999999'"}).json()
    assert body["QueryResponse"] == {}


def test_query_error_is_a_400_fault_in_data_casing(api):
    response = api.get("query", params={"query": "select * from"})
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON
    body = response.json()
    error = only_error(body)
    assert error["code"] == "4000"
    assert error["Message"] == "Error parsing query"
    assert error["Detail"].startswith("QueryParserError")
    assert body["Fault"]["type"] == "ValidationFault"
    assert TIME_MILLIS.match(body["time"])


def test_paging_by_startposition_returns_every_record_exactly_once(emulator, api):
    expected = {record["Id"] for record in company_of(emulator).records("Invoice")}
    seen: list[str] = []
    start, size = 1, 100
    while True:
        statement = f"select * from Invoice startposition {start} maxresults {size}"
        page = api.get("query", params={"query": statement}).json()["QueryResponse"]
        rows = page.get("Invoice", [])
        seen += [row["Id"] for row in rows]
        if len(rows) < size:
            break
        start += size
    assert len(seen) == len(set(seen)) == len(expected)
    assert set(seen) == expected


@pytest.mark.parametrize("version", ["75", "4", "abc"])
def test_minorversion_is_accepted_whatever_its_value(api, version):
    response = api.get("preferences", params={"minorversion": version})
    assert response.status_code == 200


# --- single reads ------------------------------------------------------------------------
def test_entity_read_wraps_the_stored_record_with_time(emulator, api):
    record = company_of(emulator).records("Invoice")[0]
    response = api.get(f"invoice/{record['Id']}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"Invoice", "time"}
    assert body["Invoice"] == record


def test_entity_path_names_are_read_case_insensitively(emulator, api):
    record = company_of(emulator).records("JournalEntry")[0]
    assert api.get(f"journalentry/{record['Id']}").json()["JournalEntry"]["Id"] == record["Id"]
    assert api.get(f"JournalEntry/{record['Id']}").status_code == 200


def test_unknown_id_is_the_object_not_found_fault(api):
    response = api.get("customer/987654321")
    assert response.status_code == 400
    body = response.json()
    assert body["Fault"]["type"] == "ValidationFault"
    assert only_error(body) == {
        "Message": "Object Not Found",
        "Detail": "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
        "code": "610",
        "element": "",
    }


def test_company_info_is_read_at_the_realm_id(emulator, api):
    realm = demo_realm(emulator)
    body = api.get(f"companyinfo/{realm}").json()
    assert body["CompanyInfo"]["Id"] == "1"
    assert body["CompanyInfo"]["CompanyName"] == company_of(emulator).name
    assert api.get("companyinfo/12345").status_code == 400


def test_preferences_are_one_object(emulator, api):
    body = api.get("preferences").json()
    assert set(body) == {"Preferences", "time"}
    assert body["Preferences"]["CurrencyPrefs"]["HomeCurrency"]["value"] == "USD"


# --- batch -------------------------------------------------------------------------------
def test_batch_answers_each_item_on_its_own(api):
    response = api.post(
        "batch",
        json={
            "BatchItemRequest": [
                {"bId": "1", "Query": "select * from Term"},
                {"bId": "2", "Query": "select * from Nothing"},
                {"bId": "3", "operation": "create", "Customer": {"DisplayName": "New"}},
            ]
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert TIME_MILLIS.match(body["time"])
    first, second, third = body["BatchItemResponse"]
    assert first["bId"] == "1"
    assert first["QueryResponse"]["Term"]
    assert second["bId"] == "2"
    assert second["Fault"]["Error"][0]["code"] == "4001"
    assert third["bId"] == "3"
    assert "read-only" in third["Fault"]["Error"][0]["Detail"]
    assert third["Fault"]["type"] == "ValidationFault"


def test_batch_of_more_than_30_items_is_refused(api):
    items = [{"bId": str(i), "Query": "select * from Term"} for i in range(31)]
    response = api.post("batch", json={"BatchItemRequest": items})
    assert response.status_code == 400
    assert "at most 30" in only_error(response.json())["Detail"]


def test_batch_of_exactly_30_items_is_answered(api):
    items = [{"bId": str(i), "Query": "select * from Term"} for i in range(30)]
    body = api.post("batch", json={"BatchItemRequest": items}).json()
    assert [item["bId"] for item in body["BatchItemResponse"]] == [str(i) for i in range(30)]


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"not json", "2010"), (b"{}", "2020"), (b'{"BatchItemRequest": []}', "2020")],
)
def test_malformed_batch_is_a_validation_fault(api, content, code):
    response = api.post("batch", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert only_error(response.json())["code"] == code


# --- CDC ---------------------------------------------------------------------------------
def expected_changes(company, entity: str, since: datetime) -> set[str]:
    return {
        r["Id"]
        for r in company.records(entity)
        if datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"]) >= since
    } | {d.id for d in company.deletions if d.entity == entity and d.deleted_at >= since}


def test_cdc_returns_records_changed_since_in_request_order(emulator, api):
    company = company_of(emulator)
    since = company.now() - timedelta(days=20)
    response = api.get(
        "cdc", params={"entities": "invoice,Customer", "changedSince": since.isoformat()}
    )
    assert response.status_code == 200
    body = response.json()
    assert TIME_MILLIS.match(body["time"])
    (cdc,) = body["CDCResponse"]
    by_entity = {next(iter(k for k in qr if k[0].isupper())): qr for qr in cdc["QueryResponse"]}
    assert list(by_entity) == [
        e for e in ("Invoice", "Customer") if expected_changes(company, e, since)
    ]
    for entity, page in by_entity.items():
        assert {r["Id"] for r in page[entity]} == expected_changes(company, entity, since)
        assert page["startPosition"] == 1
        assert page["maxResults"] == len(page[entity])


def test_cdc_with_nothing_changed_answers_one_empty_query_response(emulator, api):
    later = company_of(emulator).now() + timedelta(hours=1)
    body = api.get("cdc", params={"entities": "Invoice", "changedSince": later.isoformat()}).json()
    assert body["CDCResponse"] == [{"QueryResponse": [{}]}]


def test_cdc_refuses_changed_since_older_than_30_days(emulator, api):
    old = (company_of(emulator).now() - timedelta(days=31)).isoformat()
    response = api.get("cdc", params={"entities": "Invoice", "changedSince": old})
    assert response.status_code == 400
    assert only_error(response.json())["Detail"] == (
        f"Operation cdc with changedSince date {old} which is older than fixed days is not "
        "supported."
    )


def test_cdc_accepts_exactly_30_days_and_a_bare_date(emulator, api):
    company = company_of(emulator)
    edge = (company.now() - timedelta(days=30) + timedelta(seconds=5)).isoformat()
    assert api.get("cdc", params={"entities": "Bill", "changedSince": edge}).status_code == 200
    day = (company.today() - timedelta(days=3)).isoformat()
    assert api.get("cdc", params={"entities": "Bill", "changedSince": day}).status_code == 200


@pytest.mark.parametrize("entity", ["TaxCode", "timeactivity", "JournalCode"])
def test_cdc_refuses_entities_it_does_not_support(api, entity):
    response = api.get(
        "cdc", params={"entities": f"Invoice,{entity}", "changedSince": "2026-11-10"}
    )
    assert response.status_code == 400
    assert only_error(response.json())["Message"] == "Unsupported Operation"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"changedSince": "2026-11-10"}, "2020"),
        ({"entities": "Invoice"}, "2020"),
        ({"entities": "Widget", "changedSince": "2026-11-10"}, "2010"),
        ({"entities": "Invoice", "changedSince": "last tuesday"}, "2010"),
    ],
)
def test_cdc_parameter_errors_are_validation_faults(api, params, code):
    response = api.get("cdc", params=params)
    assert response.status_code == 400
    assert only_error(response.json())["code"] == code


def test_cdc_reports_deleted_transactions_and_inactive_list_records(private):
    running, realm, client = private
    company = company_of(running)
    # Move past the generator's last changes so only ours are newer than `since`.
    httpx.post(f"{running.url}/_emulator/companies/{realm}/clock", json={"advance_days": 1})
    since = company.now().isoformat()
    invoice_id = company.records("Invoice")[-1]["Id"]
    customer_id = company.records("Customer")[-1]["Id"]
    control = f"{running.url}/_emulator/companies/{realm}/entities"
    assert httpx.delete(f"{control}/Invoice/{invoice_id}").status_code == 200
    assert httpx.delete(f"{control}/Customer/{customer_id}").status_code == 200

    body = client.get("cdc", params={"entities": "Invoice,Customer", "changedSince": since}).json()
    invoices, customers = body["CDCResponse"][0]["QueryResponse"]
    (stub,) = invoices["Invoice"]
    assert set(stub) == {"domain", "status", "Id", "MetaData"}
    assert (stub["status"], stub["Id"], stub["domain"]) == ("Deleted", invoice_id, "QBO")
    assert datetime.fromisoformat(stub["MetaData"]["LastUpdatedTime"]) >= datetime.fromisoformat(
        since
    )
    (customer,) = customers["Customer"]
    assert customer["Id"] == customer_id
    assert customer["Active"] is False


def test_cdc_caps_each_entity_at_1000_objects_oldest_first(private):
    running, _, client = private
    company = company_of(running)
    start = company.now() - timedelta(days=2)
    for n in range(1005):
        company.add("Class", {"Name": f"Bulk {n}", "Active": True}, at=start + timedelta(seconds=n))
    body = client.get("cdc", params={"entities": "Class", "changedSince": start.isoformat()}).json()
    (page,) = body["CDCResponse"][0]["QueryResponse"]
    assert page["maxResults"] == len(page["Class"]) == 1000
    assert page["Class"][0]["Name"] == "Bulk 0"
    assert page["Class"][-1]["Name"] == "Bulk 999"


# --- reports -------------------------------------------------------------------------------
def test_report_has_no_top_level_time(api):
    response = api.get(
        "reports/ProfitAndLoss",
        params={"start_date": "2026-01-01", "end_date": "2026-10-31", "minorversion": "75"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert "time" not in body
    assert body["Header"]["ReportName"] == "ProfitAndLoss"


def test_report_errors_are_faults(api):
    response = api.get("reports/NoSuchReport")
    assert response.status_code >= 400
    body = response.json()
    assert body["Fault"]["Error"][0]["code"]
    assert TIME_MILLIS.match(body["time"])


# --- XML for clients that ask for it, JSON otherwise -------------------------------------------
def test_query_answers_xml_when_accept_asks_for_xml(api):
    response = api.get(
        "query",
        params={"query": "select * from Customer maxresults 2"},
        headers={"Accept": "application/xml"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "{http://schema.intuit.com/finance/v3}IntuitResponse"
    assert TIME_MILLIS.match(root.attrib["time"])
    page = root.find("q:QueryResponse", NS)
    assert page.attrib == {"startPosition": "1", "maxResults": "2"}
    customers = page.findall("q:Customer", NS)
    assert len(customers) == 2
    assert customers[0].attrib == {"domain": "QBO", "sparse": "false"}
    assert customers[0].find("q:Id", NS).text
    assert customers[0].find("q:CurrencyRef", NS).text == "USD"


@pytest.mark.parametrize("accept", ["application/xml", "text/xml", "text/xml; charset=utf-8"])
def test_faults_are_xml_for_xml_clients(api, accept):
    response = api.get("customer/987654321", headers={"Accept": accept})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    fault = root.find("q:Fault", NS)
    assert fault.attrib == {"type": "ValidationFault"}
    error = fault.find("q:Error", NS)
    assert error.attrib == {"code": "610", "element": ""}
    assert error.find("q:Message", NS).text == "Object Not Found"


def test_reports_are_an_xml_report_root_for_xml_clients(api):
    response = api.get(
        "reports/BalanceSheet",
        params={"start_date": "2026-01-01", "end_date": "2026-10-31"},
        headers={"Accept": "application/xml"},
    )
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag == "{http://schema.intuit.com/finance/v3}Report"
    assert root.find("q:Header/q:ReportName", NS).text == "BalanceSheet"


@pytest.mark.parametrize("accept", ["*/*", "text/html, */*;q=0.8", "application/octet-stream"])
def test_clients_that_do_not_ask_for_xml_get_json(api, accept):
    for resource, params in (
        ("preferences", {}),
        ("query", {"query": "select * from Customer maxresults 2"}),
        ("reports/ProfitAndLoss", {"start_date": "2026-01-01", "end_date": "2026-03-31"}),
    ):
        response = api.get(resource, params=params, headers={"Accept": accept})
        assert response.status_code == 200, resource
        assert response.headers["content-type"] == JSON, resource
        assert response.json()
    fault = api.get("customer/987654321", headers={"Accept": accept})
    assert fault.status_code == 400
    assert fault.json()["Fault"]["Error"][0]["code"] == "610"


def test_requests_gets_json_with_its_default_accept(api):
    """Python's requests (what many QuickBooks clients use) sends `Accept: */*` unasked."""
    default_accept = requests.utils.default_headers()["Accept"]
    assert default_accept == "*/*"
    response = requests.get(
        f"{api.base_url}reports/BalanceSheet",
        params={"start_date": "2026-01-01", "end_date": "2026-10-31"},
        headers={"Authorization": api.headers["Authorization"]},
        timeout=30,
    )
    assert response.request.headers["Accept"] == "*/*"
    assert response.headers["content-type"] == JSON
    assert response.json()["Header"]["ReportName"] == "BalanceSheet"


def test_a_request_without_accept_gets_xml(api):
    request = api.build_request("GET", "preferences")
    del request.headers["Accept"]
    response = api.send(request)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.find("q:Preferences", NS) is not None


def test_json_clients_always_get_json(api):
    for accept in (
        "application/json",
        "application/json, text/xml",
        "application/xml, application/json",
        "application/pdf, application/json",
    ):
        response = api.get("preferences", headers={"Accept": accept})
        assert response.headers["content-type"] == JSON
        assert "Preferences" in response.json()


# --- read-only and unknown resources -----------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "params", "operation"),
    [
        ("POST", "customer", {}, "create"),
        ("POST", "invoice", {"operation": "delete"}, "delete"),
        ("POST", "invoice", {"operation": "void"}, "void"),
        ("PUT", "customer/1", {}, "update"),
        ("DELETE", "customer/1", {}, "delete"),
        ("PATCH", "account/1", {}, "update"),
    ],
)
def test_writes_are_refused_because_the_api_is_read_only(api, method, path, params, operation):
    response = api.request(method, path, params=params, json={"Id": "1"})
    assert response.status_code == 400
    error = only_error(response.json())
    assert (error["Message"], error["code"]) == ("Unsupported Operation", "500")
    assert f"Operation {operation} " in error["Detail"]
    assert "read-only" in error["Detail"]
    assert "/_emulator/companies/" in error["Detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "widgets/1"), ("GET", "query/extra"), ("GET", ""), ("GET", "batch"), ("PUT", "query")],
)
def test_unknown_resources_are_unsupported_operations(api, method, path):
    response = api.request(method, path)
    assert response.status_code == 400
    error = only_error(response.json())
    assert error["Message"] == "Unsupported Operation"
    assert "Could not find resource for relative" in error["Detail"]


def test_paths_outside_a_company_are_404(emulator):
    assert httpx.get(f"{emulator.url}/v3/widgets").status_code == 404
    assert httpx.get(f"{emulator.url}/v3/company").status_code == 404


# --- authentication and authorization ---------------------------------------------------------
def gateway_body(detail: str | None, message: str, code: str, kind: str, time: int) -> dict:
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [{"message": message, "detail": detail, "code": code, "element": None}],
            "type": kind,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": time,
        "status": None,
        "cdcresponse": [],
    }


AUTH_FAILED = "message=AuthenticationFailed; errorCode=003200; statusCode=401"


def assert_401(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="Intuit", error="invalid_token"'
    assert TID.match(response.headers["intuit_tid"])
    body = response.json()
    assert isinstance(body["time"], int)
    assert body["time"] > 1_700_000_000_000
    assert body == gateway_body(detail, AUTH_FAILED, "3200", "AUTHENTICATION", body["time"])


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer short", "Basic abc", "Bearer " + "x" * 5000]
)
def test_missing_or_malformed_token_is_401_with_the_gateway_body(emulator, authorization):
    headers = {"Accept": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = httpx.get(
        f"{emulator.url}/v3/company/{demo_realm(emulator)}/preferences", headers=headers
    )
    assert_401(response, "Malformed bearer token: too short or too long")


def test_unknown_token_reads_as_expired(emulator):
    token = "A" * 100
    response = httpx.get(
        f"{emulator.url}/v3/company/{demo_realm(emulator)}/preferences",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert_401(response, f"Token expired: {token[:23]}")


def test_expired_and_revoked_tokens_are_401(private):
    running, realm, client = private
    httpx.post(f"{running.url}/_emulator/oauth/expire-access-tokens", json={"realmId": realm})
    token = client.headers["Authorization"].split()[1]
    assert_401(client.get("preferences"), f"Token expired: {token[:23]}")
    fresh = token_headers(running, realm)
    httpx.post(f"{running.url}/_emulator/oauth/revoke-refresh-tokens", json={})
    assert_401(client.get("preferences", headers=fresh), "Token revoked")


def test_token_for_another_company_is_403(emulator):
    first, second = [c.realm_id for c in emulator.state.backend.list_companies()[:2]]
    response = httpx.get(
        f"{emulator.url}/v3/company/{second}/preferences", headers=token_headers(emulator, first)
    )
    assert response.status_code == 403
    body = response.json()
    assert body == gateway_body(
        f"The app is not authorized for company {second}.",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        "3100",
        "SERVICE",
        body["time"],
    )


def test_unknown_realm_is_403(emulator, api):
    realm = demo_realm(emulator)
    response = httpx.get(
        f"{emulator.url}/v3/company/123/preferences",
        headers={"Authorization": api.headers["Authorization"], "Accept": "application/json"},
    )
    assert response.status_code == 403
    assert response.json()["fault"]["error"][0]["code"] == "3100"
    assert realm != "123"


def test_401_is_xml_for_xml_clients(emulator):
    response = httpx.get(
        f"{emulator.url}/v3/company/{demo_realm(emulator)}/preferences",
        headers={"Accept": "application/xml"},
    )
    assert response.status_code == 401
    error = ET.fromstring(response.content).find("q:Fault/q:Error", NS)
    assert error.attrib["code"] == "3200"
    assert error.find("q:Message", NS).text == AUTH_FAILED


def test_an_unexpected_error_is_answered_as_system_fault(private):
    running, _, client = private
    company_of(running).store["Invoice"] = None  # breaks reads of this entity
    response = client.get("invoice/1")
    assert response.status_code == 500
    error = only_error(response.json())
    assert error["code"] == "10000"
    assert response.json()["Fault"]["type"] == "SystemFault"
