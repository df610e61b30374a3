"""`QuickBooksClient.batch`: several query statements in one `POST batch` per 30, answered in
the order asked; a query QuickBooks refuses comes back as its own error, the others stand;
the request itself is retried, refreshed and raised like every other call."""

from __future__ import annotations

import json

import pytest

from qb_pipeline.quickbooks import AuthenticationError, ServerError
from qb_pipeline.quickbooks.client import BatchItemError
from qb_pipeline.sandbox import Company
from tests.quickbooks.conftest import inject, request_log
from tests.quickbooks.test_faults_and_auth import expire_access_tokens, statuses


def backend_company(running, realm_id: str) -> Company:
    return running.state.backend.company(realm_id)


def ids(records: list[dict]) -> list[str]:
    return [record["Id"] for record in records]


def test_a_batch_answers_every_query_in_the_order_asked_with_one_request(emulator, connect):
    qb = connect(emulator)
    before = len(request_log(qb.url, qb.realm_id))
    queries = [
        "SELECT * FROM Vendor WHERE Active IN (true, false) MAXRESULTS 1000",
        "SELECT * FROM CompanyInfo",
        "SELECT * FROM Account WHERE Active IN (true, false) MAXRESULTS 1000",
        "SELECT * FROM Invoice WHERE Id = 'no-such-invoice'",
        "SELECT COUNT(*) FROM Account",
    ]

    vendors, company_info, accounts, no_invoice, counted = qb.client.batch(queries)

    company = backend_company(emulator, qb.realm_id)
    assert sorted(ids(vendors)) == sorted(ids(company.records("Vendor")))
    assert ids(company_info) == ["1"]
    assert company_info[0]["CompanyName"] == company.get("CompanyInfo", "1")["CompanyName"]
    assert sorted(ids(accounts)) == sorted(ids(company.records("Account")))
    assert (no_invoice, counted) == ([], [])  # nothing matched; COUNT(*) selects no records
    (entry,) = request_log(qb.url, qb.realm_id)[before:]
    assert (entry["method"], entry["path"], entry["status"]) == (
        "POST",
        f"/v3/company/{qb.realm_id}/batch",
        200,
    )
    assert qb.client.requests_made == 1


def test_the_batch_body_holds_only_query_items_and_the_request_asks_for_json(emulator, connect):
    qb = connect(emulator)
    qb.client.batch(["SELECT * FROM Term", "SELECT * FROM Class"])

    (sent,) = qb.transport.requests
    assert sent.method == "POST"
    assert sent.url.params["minorversion"] == "75"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert json.loads(sent.content) == {
        "BatchItemRequest": [
            {"bId": "0", "Query": "SELECT * FROM Term"},
            {"bId": "1", "Query": "SELECT * FROM Class"},
        ]
    }


def test_a_refused_query_is_its_own_error_and_the_other_queries_stand(emulator, connect):
    qb = connect(emulator)

    terms, refused, classes = qb.client.batch(
        ["SELECT * FROM Term", "SELECT * FROM Widget", "SELECT * FROM Class"]
    )

    company = backend_company(emulator, qb.realm_id)
    assert ids(terms) == ids([t for t in company.records("Term") if t.get("Active", True)])
    assert ids(classes) == ids([c for c in company.records("Class") if c.get("Active", True)])
    assert isinstance(refused, BatchItemError)
    assert (refused.status, refused.code, refused.fault_type) == (200, "4001", "ValidationFault")
    assert refused.message == "Invalid query"
    assert refused.detail == "QueryValidationError: invalid context declaration: Widget"
    assert refused.path == f"/v3/company/{qb.realm_id}/batch"
    assert refused.intuit_tid  # the batch answer's, for Intuit support


def test_more_than_30_queries_go_in_requests_of_30_and_come_back_in_order(emulator, connect):
    qb = connect(emulator)
    accounts = backend_company(emulator, qb.realm_id).records("Account")
    account_ids = ids([a for a in accounts if a.get("Active", True)])
    wanted = [account_ids[i % len(account_ids)] for i in range(65)]
    before = len(request_log(qb.url, qb.realm_id))

    results = qb.client.batch([f"SELECT * FROM Account WHERE Id = '{i}'" for i in wanted])

    assert [ids(records) for records in results] == [[i] for i in wanted]
    sent = request_log(qb.url, qb.realm_id)[before:]
    assert [(e["method"], e["path"].rsplit("/", 1)[-1]) for e in sent] == [("POST", "batch")] * 3
    bodies = [json.loads(request.content) for request in qb.transport.requests]
    assert [len(body["BatchItemRequest"]) for body in bodies] == [30, 30, 5]


def test_exactly_30_queries_are_one_request(emulator, connect):
    qb = connect(emulator)
    results = qb.client.batch(["SELECT * FROM Term"] * 30)
    assert len(results) == 30
    assert qb.client.requests_made == 1


def test_an_empty_batch_makes_no_request(emulator, connect):
    qb = connect(emulator)
    assert qb.client.batch([]) == []
    assert qb.client.requests_made == 0


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_a_batch_item_must_be_a_statement(emulator, connect, bad):
    qb = connect(emulator)
    with pytest.raises(ValueError, match=f"a batch item must be a query statement, not {bad!r}"):
        qb.client.batch(["SELECT * FROM Term", bad])
    assert qb.client.requests_made == 0


def test_an_expired_token_during_a_batch_is_refreshed_once_and_the_batch_sent_again(
    private_emulator, connect
):
    qb = connect(private_emulator)
    qb.client.company_info()
    first_token = qb.tokens.access_token
    expire_access_tokens(qb.url, qb.realm_id)

    (terms,) = qb.client.batch(["SELECT * FROM Term"])

    assert terms
    assert qb.tokens.calls == [None, first_token]  # one refresh, of the rejected token
    assert statuses(qb.url, qb.realm_id) == [200, 401, 200]
    assert qb.sleeps.waits == []


def test_a_second_401_on_a_batch_is_an_authentication_error(private_emulator, connect):
    qb = connect(private_emulator)
    inject(private_emulator.url, status=401, count=2, path_prefix="batch")
    with pytest.raises(AuthenticationError) as caught:
        qb.client.batch(["SELECT * FROM Term"])
    assert (caught.value.status, caught.value.code) == (401, "3200")
    assert qb.tokens.refreshes == 1


def test_a_throttled_or_failing_batch_is_retried_with_backoff(private_emulator, connect):
    qb = connect(private_emulator)
    inject(private_emulator.url, status=429, count=1, path_prefix="batch")
    inject(private_emulator.url, status=503, count=1, path_prefix="batch")

    (terms,) = qb.client.batch(["SELECT * FROM Term"])

    assert terms
    assert statuses(qb.url, qb.realm_id) == [429, 503, 200]
    assert len(qb.sleeps.waits) == 2


def test_a_batch_that_keeps_failing_raises_the_servers_error(private_emulator, connect):
    qb = connect(private_emulator, max_attempts=2)
    inject(private_emulator.url, status=500, count=2, path_prefix="batch")
    with pytest.raises(ServerError) as caught:
        qb.client.batch(["SELECT * FROM Term"])
    assert (caught.value.status, caught.value.code) == (500, "10000")
