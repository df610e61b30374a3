"""A sync reads Account, TaxCode, TaxRate, CompanyInfo and Preferences with one batch request
(`SyncSession.prefetched`), made on first use; an entity the batch cannot answer in full is
left to the paged query. Requests are counted by the emulator."""

from __future__ import annotations

from datetime import timedelta

import pytest

from qb_pipeline.sources.quickbooks.helpers.paging import entity_pages, parse_qbo_time
from qb_pipeline.sources.quickbooks.helpers.reads import PREFETCHABLE, SyncSession
from tests.quickbooks.conftest import request_log
from tests.sources.conftest import Company, realms

ORG = "acme"


def session_for(company: Company, prefetch=PREFETCHABLE, **options) -> SyncSession:
    client = company.client()
    return SyncSession(client, ORG, company.realm_id, cdc_entities=(), prefetch=prefetch, **options)


def paged(session: SyncSession, entity: str, since=None) -> list[dict]:
    return [r for page in entity_pages(session.client, entity, since=since) for r in page]


def requests_since(company: Company, before: int) -> list[tuple[str, str]]:
    return [
        (entry["method"], entry["path"].rsplit("/", 1)[-1])
        for entry in request_log(company.url, company.realm_id)[before:]
    ]


@pytest.fixture
def company(emulator) -> Company:
    return Company(emulator, realms(emulator)[0])


def test_one_batch_request_reads_the_five_small_entities(company):
    session = session_for(company)
    before = len(request_log(company.url, company.realm_id))

    records = {entity: session.prefetched(entity) for entity in PREFETCHABLE}
    info = session.company_info()
    preferences = session.preferences()
    session.fiscal_year_start_month()

    assert requests_since(company, before) == [("POST", "batch")]
    for entity in ("Account", "TaxCode", "TaxRate"):
        assert records[entity] == paged(session, entity), entity  # same rows, same order
    assert [r["Id"] for r in records["Account"]] != []
    assert any(r.get("Active") is False for r in records["Account"])  # inactive ones too
    assert info == company.backend.get("CompanyInfo", "1")
    assert records["CompanyInfo"] == [info]
    assert preferences == session.client.preferences()
    assert records["Preferences"] == [preferences]
    session.client.close()


def test_nothing_is_requested_before_first_use(company):
    before = len(request_log(company.url, company.realm_id))
    session = session_for(company)
    assert requests_since(company, before) == []
    session.client.close()


def test_prefetched_since_keeps_the_records_the_paged_query_would_read(private_emulator):
    running = private_emulator()
    company = Company(running, realms(running)[0])
    backend = company.backend
    accounts = backend.records("Account")
    later = backend.now() + timedelta(minutes=5)
    for account in accounts[:3]:
        backend.update("Account", account["Id"], {"Description": "changed"}, at=later)
    since = parse_qbo_time(backend.get("Account", accounts[0]["Id"])["MetaData"]["LastUpdatedTime"])
    session = session_for(company)

    changed = session.prefetched("Account", since=since + timedelta(microseconds=400))

    assert changed == paged(session, "Account", since=since)
    assert sorted(r["Id"] for r in changed) == sorted(a["Id"] for a in accounts[:3])
    assert session.prefetched("Account", since=since + timedelta(seconds=1)) == []
    session.client.close()


def test_an_entity_that_fills_a_page_is_left_to_the_paged_query(private_emulator):
    running = private_emulator()
    company = Company(running, realms(running)[0])
    for number in range(1000):
        company.backend.add("TaxRate", {"Name": f"Rate {number}", "RateValue": 1.0, "Active": True})
    session = session_for(company)
    before = len(request_log(company.url, company.realm_id))

    assert session.prefetched("TaxRate") is None
    assert session.prefetched("Account") is not None
    assert session.prefetched("TaxCode") is not None

    assert requests_since(company, before) == [("POST", "batch")]
    assert len(paged(session, "TaxRate")) == len(company.backend.records("TaxRate"))
    session.client.close()


def test_entities_not_prefetched_are_read_directly(company):
    session = session_for(company, prefetch=("Account", "TaxCode"))
    before = len(request_log(company.url, company.realm_id))

    assert session.prefetched("TaxRate") is None
    assert session.prefetched("Account") is not None
    session.company_info()
    session.preferences()

    assert requests_since(company, before) == [
        ("POST", "batch"),
        ("GET", company.realm_id),  # companyinfo/{realm}
        ("GET", "preferences"),
    ]
    session.client.close()


def test_a_batch_of_one_entity_is_not_sent(company):
    session = session_for(company, prefetch=("Account",))
    before = len(request_log(company.url, company.realm_id))
    assert session.prefetched("Account") is None  # one paged query costs the same
    assert requests_since(company, before) == []
    session.client.close()


def test_only_the_small_entities_can_be_prefetched(company):
    with pytest.raises(ValueError, match="cannot prefetch") as caught:
        session_for(company, prefetch=("Account", "Invoice"))
    assert str(caught.value) == (
        "cannot prefetch ['Invoice']; entities read in one batch: "
        "['Account', 'TaxCode', 'TaxRate', 'CompanyInfo', 'Preferences']"
    )
