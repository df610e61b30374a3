"""After QuickBooks changes (new, edited and deleted records; the clock moves on), the next
sync brings exactly those changes: no duplicates, deleted transactions gone, far fewer
requests than the first sync."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import pytest

from qb_pipeline.sources.quickbooks import ALL_ENTITIES
from qb_pipeline.sources.quickbooks.settings import TABLE_NAMES
from qb_pipeline.sync.pipeline import pipeline_name
from tests.sources.conftest import (
    Company,
    SyncResult,
    Warehouse,
    backend_versions,
    make_warehouse,
    realms,
    stored_versions,
)

ORG = "acme"


@dataclass
class Scenario:
    warehouse: Warehouse
    company: Company
    full: SyncResult
    incremental: SyncResult
    activity: dict
    deleted: dict[str, list[str]]  # entity -> ids deleted by the activity


@pytest.fixture(scope="module")
def scenario(private_emulator, tmp_path_factory) -> Scenario:
    running = private_emulator()
    company = Company(running, realms(running)[0])
    warehouse = make_warehouse(tmp_path_factory.mktemp("incremental") / "qbp-home")
    full = warehouse.sync(ORG, company)
    before = {e: set(backend_versions(company.backend, e)) for e in ALL_ENTITIES}
    activity = company.activity(days=10, change_ratio=0.05)
    deleted = {
        e: sorted(before[e] - set(backend_versions(company.backend, e))) for e in ALL_ENTITIES
    }
    # Dagster's dlt resource drops the local pipeline state before each run: the cursors
    # and CDC checkpoints must come back from the warehouse.
    shutil.rmtree(warehouse.settings.dlt_dir(ORG) / pipeline_name(ORG, company.realm_id))
    incremental = warehouse.sync(ORG, company)
    return Scenario(warehouse, company, full, incremental, activity, deleted)


def test_incremental_sync_reflects_every_change_with_no_duplicates(scenario):
    for entity in ALL_ENTITIES:
        expected = backend_versions(scenario.company.backend, entity)
        stored = stored_versions(scenario.warehouse, entity, ORG, scenario.company.realm_id)
        assert stored == expected, entity


def test_activity_created_modified_and_deleted_records(scenario):
    """The scenario really exercises all three kinds of change."""
    assert scenario.activity["created"]
    assert scenario.activity["modified"]
    assert sum(len(ids) for ids in scenario.deleted.values()) >= 3


def test_deleted_transactions_and_their_lines_are_gone(scenario):
    for entity, ids in scenario.deleted.items():
        if not ids:
            continue
        table = TABLE_NAMES[entity]
        placeholders = ", ".join("?" for _ in ids)
        left = scenario.warehouse.query(
            f"SELECT count(*) FROM qbo_raw.{table} WHERE id IN ({placeholders})", *ids
        )
        assert left[0][0] == 0, entity
        orphans = scenario.warehouse.query(
            f"SELECT count(*) FROM qbo_raw.{table}__line AS l"
            f" LEFT JOIN qbo_raw.{table} AS p ON l._dlt_root_id = p._dlt_id"
            " WHERE p._dlt_id IS NULL"
        )
        assert orphans[0][0] == 0, f"{table}__line keeps lines of deleted records"


def test_modified_records_keep_one_row_with_the_new_version(scenario):
    backend = scenario.company.backend
    edited = [p for p in backend.records("Purchase") if int(p["SyncToken"]) > 0]
    assert edited
    for purchase in edited[:5]:
        rows = scenario.warehouse.query(
            "SELECT sync_token, total_amt FROM qbo_raw.purchase WHERE id = ?", purchase["Id"]
        )
        assert rows == [(purchase["SyncToken"], pytest.approx(purchase["TotalAmt"]))]


def test_incremental_sync_makes_far_fewer_requests_than_the_full_one(scenario):
    assert scenario.incremental.requests * 4 <= scenario.full.requests, (
        scenario.full.requests,
        scenario.incremental.requests,
    )


def test_incremental_sync_asks_cdc_once_instead_of_querying_every_entity(scenario):
    log = scenario.company.emulator.state.request_log
    last_sync = log[-scenario.incremental.requests :]
    paths = [entry.path.split("/v3/company/")[1].split("?")[0] for entry in last_sync]
    realm = scenario.company.realm_id
    assert paths.count(f"{realm}/cdc") == 1
    # Only the entities CDC cannot answer for are read: accounts (balances), tax codes and
    # rates, with CompanyInfo and Preferences, all in one batch request and no query.
    assert paths.count(f"{realm}/query") == 0
    assert paths.count(f"{realm}/batch") == 1
    assert not any(path.startswith(f"{realm}/preferences") for path in paths)
