"""Goal assets: a fixed graph whatever the number of goals, computed from the goal store by the
sync of the organization they belong to (the emulator's demo company is organization `demo`,
whose account ids goal_models/demo uses), tied out to the emulator's own reports, checked,
and kept (flagged stale) when the organization is disconnected."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import httpx
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterEventType, DagsterInstance

from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs import defs
from qb_pipeline.defs.instance import open_instance
from qb_pipeline.defs.keys import GOAL_ASSETS, GOAL_CATALOG, GOAL_VALUE_HISTORY, GOAL_VALUES
from qb_pipeline.goals.catalog import read_fiscal_year_start_month
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.loader import load_goals
from qb_pipeline.goals.periods import month_end
from qb_pipeline.goals.store import GoalStore
from qb_pipeline.sandbox import DEMO_CLIENT_ID
from qb_pipeline.sync.runner import sync_org
from tests.conftest import TEST_TODAY
from tests.connections.conftest import ADMIN, EDITOR, add_team, connect_company

DEMO = "demo"
REPO = Path(__file__).resolve().parents[2]
DEMO_GOALS = [s.goal for s in load_goals([REPO / "goal_models" / "demo"]).goals]
DEMO_GOAL_IDS = sorted(g.id for g in DEMO_GOALS)
MART_KEYS = {AssetKey(["marts", "pnl_monthly"]), AssetKey(["marts", "balance_sheet_monthly"])}
CHECKS = {"all_goals_computed", "account_or_line_exists", "ties_out"}

GOAL_VALUES_SQL = """
SELECT goal_id, period_start, actual, target, status, is_stale, stale_reason, stale_since
FROM marts.goal_values
WHERE org_id = ?
ORDER BY goal_id, period_start
"""


@pytest.fixture
def demo_org(emulator, make_env) -> IntegrationService:
    """Organization `demo` connected to the shared emulator's demo company, with the demo
    goals in its goal store."""
    service = IntegrationService(make_env(emulator.url))
    add_team(service, DEMO)
    status = connect_company(service, DEMO)
    store_goals(service, DEMO_GOALS, status.realm_id)
    return service


def store_goals(service: IntegrationService, goals: list[GoalDefinition], realm: str) -> None:
    store = GoalStore(service.db_path)
    for goal in goals:
        store.create(goal, actor=EDITOR, source="cli", realm_id=realm)


def sync_demo():
    outcome = sync_org(DEMO, today=TEST_TODAY, lock_wait_seconds=0.5)
    assert outcome.succeeded, outcome.message
    return outcome


def serving_rows(service: IntegrationService) -> list[tuple]:
    with duckdb.connect(str(service.config.serving_path(DEMO)), read_only=True) as con:
        return con.execute(GOAL_VALUES_SQL, [DEMO]).fetchall()


def test_the_goal_graph_has_a_fixed_size_downstream_of_the_marts():
    graph = defs.resolve_asset_graph()
    goal_keys = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "goals"}

    assert goal_keys == set(GOAL_ASSETS)
    assert not [k for k in graph.get_all_asset_keys() if k.path[0] == "goals"]
    for key in goal_keys:
        node = graph.get(key)
        assert node.partitions_def.name == "organizations"
        assert node.parent_keys >= MART_KEYS, key
        assert AssetKey(["marts", "company"]) in node.parent_keys  # the fiscal year
        assert node.parent_keys <= graph.get_all_asset_keys(), key  # no phantom upstream
        assert node.description
    assert set(GOAL_ASSETS) <= graph.get(AssetKey(["serving", "warehouse"])).parent_keys
    (goal_values,) = [a for a in defs.assets if a.keys & goal_keys]
    assert goal_values.keys == goal_keys  # one step writes all three
    assert {k.name for k in goal_values.check_keys} == CHECKS
    for job in ("quickbooks_sync", "goals_refresh"):
        assert goal_keys <= defs.resolve_job_def(job).asset_layer.asset_graph.get_all_asset_keys()
    # The health-check job runs checks only: it must not carry the goal op.
    health = defs.resolve_job_def("quickbooks_health_checks")
    assert goal_values.op.name not in {node.name for node in health.nodes_in_topological_order}


@pytest.mark.slow
def test_a_sync_computes_every_stored_goal_with_metadata_and_passing_checks(emulator, demo_org):
    outcome = sync_demo()

    rows = serving_rows(demo_org)
    assert {row[0] for row in rows} == set(DEMO_GOAL_IDS)
    assert not any(row[5] for row in rows)  # fresh, not stale
    settings = demo_org.config
    with open_instance(settings) as instance:
        event = instance.get_latest_materialization_event(GOAL_VALUES)
        assert (event.run_id, event.asset_materialization.partition) == (outcome.run_id, DEMO)
        metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()}
        assert metadata["goal/computed"] == len(DEMO_GOAL_IDS)
        assert metadata["goal/not_computed"] == {}
        assert metadata["goal/ids"] == dict.fromkeys(DEMO_GOAL_IDS, "active")
        counts = metadata["goal/status_counts"]
        assert sum(counts.values()) == len(DEMO_GOAL_IDS)
        assert set(counts) == {"on_track", "at_risk", "off_track", "no_target", "no_data"}
        revenue = [r for r in rows if r[0] == "revenue-monthly" and r[2] is not None][-1]
        assert (
            f"| `revenue-monthly` | Monthly revenue | active | {revenue[1]:%Y-%m-%d} |"
            in (metadata["goal/table"])
        )
        assert metadata["dagster/partition_row_count"] == len(rows)
        history = instance.get_latest_materialization_event(GOAL_VALUE_HISTORY)
        appended = history.asset_materialization.metadata["goal/history_rows_appended"].value
        assert appended == len(rows)  # the first computation: every period is new
        assert instance.get_latest_materialization_event(GOAL_CATALOG) is not None
        checks = check_results(instance, outcome.run_id)
    assert checks == dict.fromkeys(CHECKS, True)

    with duckdb.connect(str(settings.warehouse_path(DEMO)), read_only=True) as con:
        realm = demo_org.status(DEMO).realm_id
        assert read_fiscal_year_start_month(con, DEMO, realm) == 1  # the company's, as imported
        catalog = con.execute(
            "SELECT goal_id, state, version FROM marts.goals WHERE org_id = ? ORDER BY 1", [DEMO]
        ).fetchall()
    assert catalog == [(goal_id, "active", 1) for goal_id in DEMO_GOAL_IDS]


@pytest.mark.slow
def test_a_goal_stored_after_a_sync_is_computed_by_the_next_goal_run_without_a_reload(
    emulator, make_env
):
    service = IntegrationService(make_env(emulator.url))
    add_team(service, DEMO)
    status = connect_company(service, DEMO)
    sync_demo()
    assert serving_rows(service) == []  # no goals yet
    store_goals(service, [g for g in DEMO_GOALS if g.id == "revenue-monthly"], status.realm_id)

    with open_instance(service.config) as instance:
        result = run_goals_refresh(instance, service)  # the same code location, not reloaded
        assert result.success

    assert {r[0] for r in serving_rows(service)} == {"revenue-monthly"}


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
def test_a_goal_the_data_no_longer_supports_is_named_and_the_others_computed(emulator, demo_org):
    store = GoalStore(demo_org.db_path)
    realm = demo_org.status(DEMO).realm_id
    ghost = GoalDefinition.model_validate(
        {
            "id": "ghost",
            "name": "An account the company does not have",
            "organization": DEMO,
            "dataset": "profit_and_loss",
            "grain": "month",
            "tracks": {"account": {"account_id": "99999"}},
        }
    )
    store.create(ghost, actor=EDITOR, source="cli", realm_id=realm)

    outcome = sync_demo()

    assert {r[0] for r in serving_rows(demo_org)} == set(DEMO_GOAL_IDS)
    with open_instance(demo_org.config) as instance:
        checks = check_results(instance, outcome.run_id)
        event = instance.get_latest_materialization_event(GOAL_VALUES)
    not_computed = event.asset_materialization.metadata["goal/not_computed"].value
    assert list(not_computed) == ["ghost"]
    assert "'99999' is not an account of demo's connected company" in not_computed["ghost"]
    assert checks["all_goals_computed"] is False
    assert checks["account_or_line_exists"] is False
    assert checks["ties_out"] is True


@pytest.mark.slow
def test_after_a_disconnect_a_goal_run_keeps_the_values_and_flags_them_stale(
    make_emulator, make_env
):
    running = make_emulator(limits_enabled=False)
    service = IntegrationService(make_env(running.url))
    add_team(service, DEMO)
    status = connect_company(service, DEMO)
    store_goals(service, DEMO_GOALS, status.realm_id)
    sync_demo()
    before = serving_rows(service)
    disconnected = service.disconnect(DEMO, ADMIN)

    with open_instance(service.config) as instance:
        result = run_goals_refresh(instance, service)
        assert result.success
        checks = check_results(instance, result.run_id)

    after = serving_rows(service)
    assert [r[:5] for r in after] == [r[:5] for r in before]  # same values, not recomputed
    assert {r[5:] for r in after} == {(True, "disconnected", disconnected.disconnected_at)}
    assert checks == dict.fromkeys(CHECKS, True)


def run_goals_refresh(instance: DagsterInstance, service: IntegrationService):
    config = {"home": str(service.config.home), "lock_wait_seconds": 0.5}
    return defs.resolve_job_def("goals_refresh").execute_in_process(
        run_config={"resources": {"quickbooks": {"config": config}}},
        instance=instance,
        partition_key=DEMO,
        raise_on_error=False,
    )


def check_results(instance: DagsterInstance, run_id: str) -> dict[str, bool]:
    """Check name -> passed, for the goal checks evaluated in a run (one partition)."""
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    results = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        key: AssetCheckKey = evaluation.asset_check_key
        if key.asset_key == GOAL_VALUES and key.name in CHECKS:
            results[key.name] = evaluation.passed
    return results
