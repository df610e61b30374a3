"""The client reads everything the pipeline needs, the way QuickBooks expects to be asked."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from qb_pipeline.quickbooks import QuickBooksClient
from qb_pipeline.quickbooks.client import MAX_GET_QUERY_CHARS
from tests.quickbooks.conftest import request_log


def backend_company(running, realm_id):
    return running.state.backend.companies[realm_id]


def test_paging_returns_every_record_exactly_once(emulator, connect):
    qb = connect(emulator)
    pages = list(qb.client.query_all("Invoice", page_size=100))
    ids = [record["Id"] for page in pages for record in page]
    expected = {r["Id"] for r in backend_company(emulator, qb.realm_id).records("Invoice")}
    assert len(expected) > 300  # several pages
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == expected
    assert all(len(page) == 100 for page in pages[:-1])
    # One request per page; the last page is short so no empty page is fetched.
    assert qb.client.requests_made == len(pages)


def test_paging_ends_with_one_empty_request_after_a_full_last_page(emulator, connect):
    qb = connect(emulator)
    total = qb.client.count("Vendor")
    pages = list(qb.client.query_all("Vendor", page_size=total))
    assert [len(p) for p in pages] == [total]
    assert qb.client.requests_made == 3  # the count, the full page, one empty page


def test_inactive_list_records_come_back_when_asked_for(emulator, connect):
    qb = connect(emulator)
    stored = backend_company(emulator, qb.realm_id).records("Account")
    everything = [
        r for page in qb.client.query_all("Account", where="Active IN (true, false)") for r in page
    ]
    active_only = [r for page in qb.client.query_all("Account") for r in page]
    assert {r["Id"] for r in everything} == {r["Id"] for r in stored}
    assert {r["Id"] for r in active_only} == {r["Id"] for r in stored if r.get("Active", True)}


def test_count_read_company_info_and_preferences(emulator, connect):
    qb = connect(emulator)
    company = backend_company(emulator, qb.realm_id)
    assert qb.client.count("Customer", "Active IN (true, false)") == len(
        company.records("Customer")
    )
    some_account = company.records("Account")[0]
    assert qb.client.read("Account", some_account["Id"])["Id"] == some_account["Id"]
    assert qb.client.company_info()["CompanyName"] == company.get("CompanyInfo", "1")["CompanyName"]
    assert "ReportPrefs" in qb.client.preferences()


def test_every_request_asks_for_json_at_minor_version_75(emulator, connect):
    qb = connect(emulator)
    qb.client.company_info()
    qb.client.count("Account")
    qb.client.report("ProfitAndLoss", {"start_date": "2026-01-01", "end_date": "2026-03-31"})
    assert len(qb.transport.requests) == 3
    for request in qb.transport.requests:
        assert request.url.params["minorversion"] == "75"
        assert request.headers["Accept"] == "application/json"
        assert request.headers["User-Agent"] == "qb-goals"


def test_long_statements_are_posted_as_application_text(emulator, connect):
    qb = connect(emulator)
    invoices = backend_company(emulator, qb.realm_id).records("Invoice")
    ids = ", ".join(f"'{r['Id']}'" for r in invoices)
    where = f"Id IN ({ids})"
    assert len(where) > MAX_GET_QUERY_CHARS
    found = [r for page in qb.client.query_all("Invoice", where=where) for r in page]
    assert len(found) == len(invoices)
    posted = [r for r in qb.transport.requests if r.method == "POST"]
    assert posted
    assert all(r.headers["Content-Type"] == "application/text" for r in posted)
    assert all("query" not in r.url.params for r in posted)
    assert all(r.url.params["minorversion"] == "75" for r in posted)


def test_cdc_returns_changes_and_deletion_stubs_with_the_server_time(private_emulator, connect):
    qb = connect(private_emulator)
    company = backend_company(private_emulator, qb.realm_id)
    since = company.now() - timedelta(minutes=1)
    invoice = company.records("Invoice")[0]
    base = f"{private_emulator.url}/_emulator/companies/{qb.realm_id}/entities"
    httpx.delete(f"{base}/Invoice/{invoice['Id']}").raise_for_status()
    customer = company.records("Customer")[0]
    httpx.patch(
        f"{base}/Customer/{customer['Id']}", json={"Notes": "changed by the test"}
    ).raise_for_status()

    result = qb.client.cdc(["Invoice", "Customer"], since)

    assert [r["Id"] for r in result.entities["Customer"]] == [customer["Id"]]
    stubs = [r for r in result.entities["Invoice"] if r.get("status") == "Deleted"]
    assert [s["Id"] for s in stubs] == [invoice["Id"]]
    assert result.time is not None
    assert result.time.tzinfo is not None
    assert result.time >= since
    assert result.capped == ()


def test_cdc_needs_an_aware_moment_and_entities(emulator, connect):
    qb = connect(emulator)
    with pytest.raises(ValueError, match="timezone-aware"):
        qb.client.cdc(
            ["Invoice"], backend_company(emulator, qb.realm_id).now().replace(tzinfo=None)
        )
    with pytest.raises(ValueError, match="at least one"):
        qb.client.cdc([], backend_company(emulator, qb.realm_id).now())


def test_only_get_and_post_reach_the_data_api(private_emulator, connect):
    qb = connect(private_emulator)
    company = backend_company(private_emulator, qb.realm_id)
    qb.client.company_info()
    qb.client.preferences()
    qb.client.read("Account", company.records("Account")[0]["Id"])
    list(qb.client.query_all("Vendor"))
    ids = ", ".join(f"'{r['Id']}'" for r in company.records("Invoice"))
    qb.client.query(f"SELECT * FROM Invoice WHERE Id IN ({ids})")
    qb.client.report("BalanceSheet", {"start_date": "2026-01-01", "end_date": "2026-03-31"})
    qb.client.cdc(["Invoice"], company.now() - timedelta(days=1))

    methods = {entry["method"] for entry in request_log(private_emulator.url)}
    assert methods == {"GET", "POST"}
    posts = [e["path"] for e in request_log(private_emulator.url) if e["method"] == "POST"]
    assert posts
    assert all(path.endswith("/query") for path in posts)


def test_the_client_has_no_way_to_send_anything_but_reads(emulator, connect):
    qb = connect(emulator)
    public = {name for name in dir(qb.client) if not name.startswith("_")}
    assert public.isdisjoint({"request", "send", "post", "put", "patch", "delete", "get"})
    assert public >= {"query", "query_all", "count", "read", "company_info", "preferences"}
    assert public >= {"report", "cdc", "close", "requests_made", "responses_by_status"}


def test_names_that_could_change_the_path_are_refused(emulator, connect):
    qb = connect(emulator)
    with pytest.raises(ValueError, match="not a QuickBooks id"):
        qb.client.read("Account", "1/../../other")
    with pytest.raises(ValueError, match="not a QuickBooks name"):
        qb.client.report("ProfitAndLoss?x=1", {})
    with pytest.raises(ValueError, match="not a QuickBooks name"):
        list(qb.client.query_all("Invoice; DROP"))
    with pytest.raises(ValueError, match="not a QuickBooks realm id"):
        QuickBooksClient("123/../456", emulator.url, lambda rejected: "unused")
    assert qb.client.requests_made == 0


def test_connections_are_reused(emulator, connect):
    qb = connect(emulator)
    for _ in range(5):
        qb.client.company_info()
    pool = qb.transport._pool  # httpcore's pool: one keep-alive connection served all five
    assert len(pool.connections) == 1


def test_requests_are_counted_per_status(private_emulator, connect):
    qb = connect(private_emulator)
    qb.client.company_info()
    qb.client.company_info()
    assert qb.client.requests_made == 2
    assert qb.client.responses_by_status == {200: 2}
