"""Entity pages are cut by time: records edited while a sync pages through cannot push an
untouched record out of sight, and a bulk-imported second larger than a page is read whole."""

from __future__ import annotations

from collections import Counter

import pytest

from qb_pipeline.sources.quickbooks.helpers.paging import entity_pages
from tests.sources.conftest import Company, realms


@pytest.fixture
def company(make_emulator) -> Company:
    running = make_emulator(limits_enabled=False)
    return Company(running, realms(running)[0])


def test_a_record_edited_during_paging_does_not_hide_another(company):
    everything = {r["Id"] for r in company.backend.records("Invoice")}
    read: Counter[str] = Counter()
    with company.client() as client:
        for number, page in enumerate(entity_pages(client, "Invoice", page_size=50)):
            read.update(r["Id"] for r in page)
            if number < 3:
                # Edit a record already read: it moves to the end of the time order.
                company.control(
                    "PATCH", f"entities/Invoice/{page[0]['Id']}", json={"PrivateNote": "edited"}
                )
    assert set(read) == everything
    assert sum(read.values()) == len(everything) + 3  # the three edited ones, twice


def test_more_changes_in_one_second_than_a_page_holds_are_all_read(company):
    for number in range(100, 140):
        term = {"Name": f"Net {number}", "DueDays": number, "Active": True}
        company.control("POST", "entities/Term", json=term)
    expected = {r["Id"] for r in company.backend.records("Term")}
    read: Counter[str] = Counter()
    with company.client() as client:
        for page in entity_pages(client, "Term", page_size=5):
            read.update(r["Id"] for r in page)
    assert set(read) == expected
    assert max(read.values()) == 1


def test_inactive_list_records_are_read(company):
    account = company.backend.records("Account")[3]["Id"]
    company.control("DELETE", f"entities/Account/{account}")
    with company.client() as client:
        read = {r["Id"]: r for page in entity_pages(client, "Account") for r in page}
    assert read[account]["Active"] is False
    assert len(read) == len(company.backend.records("Account"))
