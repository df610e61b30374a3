"""A sync that meets an answer of the wrong shape fails, naming the endpoint, and moves
nothing: no rows, no entity cursor, no CDC checkpoint, no report range. The next clean sync
then imports exactly what a clean sync would have. Real dlt pipelines, a corrupting proxy
between them and the emulator."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from qb_pipeline.quickbooks import QuickBooksClient, UnexpectedAnswer
from qb_pipeline.sync.pipeline import pipeline_for_org
from tests.answer_proxy import CorruptingProxy, Rewrite, change, drop, everywhere, replace
from tests.sources.conftest import (
    FAST_RETRIES,
    Company,
    Warehouse,
    contents,
    make_warehouse,
    realms,
)

ORG = "acme"
# Read through every endpoint on each sync: Account and TaxCode in one batch request,
# CompanyInfo (the fiscal year) and Preferences (the tracked dimensions) on their own
# endpoints, the others by query on the first sync and by CDC after; the reports.
ENTITIES = ["Account", "TaxCode", "Customer", "Invoice", "Payment", "JournalEntry"]
OPTIONS: dict[str, Any] = {"entities": ENTITIES, "history_years": 0}


def text_amounts_as_numbers(cell: dict) -> None:
    value = cell.get("value")
    if isinstance(value, str) and value.replace(".", "", 1).lstrip("-").isdigit():
        cell["value"] = float(value)


@dataclass(frozen=True)
class Corruption:
    endpoint: str
    rewrite: Rewrite
    problem: str  # the start of UnexpectedAnswer.problem


# What a later sync reads through each endpoint, broken the way the issue describes.
LATER_SYNC = {
    "batch": Corruption(
        "batch", drop("BatchItemResponse", 1), "$.BatchItemResponse: expected an item for every"
    ),
    "cdc-without-CDCResponse": Corruption(
        "cdc", drop("CDCResponse"), "$.CDCResponse: expected a list, found nothing"
    ),
    "cdc-CDCResponse-an-object": Corruption(
        "cdc",
        change(("CDCResponse",), lambda blocks: blocks[0]),
        "$.CDCResponse: expected a list, found an object",
    ),
    "reports-without-Header": Corruption(
        "reports", drop("Header"), "$.Header: expected an object (the report's Header)"
    ),
    "reports-types-changed": Corruption(
        "reports", everywhere(text_amounts_as_numbers), "$.Rows.Row[0]"
    ),
    "companyinfo": Corruption(
        "companyinfo",
        replace(("CompanyInfo", "FiscalYearStartMonth"), 1),
        "$.CompanyInfo.FiscalYearStartMonth: expected a month name",
    ),
    "preferences": Corruption(
        "preferences",
        drop("Preferences", "MetaData"),
        "$.Preferences.MetaData: expected an object with LastUpdatedTime",
    ),
}


def state_of(warehouse: Warehouse, realm_id: str) -> dict[str, Any]:
    """Everything a sync commits besides rows: the pipeline's state as stored with the last
    load (cursors, CDC checkpoints, pulled report ranges), the local copy, and the load
    packages waiting to be loaded."""
    pipeline = pipeline_for_org(ORG, warehouse.settings, realm_id=realm_id)
    stored: list[tuple] = []
    if warehouse.settings.warehouse_path(ORG).exists() and warehouse.query(
        "SELECT 1 FROM information_schema.tables"
        " WHERE table_schema = 'qbo_raw' AND table_name = '_dlt_pipeline_state'"
    ):
        stored = warehouse.query(
            "SELECT version, state FROM qbo_raw._dlt_pipeline_state ORDER BY version"
        )
    return {
        "stored": stored,
        "local": json.loads(json.dumps(pipeline.state.get("sources", {}), default=str)),
        "pending": (
            pipeline.list_extracted_load_packages() + pipeline.list_normalized_load_packages()
        ),
    }


def proxied_client(company: Company, proxy: CorruptingProxy) -> QuickBooksClient:
    return QuickBooksClient(company.realm_id, proxy.url, company.token, retry_policy=FAST_RETRIES)


def failed_sync(warehouse: Warehouse, company: Company, proxy: CorruptingProxy) -> BaseException:
    """A sync through the proxy that must fail; the UnexpectedAnswer inside dlt's error."""
    with proxied_client(company, proxy) as client, pytest.raises(PipelineStepFailed) as failed:
        warehouse.sync(ORG, company, client=client, **OPTIONS)
    cause: BaseException | None = failed.value
    while cause is not None and not isinstance(cause, UnexpectedAnswer):
        cause = getattr(cause, "exception", None) or cause.__cause__ or cause.__context__
    assert cause is not None, f"no UnexpectedAnswer behind {failed.value!r}"
    assert str(cause) in str(failed.value)  # the message reaches whoever reads dlt's error
    return cause


