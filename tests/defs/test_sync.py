"""A sync runs the real `quickbooks_sync` job in process on the Dagster instance under
QBP_HOME, against the emulator: raw tables, staging, marts, the sync log, the serving copy.
Organizations that cannot sync stop before any request and change nothing."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import duckdb
import httpx
import pytest
from click.testing import CliRunner
from dagster import AssetKey, DagsterInstance

from qb_pipeline.cli import main
from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs import defs
from qb_pipeline.defs.instance import dagster_home
from qb_pipeline.sync.runner import sync_org
from tests.conftest import TEST_TODAY
from tests.connections.conftest import ADMIN, add_team, connect_company
from tests.defs.conftest import ORG, emulator_requests
from tests.defs.duckdb_process import DuckDBProcess

pytestmark = pytest.mark.slow

LAST_SYNC = (
    "SELECT last_sync_at, last_sync_status FROM marts.connection_status WHERE org_id = 'acme'"
)


def run_sync(**options):
    return sync_org(ORG, today=TEST_TODAY, lock_wait_seconds=0.5, **options)


def file_digest(path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def test_the_cli_sync_imports_raw_staging_and_marts_and_records_the_sync(emulator, connected):
    settings = connected.config
    realm = connected.status(ORG).realm_id
    requests_before = len(emulator_requests(emulator.url, realm))

    result = CliRunner().invoke(main, ["sync", "--org", ORG, "--today", TEST_TODAY.isoformat()])

    assert result.exit_code == 0, result.output
    steps = len(defs.resolve_job_def("quickbooks_sync").graph.node_dict)
    assert f"[0/{steps}] quickbooks_raw ..." in result.output
    assert "ProfitAndLoss Accrual" in result.output  # the source's progress lines
    assert "serving__warehouse done" in result.output
    assert f"Sync of {ORG} succeeded:" in result.output

    # The sync log: succeeded, with rows per table and the requests the emulator saw.
    last = connected.status(ORG).last_sync
    requests_made = len(emulator_requests(emulator.url, realm)) - requests_before
    assert (last.status, last.realm_id, last.requests) == ("succeeded", realm, requests_made)
    assert last.rows["account"] > 0
    assert last.rows["invoice"] > 0
    assert last.rows["invoice__line"] > 0
    datasets = {d.name: d.row_count for d in connected.status(ORG).datasets_available}
    assert datasets["profit_and_loss"] > 0
    assert datasets["account"] == last.rows["account"]

    # Dagster: one run on the persistent instance, every asset materialized for the partition.
    with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
        (run,) = instance.get_runs()
        assert run.job_name == "quickbooks_sync"
        assert run.tags["dagster/partition"] == ORG
        for key in defs.resolve_asset_graph().get_all_asset_keys():
            if key.path[0] == "goals":
                continue  # goal_models/ has goals of `demo` only (test_goal_assets.py)
            event = instance.get_latest_materialization_event(key)
            assert event is not None, key
            assert (event.run_id, event.asset_materialization.partition) == (run.run_id, ORG)
        account = instance.get_latest_materialization_event(AssetKey(["qbo_raw", "account"]))
        metadata = account.asset_materialization.metadata
        assert metadata["dagster/partition_row_count"].value == last.rows["account"]
        assert metadata["qbo/requests"].value == requests_made
        logged = json.dumps(
            [
                str(record.event_log_entry)
                for record in instance.get_records_for_run(run.run_id).records
            ]
        )
    assert connected.access_token(ORG).value not in logged

    # The serving copy holds the marts, and the connection status shows this sync.
    with duckdb.connect(str(settings.serving_path(ORG)), read_only=True) as serving:
        pnl_rows = serving.execute(
            "SELECT count(*) FROM marts.pnl_monthly WHERE org_id = ?", [ORG]
        ).fetchone()[0]
        status = serving.execute(
            "SELECT status, last_sync_status FROM marts.connection_status WHERE org_id = ?", [ORG]
        ).fetchall()
    assert pnl_rows > 0
    assert status == [("connected", "succeeded")]


@pytest.mark.parametrize("state", ["disconnected", "reauthorization_required"])
def test_an_organization_that_cannot_sync_stops_before_any_request_and_changes_nothing(
    make_emulator, make_env, state
):
    running = make_emulator(limits_enabled=False)
    service = IntegrationService(make_env(running.url))
    add_team(service, ORG)
    realm = connect_company(service, ORG).realm_id
    if state == "disconnected":
        assert run_sync().succeeded  # data that must stay as it is
        service.disconnect(ORG, ADMIN)
    else:
        httpx.post(f"{running.url}/_emulator/oauth/revoke-refresh-tokens").raise_for_status()
        with pytest.raises(Exception, match="an admin must reconnect"):
            service.access_token(ORG, min_valid=timedelta(days=1))  # forces a refresh
    settings = service.config
    files = (settings.warehouse_path(ORG), settings.serving_path(ORG))
    before = tuple(file_digest(path) for path in files)
    requests_before = len(emulator_requests(running.url, realm))

    outcome = run_sync()

    assert not outcome.succeeded
    assert outcome.failed_steps == ["quickbooks_raw"]
    if state == "disconnected":
        assert "organization acme is not connected to QuickBooks (disconnected)" in outcome.message
    else:
        assert "an admin must reconnect QuickBooks before a sync" in outcome.message
    assert outcome.message.endswith(
        "The sync stopped before any request to QuickBooks; no data changed."
    )
    assert len(emulator_requests(running.url, realm)) == requests_before
    assert tuple(file_digest(path) for path in files) == before
    last = service.status(ORG).last_sync
    assert (last.status, last.message, last.requests) == ("failed", outcome.message, 0)


def test_the_cli_says_why_a_disconnected_organization_cannot_sync(service):
    result = CliRunner().invoke(main, ["sync", "--org", ORG])

    assert result.exit_code == 1
    assert "sync of acme failed" in result.output
    assert "organization acme is not connected to QuickBooks (not connected)" in result.output
    assert not service.config.warehouse_path(ORG).exists()


def test_a_reader_of_the_serving_copy_sees_the_old_data_then_the_new(connected):
    settings = connected.config
    assert run_sync().succeeded
    with DuckDBProcess(settings.serving_path(ORG), read_only=True) as reader:
        first = reader.query(LAST_SYNC)

        outcome = run_sync()

        assert outcome.succeeded, outcome.message
        assert reader.query(LAST_SYNC) == first
        reader.reopen()
        second = reader.query(LAST_SYNC)
    assert second != first
    assert second[0][1] == "succeeded"
    assert (
        second[0][0] == str(connected.status(ORG).last_sync.finished_at.replace(tzinfo=None))[:19]
        or second[0][0] > first[0][0]
    )


def test_another_process_holding_the_warehouse_makes_the_sync_fail_clearly(emulator, connected):
    settings = connected.config
    realm = connected.status(ORG).realm_id
    requests_before = len(emulator_requests(emulator.url, realm))

    settings.warehouse_path(ORG).parent.mkdir(parents=True)
    with DuckDBProcess(settings.warehouse_path(ORG), read_only=False) as holder:
        outcome = run_sync()

    assert not outcome.succeeded
    assert outcome.message == (
        f"the warehouse at {settings.warehouse_path(ORG)} is open in another process "
        f"(pid {holder.pid}); close it, or point readers at the read-only serving copy "
        f"{settings.serving_path(ORG)}. The sync stopped before any request to QuickBooks; no data "
        "changed."
    )
    assert len(emulator_requests(emulator.url, realm)) == requests_before
    last = connected.status(ORG).last_sync
    assert (last.status, last.message) == ("failed", outcome.message)


def test_a_quickbooks_fault_during_the_load_fails_the_sync_with_its_message(
    make_emulator, make_env
):
    running = make_emulator(limits_enabled=False)
    service = IntegrationService(make_env(running.url))
    add_team(service, ORG)
    connect_company(service, ORG)
    fault = {"status": 403, "path_prefix": "reports/", "count": 100}
    httpx.post(f"{running.url}/_emulator/faults", json=fault).raise_for_status()

    outcome = run_sync()

    assert not outcome.succeeded
    assert outcome.failed_steps == ["quickbooks_raw"]
    assert "HTTP 403" in outcome.message
    assert "intuit_tid" in outcome.message
    last = service.status(ORG).last_sync
    assert (last.status, last.message) == ("failed", outcome.message)
    assert last.requests > 0
    assert not service.config.serving_path(ORG).exists()


def test_a_sync_whose_serving_copy_cannot_be_replaced_is_partial_never_succeeded(connected):
    settings = connected.config
    assert run_sync().succeeded
    first = connected.status(ORG).last_sync
    # Something made the serving copy's path a folder: os.replace cannot put the copy there.
    settings.serving_path(ORG).unlink()
    (settings.serving_path(ORG) / "in-the-way").mkdir(parents=True)

    outcome = run_sync()

    assert not outcome.succeeded
    assert outcome.failed_steps == ["serving__warehouse"]
    last = connected.status(ORG).last_sync
    assert last.id != first.id
    assert last.status == "partial"
    assert last.message.startswith("serving__warehouse: ")
    assert last.rows["account"] > 0  # what was imported stays recorded
    assert last.requests > 0
    assert connected.status(ORG).last_success.id == last.id  # imported: freshness counts it
    with duckdb.connect(str(settings.warehouse_path(ORG)), read_only=True) as warehouse:
        shown = warehouse.execute(
            "SELECT last_sync_status FROM marts.connection_status WHERE org_id = ?", [ORG]
        ).fetchall()
    assert shown == [("partial",)]
