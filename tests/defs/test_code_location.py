"""The code location loads: readable asset keys in their groups, no phantom upstream assets,
documented columns, every warehouse writer in the one-slot pool, the job and the sensor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey

from qb_pipeline.defs import defs
from qb_pipeline.defs.instance import prepare_dagster_home
from qb_pipeline.sources.quickbooks.helpers.dimension_rows import DIMENSION_LINES_TABLE
from qb_pipeline.sources.quickbooks.settings import ALL_ENTITIES, REPORT_LINES_TABLE, TABLE_NAMES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def keys(graph) -> set[str]:
    return {key.to_user_string() for key in graph.get_all_asset_keys()}


def test_raw_tables_have_readable_keys_in_their_group(graph):
    raw = {k for k in keys(graph) if k.startswith("qbo_raw/")}

    expected = {f"qbo_raw/{TABLE_NAMES[e]}" for e in ALL_ENTITIES} | {
        f"qbo_raw/{REPORT_LINES_TABLE}",
        f"qbo_raw/{DIMENSION_LINES_TABLE}",
    }
    assert raw == expected
    assert {graph.get(AssetKey.from_user_string(k)).group_name for k in raw} == {"quickbooks_raw"}


def test_staging_marts_and_serving_follow_the_raw_tables(graph):
    groups = {
        key.to_user_string(): graph.get(key).group_name
        for key in graph.get_all_asset_keys()
        if key.path[0] != "qbo_raw"
    }

    assert groups == {
        "qbo/accounts": "quickbooks_staging",
        "qbo/report_lines": "quickbooks_staging",
        "qbo/pnl_monthly": "quickbooks_staging",
        "qbo/balance_sheet_monthly": "quickbooks_staging",
        "qbo/pnl_monthly_by_dimension": "quickbooks_staging",
        "qbo/cash_flow_monthly": "quickbooks_staging",
        "qbo/connection_status": "quickbooks_staging",
        "qbo/company": "quickbooks_staging",
        "qbo/budgets": "quickbooks_staging",
        "marts/accounts": "marts",
        "marts/pnl_monthly": "marts",
        "marts/balance_sheet_monthly": "marts",
        "marts/pnl_monthly_by_dimension": "marts",
        "marts/cash_flow_monthly": "marts",
        "marts/connection_status": "marts",
        "marts/company": "marts",
        "marts/budgets": "marts",
        # Written by the goals step (defs/goals, test_goal_assets.py).
        "marts/goal_values": "goals",
        "marts/goal_value_history": "goals",
        "marts/goals": "goals",
        "serving/warehouse": "serving",
        # After the serving copy: the goal alerts of what it published (defs/alerts).
        "alerts/goal_digest": "alerts",
    }
    assert graph.get(AssetKey(["alerts", "goal_digest"])).parent_keys == {
        AssetKey(["serving", "warehouse"])
    }
    parents = graph.get(AssetKey(["qbo", "pnl_monthly"])).parent_keys
    assert parents == {AssetKey(["qbo", "report_lines"]), AssetKey(["qbo", "accounts"])}
    assert (
        AssetKey(["qbo_raw", "report_lines"])
        in graph.get(AssetKey(["qbo", "report_lines"])).parent_keys
    )


def test_no_asset_depends_on_a_key_nothing_defines(graph):
    defined = graph.get_all_asset_keys()

    for key in defined:
        assert graph.get(key).parent_keys <= defined, key
    assert not any(key.path[0].startswith(("dlt_", "quickbooks_")) for key in defined)
    assert all(not graph.get(k).parent_keys for k in defined if k.path[0] == "qbo_raw")


def test_every_asset_is_described_with_its_columns(graph):
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, key
        if key.path[0] in ("qbo", "marts"):
            columns = node.metadata["dagster/column_schema"].columns
            assert columns, key
            assert all(c.description for c in columns), key
    pnl = graph.get(AssetKey(["marts", "pnl_monthly"])).metadata["dagster/column_schema"]
    assert [c.name for c in pnl.columns] == [
        "org_id", "realm_id", "basis", "month", "account_id", "account_name",
        "report_group", "amount", "currency",
    ]  # fmt: skip
    account = graph.get(AssetKey(["qbo_raw", "account"])).metadata
    assert account["dagster/table_name"] == "qbo_raw.account"


def test_every_asset_is_partitioned_by_organization_and_in_no_global_pool(graph):
    # One DuckDB file per organization: a pool shared by all would make them wait in turn.
    for assets_def in defs.assets:
        assert assets_def.partitions_def.name == "organizations"
        assert assets_def.op.pool is None


def test_the_job_covers_every_asset_and_the_sensor_targets_it(graph):
    job = defs.resolve_job_def("quickbooks_sync")
    sensor = defs.resolve_sensor_def("quickbooks_sync_schedule")

    assert job.asset_layer.asset_graph.get_all_asset_keys() >= graph.get_all_asset_keys()
    assert sensor.job_name == "quickbooks_sync"


def test_the_instance_template_allows_one_run_per_organization_and_per_company(instance):
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits

    assert {(limit["key"], limit["limit"]) for limit in limits} == {
        ("dagster/partition", 1),
        ("qbp/realm", 1),
    }
    assert all(limit["value"] == {"applyLimitPerUniqueValue": True} for limit in limits)
    assert instance.get_settings("telemetry") == {"enabled": False}


@pytest.mark.slow
def test_dagster_validates_the_workspace(settings):
    env = {**os.environ, "DAGSTER_HOME": str(prepare_dagster_home(settings))}
    dagster = Path(sys.executable).with_name("dagster")

    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Validation successful for code location qb-pipeline" in done.stdout + done.stderr
    assert not (settings.home / "orgs").exists()  # loading definitions writes no data
