"""An answer of valid JSON in the wrong shape is an UnexpectedAnswer naming the endpoint, the
JSON path and the types expected and found, never "no records": every endpoint the client
reads, through a corrupting proxy between the client and the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from qb_pipeline.quickbooks import QuickBooksClient, UnexpectedAnswer
from tests.answer_proxy import CorruptingProxy, Rewrite, change, drop, everywhere, rename, replace
from tests.quickbooks.conftest import EmulatorTokens, fast_policy, first_realm

MISSING = "found nothing (the member is missing)"
CDC_SINCE = datetime(2026, 11, 1, tzinfo=UTC)  # the shared emulator's last two weeks
PNL = {"start_date": "2026-01-01", "end_date": "2026-02-28", "summarize_column_by": "Month"}


@dataclass(frozen=True)
class Case:
    endpoint: str  # the proxy's name for it
    resource: str  # the path below /v3/company/{realm}/
    read: Callable[[QuickBooksClient], Any]
    rewrite: Rewrite
    problem: str


def query_page(client: QuickBooksClient) -> Any:
    return list(client.query_all("Invoice", page_size=3))


def batch(client: QuickBooksClient) -> Any:
    return client.batch(["SELECT * FROM TaxCode", "SELECT * FROM Term"])


def cdc(client: QuickBooksClient) -> Any:
    return client.cdc(["Invoice", "Customer"], CDC_SINCE).entities


def report(client: QuickBooksClient) -> Any:
    answer = client.report("ProfitAndLoss", PNL)
    return {**answer, "Header": {k: v for k, v in answer["Header"].items() if k != "Time"}}


def company_info(client: QuickBooksClient) -> Any:
    return client.company_info()


def preferences(client: QuickBooksClient) -> Any:
    return client.preferences()


def numbers_for_amounts(cell: dict) -> None:
    """A report cell whose amount is JSON number instead of text."""
    value = cell.get("value")
    if isinstance(value, str) and value.replace(".", "", 1).lstrip("-").isdigit():
        cell["value"] = float(value)


QUERY = "QueryResponse"
INVOICES = (QUERY, "Invoice")
CASES = {
    # query: the envelope, a page cut short, and the record fields the sync relies on
    "query-without-QueryResponse": Case(
        "query", "query", query_page, drop(QUERY),
        f"$.QueryResponse: expected an object, {MISSING}",
    ),
    "query-QueryResponse-a-list": Case(
        "query", "query", query_page, replace((QUERY,), []),
        "$.QueryResponse: expected an object, found a list",
    ),
    "query-page-cut-short": Case(
        "query", "query", query_page, change(INVOICES, lambda records: records[:1]),
        "$.QueryResponse.Invoice: expected as many records as maxResults says (3), "
        "found 1 record",
    ),
    "query-records-an-object": Case(
        "query", "query", query_page, replace(INVOICES, {}),
        "$.QueryResponse.Invoice: expected a list of records or a count, found an object",
    ),
    "query-records-of-another-name": Case(
        "query", "query", query_page, rename((QUERY,), "Invoice", "Invoices"),
        "$.QueryResponse.Invoices: expected only records of Invoice, found records of "
        "another name",
    ),
    "query-maxResults-text": Case(
        "query", "query", query_page, change((QUERY, "maxResults"), str),
        "$.QueryResponse.maxResults: expected a whole number of 0 or more, found text",
    ),
    "query-Id-a-number": Case(
        "query", "query", query_page, change((*INVOICES, 0, "Id"), int),
        "$.QueryResponse.Invoice[0].Id: expected non-empty text, found a whole number",
    ),
    "query-without-LastUpdatedTime": Case(
        "query", "query", query_page, drop(*INVOICES, 1, "MetaData", "LastUpdatedTime"),
        "$.QueryResponse.Invoice[1].MetaData.LastUpdatedTime: expected a date-time with its "
        f"UTC offset, {MISSING}",
    ),
    "query-LastUpdatedTime-without-offset": Case(
        "query", "query", query_page,
        change((*INVOICES, 2, "MetaData", "LastUpdatedTime"), lambda text: text[:19]),
        "$.QueryResponse.Invoice[2].MetaData.LastUpdatedTime: expected a date-time with its "
        "UTC offset, found a date-time without an offset",
    ),
    # batch: one item per query sent, each with its bId, each checked as a query
    "batch-without-BatchItemResponse": Case(
        "batch", "batch", batch, drop("BatchItemResponse"),
        f"$.BatchItemResponse: expected a list, {MISSING}",
    ),
    "batch-an-item-missing": Case(
        "batch", "batch", batch, drop("BatchItemResponse", 1),
        "$.BatchItemResponse: expected an item for every query sent (bId 1 missing), "
        "found 1 of 2",
    ),
    "batch-bId-a-number": Case(
        "batch", "batch", batch, change(("BatchItemResponse", 0, "bId"), int),
        "$.BatchItemResponse[0].bId: expected non-empty text, found a whole number",
    ),
    "batch-record-without-Id": Case(
        "batch", "batch", batch, drop("BatchItemResponse", 1, QUERY, "Term", 0, "Id"),
        f"$.BatchItemResponse[1].QueryResponse.Term[0].Id: expected non-empty text, {MISSING}",
    ),
    # cdc: the headline bug, a missing or misshapen CDCResponse read as "no changes"
    "cdc-without-CDCResponse": Case(
        "cdc", "cdc", cdc, drop("CDCResponse"), f"$.CDCResponse: expected a list, {MISSING}"
    ),
    "cdc-CDCResponse-an-object": Case(
        "cdc", "cdc", cdc, change(("CDCResponse",), lambda blocks: blocks[0]),
        "$.CDCResponse: expected a list, found an object",
    ),
    "cdc-CDCResponse-empty": Case(
        "cdc", "cdc", cdc, replace(("CDCResponse",), []),
        "$.CDCResponse: expected a list of at least 1, found an empty list",
    ),
    "cdc-QueryResponse-an-object": Case(
        "cdc", "cdc", cdc, change(("CDCResponse", 0, QUERY), lambda pages: pages[0]),
        "$.CDCResponse[0].QueryResponse: expected a list, found an object",
    ),
    "cdc-records-of-an-entity-not-asked-for": Case(
        "cdc", "cdc", cdc, rename(("CDCResponse", 0, QUERY, 0), "Invoice", "Bill"),
        "$.CDCResponse[0].QueryResponse[0].Bill: expected only records of Customer or "
        "Invoice, found records of another name",
    ),
    "cdc-without-time": Case(
        "cdc", "cdc", cdc, drop("time"),
        f"$.time: expected a date-time with its UTC offset, {MISSING}",
    ),
    # reports: Header, Columns and Rows, cells one per column, amounts as text
    "report-without-Header": Case(
        "reports", "reports/ProfitAndLoss", report, drop("Header"),
        f"$.Header: expected an object (the report's Header), {MISSING}",
    ),
    "report-without-Header-Time": Case(
        "reports", "reports/ProfitAndLoss", report, drop("Header", "Time"),
        f"$.Header.Time: expected a date-time with its UTC offset, {MISSING}",
    ),
    "report-rows-an-object": Case(
        "reports", "reports/ProfitAndLoss", report,
        change(("Rows", "Row"), lambda rows: {"0": rows[0]}),
        "$.Rows.Row: expected a list, found an object",
    ),
    "report-amounts-as-numbers": Case(
        "reports", "reports/ProfitAndLoss", report, everywhere(numbers_for_amounts),
        "$.Rows.Row[0].Rows.Row[0].Header.ColData[1].value: expected text, found a decimal "
        "number",
    ),
    "report-a-cell-missing": Case(
        "reports", "reports/ProfitAndLoss", report, drop("Rows", "Row", 0, "Summary", "ColData", 3),
        "$.Rows.Row[0].Summary.ColData: expected one cell per column (4), found 3 cells",
    ),
    "report-amount-not-a-number": Case(
        "reports", "reports/ProfitAndLoss", report,
        replace(("Rows", "Row", 0, "Summary", "ColData", 1, "value"), "n/a"),
        "$.Rows.Row[0].Summary.ColData[1].value: expected an amount or blank, found text that "
        "is not one",
    ),
    "report-column-period-not-a-date": Case(
        "reports", "reports/ProfitAndLoss", report,
        replace(("Columns", "Column", 1, "MetaData", 0, "Value"), "Jan 2026"),
        "$.Columns.Column[1].MetaData[0].Value: expected a date (YYYY-MM-DD), found text that "
        "is not one",
    ),
    # companyinfo and preferences: the object, and what the sync reads of it
    "companyinfo-without-CompanyInfo": Case(
        "companyinfo", "companyinfo/{realm}", company_info, drop("CompanyInfo"),
        f"$.CompanyInfo: expected a record (an object), {MISSING}",
    ),
    "companyinfo-fiscal-month-a-number": Case(
        "companyinfo", "companyinfo/{realm}", company_info,
        replace(("CompanyInfo", "FiscalYearStartMonth"), 7),
        "$.CompanyInfo.FiscalYearStartMonth: expected a month name (January..December), found "
        "a whole number",
    ),
    "companyinfo-without-MetaData": Case(
        "companyinfo", "companyinfo/{realm}", company_info, drop("CompanyInfo", "MetaData"),
        f"$.CompanyInfo.MetaData: expected an object with LastUpdatedTime, {MISSING}",
    ),
    "preferences-a-list": Case(
        "preferences", "preferences", preferences, change(("Preferences",), lambda p: [p]),
        "$.Preferences: expected a record (an object), found a list",
    ),
    "preferences-tracking-flag-text": Case(
        "preferences", "preferences", preferences,
        replace(("Preferences", "AccountingInfoPrefs", "TrackDepartments"), "yes"),
        "$.Preferences.AccountingInfoPrefs.TrackDepartments: expected true/false, found text",
    ),
}  # fmt: skip


@dataclass
class Proxied:
    proxy: CorruptingProxy
    client: QuickBooksClient
    realm_id: str


@pytest.fixture(scope="module")
def proxied(emulator) -> Iterator[Proxied]:
    """A client whose every request goes through a corrupting proxy to the shared emulator."""
    realm_id = first_realm(emulator.url)
    tokens = EmulatorTokens(emulator.url, realm_id)
    with CorruptingProxy(emulator.url) as proxy:
        client = QuickBooksClient(realm_id, proxy.url, tokens, retry_policy=fast_policy())
        with client:
            yield Proxied(proxy, client, realm_id)


@pytest.fixture
def proxy(proxied) -> Iterator[Proxied]:
    proxied.proxy.clear()
    proxied.proxy.rewritten.clear()
    yield proxied
    proxied.proxy.clear()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_answer_of_the_wrong_shape_is_an_error_naming_endpoint_path_and_types(proxy, case):
    proxy.proxy.corrupt(case.endpoint, case.rewrite)

    with pytest.raises(UnexpectedAnswer) as raised:
        case.read(proxy.client)

    error = raised.value
    endpoint = f"/v3/company/{proxy.realm_id}/{case.resource.format(realm=proxy.realm_id)}"
    assert proxy.proxy.rewritten[case.endpoint] >= 1
    assert (error.endpoint, error.problem, error.status) == (endpoint, case.problem, 200)
    assert error.intuit_tid  # the emulator's, passed through by the proxy
    assert str(error) == (
        f"QuickBooks answered {endpoint} in an unexpected shape: {case.problem} "
        f"(HTTP 200, intuit_tid {error.intuit_tid})"
    )


def test_the_proxy_alone_changes_nothing(proxy, emulator):
    """What the tests above corrupt is the emulator's real answer: unchanged, it reads."""
    direct = QuickBooksClient(
        proxy.realm_id, emulator.url, EmulatorTokens(emulator.url, proxy.realm_id)
    )
    with direct:
        for read in (query_page, batch, cdc, report, company_info, preferences):
            assert read(proxy.client) == read(direct), read.__name__
    assert sum(proxy.proxy.rewritten.values()) == 0


def test_a_body_that_is_not_a_json_object_is_an_unexpected_answer(proxy):
    proxy.proxy.corrupt("preferences", lambda body: b"[1, 2]", count=1)
    with pytest.raises(UnexpectedAnswer, match=r"preferences in an unexpected shape: \$: "
                       "expected an object, found a list"):  # fmt: skip
        proxy.client.preferences()

    proxy.proxy.corrupt("preferences", lambda body: b"<html>maintenance</html>", count=1)
    with pytest.raises(UnexpectedAnswer, match=r"\$: expected JSON, found another body"):
        proxy.client.preferences()


def test_a_records_name_in_another_casing_is_still_read(proxy):
    """CDC asks for entities in any casing; an answer keyed `invoice` is Invoice's records."""
    clean = proxy.client.cdc(["Invoice", "Customer"], CDC_SINCE)
    proxy.proxy.corrupt("cdc", rename(("CDCResponse", 0, QUERY, 0), "Invoice", "invoice"))

    renamed = proxy.client.cdc(["Invoice", "Customer"], CDC_SINCE)

    assert renamed.entities == clean.entities
    assert renamed.entities["Invoice"]
