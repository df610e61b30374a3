"""Goal assets: generated from goal_models/ when the code location loads, computed by the
sync of the organization they belong to (the emulator's demo company is organization `demo`,
whose account ids goal_models/demo uses), tied out to the emulator's own reports, checked,
and kept (flagged stale) when the organization is disconnected."""

from __future__ import annotations

from datetime import date

import duckdb
import httpx
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs import defs
from qb_pipeline.defs.goals.assets import (
    GOAL_VALUES_KEY,
    fiscal_year_start_month,
    load_goal_definitions,
)
from qb_pipeline.defs.instance import open_instance
from qb_pipeline.goals.periods import month_end
from qb_pipeline.sandbox import DEMO_CLIENT_ID
from qb_pipeline.sync import sync_org
from tests.conftest import TEST_TODAY
from tests.connections.conftest import ADMIN, add_team, connect_company

DEMO = "demo"
DEMO_GOALS = load_goal_definitions()
DEMO_GOAL_IDS = sorted(g.id for g in DEMO_GOALS if g.organization == DEMO)
MART_KEYS = {AssetKey(["marts", "pnl_monthly"]), AssetKey(["marts", "balance_sheet_monthly"])}

GOAL_VALUES = """
SELECT goal_id, period_start, actual, target, status, is_stale, stale_reason, stale_since
FROM marts.goal_values
WHERE org_id = ?
ORDER BY goal_id, period_start
"""


@pytest.fixture
def demo_org(emulator, make_env) -> IntegrationService:
    """Organization `demo` connected to the shared emulator's demo company."""
    service = IntegrationService(make_env(emulator.url))
    add_team(service, DEMO)
    connect_company(service, DEMO)
    return service


def sync_demo():
    outcome = sync_org(DEMO, today=TEST_TODAY, lock_wait_seconds=0.5)
    assert outcome.succeeded, outcome.message
    return outcome


def serving_rows(service: IntegrationService) -> list[tuple]:
    with duckdb.connect(str(service.config.serving_path), read_only=True) as con:
        return con.execute(GOAL_VALUES, [DEMO]).fetchall()


def test_the_code_location_has_one_asset_per_demo_goal_downstream_of_the_marts():
    graph = defs.resolve_asset_graph()
    keys = {k for k in graph.get_all_asset_keys() if k.path[0] == "goals"}

    assert DEMO_GOAL_IDS, "goal_models/demo has goals"
    assert keys == {AssetKey(["goals", goal_id]) for goal_id in DEMO_GOAL_IDS}
    for key in keys:
        node = graph.get(key)
        assert node.group_name == "goals"
        assert node.partitions_def.name == "organizations"
        assert node.parent_keys & MART_KEYS, key
        assert node.parent_keys <= graph.get_all_asset_keys(), key  # no phantom upstream
        assert node.description
    # The serving copy waits for the goals step through the always-emitted BI view asset.
    assert GOAL_VALUES_KEY in graph.get(AssetKey(["serving", "warehouse"])).parent_keys
    assert graph.get(GOAL_VALUES_KEY).group_name == "goals"
    (goal_values,) = [a for a in defs.assets if a.keys & keys]
    assert goal_values.keys == keys | {GOAL_VALUES_KEY}  # every goal in one step
    assert goal_values.op.pool == "duckdb_writer"
    for job in ("quickbooks_sync", "goals_refresh"):
        assert keys <= defs.resolve_job_def(job).asset_layer.asset_graph.get_all_asset_keys()
    # The health-check job runs checks only: it must not carry the goal op, whose outputs
    # grow with every goal file (bench/README.md, the code location).
    health = defs.resolve_job_def("quickbooks_health_checks")
    assert goal_values.op.name not in {node.name for node in health.nodes_in_topological_order}


def test_goal_assets_are_tagged_with_what_they_read():
    graph = defs.resolve_asset_graph()

    assert DEMO_GOALS
    for goal in DEMO_GOALS:
        goal_id = goal.id
        tags = graph.get(AssetKey(["goals", goal_id])).tags
        assert tags["goal/dataset"] == goal.dataset
        assert tags["goal/grain"] == goal.grain
        assert tags["goal/window"] == goal.window
        assert tags["goal/organization"] == goal.organization