@dataclass
class Later:
    """A company synced once in full (`base`, a QBP_HOME to copy), then changed (new,
    edited and deleted records); `expected` is a reference's tables after its next sync."""

    company: Company
    proxy: CorruptingProxy
    base: Path
    expected: dict[str, list[tuple]]


@pytest.fixture(scope="module")
def later(private_emulator, tmp_path_factory) -> Iterator[Later]:
    running = private_emulator()
    company = Company(running, realms(running)[0])
    root = tmp_path_factory.mktemp("unexpected-answers")
    reference = make_warehouse(root / "reference")
    reference.sync(ORG, company, **OPTIONS)
    base = root / "after-first-sync"
    shutil.copytree(reference.home, base)
    company.activity(days=3, change_ratio=0.05)
    reference.sync(ORG, company, **OPTIONS)
    with CorruptingProxy(company.url) as proxy:
        yield Later(company, proxy, base, contents(reference))


@pytest.mark.parametrize("corruption", LATER_SYNC.values(), ids=LATER_SYNC.keys())
def test_a_wrong_answer_fails_the_sync_moves_nothing_and_the_next_sync_is_complete(
    later, tmp_path, corruption
):
    warehouse = make_warehouse(tmp_path / "qbp-home")
    shutil.copytree(later.base, warehouse.home)
    rows_before, state_before = contents(warehouse), state_of(warehouse, later.company.realm_id)
    later.proxy.clear()
    later.proxy.rewritten.clear()
    later.proxy.corrupt(corruption.endpoint, corruption.rewrite)

    error = failed_sync(warehouse, later.company, later.proxy)

    assert later.proxy.rewritten[corruption.endpoint] >= 1
    assert f"/v3/company/{later.company.realm_id}/" in error.endpoint
    assert error.problem.startswith(corruption.problem), error.problem
    assert contents(warehouse) == rows_before
    assert state_of(warehouse, later.company.realm_id) == state_before

    later.proxy.clear()
    with proxied_client(later.company, later.proxy) as client:
        warehouse.sync(ORG, later.company, client=client, **OPTIONS)

    assert contents(warehouse) == later.expected


@pytest.fixture(scope="module")
def first_sync(emulator, tmp_path_factory) -> Iterator[tuple[Company, CorruptingProxy, dict]]:
    """The shared (unchanging) emulator behind a proxy, and a clean first sync's tables."""
    company = Company(emulator, realms(emulator)[0])
    reference = make_warehouse(tmp_path_factory.mktemp("first-sync") / "qbp-home")
    reference.sync(ORG, company, **OPTIONS)
    with CorruptingProxy(emulator.url) as proxy:
        yield company, proxy, contents(reference)


def test_a_query_page_cut_short_fails_the_first_sync_and_the_next_one_is_complete(
    first_sync, tmp_path
):
    """A short page ends the paging: taken as it came, the rest of the invoices would never
    be read (later syncs ask CDC for changes only)."""
    company, proxy, expected = first_sync
    invoices = len(company.backend.records("Invoice"))  # one page: fewer than 1,000
    warehouse = make_warehouse(tmp_path / "qbp-home")
    cut_short = change(("QueryResponse", "Invoice"), lambda records: records[: len(records) // 2])
    proxy.corrupt("query", cut_short, when=lambda request: "FROM Invoice" in request)

    error = failed_sync(warehouse, company, proxy)

    assert error.endpoint == f"/v3/company/{company.realm_id}/query"
    assert error.problem == (
        "$.QueryResponse.Invoice: expected as many records as maxResults says "
        f"({invoices}), found {invoices // 2} records"
    )
    assert contents(warehouse) == {}
    assert state_of(warehouse, company.realm_id) == {"stored": [], "local": {}, "pending": []}

    proxy.clear()
    with proxied_client(company, proxy) as client:
        warehouse.sync(ORG, company, client=client, **OPTIONS)

    assert contents(warehouse) == expected