@pytest.mark.slow
def test_a_sync_computes_every_demo_goal_with_metadata_and_passing_checks(emulator, demo_org):
    outcome = sync_demo()

    rows = serving_rows(demo_org)
    assert {row[0] for row in rows} == set(DEMO_GOAL_IDS)
    assert not any(row[5] for row in rows)  # fresh, not stale
    settings = demo_org.config
    with open_instance(settings) as instance:
        for goal_id in DEMO_GOAL_IDS:
            event = instance.get_latest_materialization_event(AssetKey(["goals", goal_id]))
            assert event is not None, goal_id
            assert (event.run_id, event.asset_materialization.partition) == (
                outcome.run_id,
                DEMO,
            )
            metadata = event.asset_materialization.metadata
            assert {"goal/period", "goal/actual", "goal/target", "goal/status"} <= set(metadata)
            latest = [r for r in rows if r[0] == goal_id and r[2] is not None][-1]
            assert metadata["goal/actual"].value == pytest.approx(latest[2])
            assert metadata["goal/status"].value == latest[4]
        checks, failed = check_results(instance, outcome.run_id)
    assert checks, "the goal checks ran"
    assert not failed
    expected = {("revenue-monthly", "ties_out"), ("checking-balance", "ties_out")}
    assert expected <= set(checks)
    assert {g for g, name in checks if name == "account_or_line_exists"} == set(DEMO_GOAL_IDS)

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        realm = demo_org.status(DEMO).realm_id
        assert fiscal_year_start_month(con, DEMO, realm) == 1  # the company's, as imported


@pytest.mark.slow
def test_a_monthly_income_goal_equals_the_emulators_profit_and_loss(emulator, demo_org):
    sync_demo()
    realm = demo_org.status(DEMO).realm_id

    rows = [r for r in serving_rows(demo_org) if r[0] == "revenue-monthly"]
    months = [r for r in rows if r[2] is not None][-3:]  # the latest months with data
    assert months
    for _goal, start, actual, *_ in months:
        assert actual == pytest.approx(emulator_income(emulator.url, realm, start), abs=0.005)


def emulator_income(url: str, realm: str, start: date) -> float:
    """Total Income of the emulator's accrual ProfitAndLoss for one month."""
    issued = httpx.post(
        f"{url}/_emulator/tokens", json={"client_id": DEMO_CLIENT_ID, "realmId": realm}
    ).raise_for_status()
    report = httpx.get(
        f"{url}/v3/company/{realm}/reports/ProfitAndLoss",
        params={
            "start_date": start.isoformat(),
            "end_date": month_end(start).isoformat(),
            "accounting_method": "Accrual",
        },
        headers={
            "Authorization": f"Bearer {issued.json()['access_token']}",
            "Accept": "application/json",
        },
    ).raise_for_status()
    (income,) = [row for row in report.json()["Rows"]["Row"] if row.get("group") == "Income"]
    return float(income["Summary"]["ColData"][1]["value"] or 0)


@pytest.mark.slow
def test_after_a_disconnect_a_goal_run_keeps_the_values_and_flags_them_stale(
    make_emulator, make_env
):
    running = make_emulator(limits_enabled=False)
    service = IntegrationService(make_env(running.url))
    add_team(service, DEMO)
    connect_company(service, DEMO)
    sync_demo()
    before = serving_rows(service)
    disconnected = service.disconnect(DEMO, ADMIN)

    with open_instance(service.config) as instance:
        result = run_goals_refresh(instance, service)
        assert result.success
        checks, failed = check_results(instance, result.run_id)

    after = serving_rows(service)
    assert [r[:5] for r in after] == [r[:5] for r in before]  # same values, not recomputed
    assert {r[5:] for r in after} == {(True, "disconnected", disconnected.disconnected_at)}
    assert checks
    assert not failed


def run_goals_refresh(instance: DagsterInstance, service: IntegrationService):
    config = {"home": str(service.config.home), "lock_wait_seconds": 0.5}
    return defs.resolve_job_def("goals_refresh").execute_in_process(
        run_config={"resources": {"quickbooks": {"config": config}}},
        instance=instance,
        partition_key=DEMO,
        raise_on_error=False,
    )


def check_results(
    instance: DagsterInstance, run_id: str
) -> tuple[dict[tuple[str, str], bool], dict[tuple[str, str], dict]]:
    """(goal id, check name) -> passed, for the goal checks evaluated in a run; and the
    metadata of the failed ones (what the assertions show)."""
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    results, failed = {}, {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        key = evaluation.asset_check_key
        if key.asset_key.path[0] == "goals":
            if not evaluation.passed:
                failed[(key.asset_key.path[1], key.name)] = {
                    name: value.value for name, value in evaluation.metadata.items()
                }
            results[(key.asset_key.path[1], key.name)] = evaluation.passed
    return results, failed
