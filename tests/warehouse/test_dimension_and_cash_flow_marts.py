"""marts.pnl_monthly_by_dimension (design contract) and marts.cash_flow_monthly (an addition):
their columns, keys, Dagster assets, the CashFlow report they come from, and a goal filtered
by class computed from them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey

from qb_pipeline.defs import defs
from qb_pipeline.defs.keys import GOAL_VALUES, PNL_BY_DIMENSION_MART
from qb_pipeline.defs.quickbooks.assets.sql_models import build_model_assets
from qb_pipeline.goals.catalog import load_catalog
from qb_pipeline.goals.compute import compute
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.quickbooks import flatten_report
from qb_pipeline.sources.quickbooks.helpers.periods import add_months, month_end

# The BI contract's columns come first; the extra ones follow (docs/warehouse.md).
CONTRACT_FIRST = {
    "marts.pnl_monthly_by_dimension": (
        ["org_id", "realm_id", "basis", "month", "account_id", "dimension", "dimension_id",
         "dimension_name", "amount"],
        ["account_name", "report_group", "currency"],
    ),
    # What goals/marts.py reads (shaped like marts.pnl_monthly).
    "marts.cash_flow_monthly": (
        ["org_id", "realm_id", "basis", "month", "account_id", "account_name", "report_group",
         "amount", "currency"],
        [],
    ),
}  # fmt: skip

KEYS = {
    "marts.pnl_monthly_by_dimension": "org_id, realm_id, basis, month, account_id, dimension, "
    "dimension_id",
    "marts.cash_flow_monthly": "org_id, realm_id, basis, month, account_id, report_group",
}


@pytest.mark.parametrize("name", sorted(CONTRACT_FIRST))
def test_new_marts_have_the_contract_columns_first(built, name):
    contract, extra = CONTRACT_FIRST[name]
    columns = [row[0] for row in built.warehouse.query(f"DESCRIBE {name}")]
    assert columns == contract + extra


@pytest.mark.parametrize("name", sorted(KEYS))
def test_new_marts_have_one_row_per_key(built, name):
    duplicates = built.warehouse.query(
        f"SELECT {KEYS[name]}, count(*) FROM {name} GROUP BY ALL HAVING count(*) > 1"
    )
    assert duplicates == []
    assert built.warehouse.query(f"SELECT count(*) FROM {name}")[0][0] > 0


def test_each_new_model_is_a_dagster_asset_downstream_of_what_it_reads():
    deps = {
        spec.key.to_user_string(): {d.asset_key.to_user_string() for d in spec.deps}
        for asset in build_model_assets()
        for spec in asset.specs
    }
    assert deps["qbo/pnl_monthly_by_dimension"] == {
        "qbo_raw/report_dimension_lines",
        "qbo/accounts",
    }
    assert deps["marts/pnl_monthly_by_dimension"] == {"qbo/pnl_monthly_by_dimension"}
    assert deps["qbo/cash_flow_monthly"] == {"qbo/report_lines", "qbo/accounts"}
    assert deps["marts/cash_flow_monthly"] == {"qbo/cash_flow_monthly"}
    # The sync is closed only once these are built too.
    assert {"marts/pnl_monthly_by_dimension", "marts/cash_flow_monthly"} <= deps[
        "qbo/connection_status"
    ]


# -- cash flow -------------------------------------------------------------------------------
def cash_flow_report(company, start: date, end: date) -> dict[tuple, Decimal]:
    """{(account_id, group): amount} of QuickBooks' CashFlow over [start, end]: the account
    lines and the Net Income line, and ('CashIncrease', ...) for the computed total."""
    report = company.report(
        "CashFlow", start_date=start.isoformat(), end_date=end.isoformat(),
        summarize_column_by="Total",
    )  # fmt: skip
    found: dict[tuple, Decimal] = {}
    for line in flatten_report(report):
        if line["amount"] is None:
            continue
        if not line["is_summary"]:
            found[(line["account_id"], line["group"])] = line["amount"]
        elif line["group"] == "CashIncrease":
            found[("total", "CashIncrease")] = line["amount"]
    return found


@pytest.mark.parametrize("org", ["acme", "alder"])
def test_cash_flow_monthly_equals_the_cash_flow_report_each_month(built, org):
    company = built.tenants[org]
    today = company.backend.today()
    for back in (0, 1, 5, 13, 40):
        month = add_months(today.replace(day=1), -back)
        expected = cash_flow_report(company, month, min(month_end(month), today))
        increase = expected.pop(("total", "CashIncrease"))
        rows = built.warehouse.query(
            "SELECT account_id, report_group, amount FROM marts.cash_flow_monthly"
            " WHERE org_id = ? AND month = ?",
            org,
            month,
        )
        assert {(a, g): amount for a, g, amount in rows} == expected, month
        # Every line of the month adds up to QuickBooks' "Net cash increase for period".
        assert sum(amount for *_, amount in rows) == increase, month


# -- goals filtered by class -------------------------------------------------------------------
def class_goal(class_id: str, grain: str = "month", tracks: dict | None = None) -> GoalDefinition:
    return GoalDefinition.model_validate(
        {
            "id": f"income-{grain}",
            "name": "Income of one class",
            "organization": "acme",
            "dataset": "profit_and_loss",
            "tracks": tracks or {"line": {"group": "Income"}},
            "basis": "accrual",
            "grain": grain,
            "filters": {"class_id": class_id},
        }
    )


def income_of_class(company, class_id: str, start: date, end: date) -> Decimal:
    """QuickBooks' own Total Income for the range, filtered to one class."""
    report = company.report(
        "ProfitAndLoss", start_date=start.isoformat(), end_date=end.isoformat(),
        accounting_method="Accrual", summarize_column_by="Total", **{"class": class_id},
    )  # fmt: skip
    return next(
        line["amount"]
        for line in flatten_report(report)
        if line["is_summary"] and line["group"] == "Income" and not line["section_path"][1:]
    )


@pytest.fixture
def goals_warehouse(built, tmp_path: Path) -> Path:
    """A copy of acme's shared warehouse that goals may write to."""
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(built.warehouse.path("acme").read_bytes())
    return copy


@pytest.mark.parametrize(("grain", "start", "end"), [
    ("month", date(2026, 3, 1), date(2026, 3, 31)),
    ("quarter", date(2025, 10, 1), date(2025, 12, 31)),
    ("year", date(2024, 1, 1), date(2024, 12, 31)),
])  # fmt: skip
def test_a_goal_filtered_by_class_equals_the_emulators_figure_for_that_class(
    built, goals_warehouse, grain, start, end
):
    company = built.tenants["acme"]
    retail = company.backend.records("Class")[0]["Id"]
    goal = class_goal(retail, grain)
    with duckdb.connect(str(goals_warehouse)) as con:
        assert ("class", retail) in load_catalog(con, "acme").dimensions
        compute(con, "acme", [goal])
        actual = con.execute(
            "SELECT actual FROM marts.goal_values WHERE goal_id = ? AND period_start = ?",
            [goal.id, start],
        ).fetchone()
    expected = income_of_class(company, retail, start, end)
    assert actual is not None
    assert Decimal(str(actual[0])).quantize(Decimal("0.01")) == expected


def test_a_goal_on_an_account_filtered_by_department_equals_the_emulators_figure(
    built, goals_warehouse
):
    company = built.tenants["acme"]
    department = company.backend.records("Department")[0]["Id"]
    month_start, month_last = date(2026, 6, 1), date(2026, 6, 30)
    report = company.report(
        "ProfitAndLoss", start_date=month_start.isoformat(), end_date=month_last.isoformat(),
        accounting_method="Accrual", summarize_column_by="Total", department=department,
    )  # fmt: skip
    account_id, amount = next(
        (line["account_id"], line["amount"])
        for line in flatten_report(report)
        if line["account_id"] and not line["is_summary"] and line["amount"]
    )
    goal = GoalDefinition.model_validate(
        {
            "id": "one-account",
            "name": "One account in one location",
            "organization": "acme",
            "dataset": "profit_and_loss",
            "tracks": {"account": {"account_id": account_id}},
            "basis": "accrual",
            "grain": "month",
            "filters": {"department_id": department},
        }
    )
    with duckdb.connect(str(goals_warehouse)) as con:
        compute(con, "acme", [goal])
        actual = con.execute(
            "SELECT actual FROM marts.goal_values WHERE goal_id = ? AND period_start = ?",
            [goal.id, month_start],
        ).fetchone()
    assert Decimal(str(actual[0])).quantize(Decimal("0.01")) == amount


def test_the_goal_assets_read_the_by_dimension_mart():
    """Goals filtered by class or department read it, so the goal step waits for it (the
    goal graph is fixed: it depends on every mart any goal may read)."""
    parents = defs.resolve_asset_graph().get(GOAL_VALUES).parent_keys
    assert PNL_BY_DIMENSION_MART in parents
    assert AssetKey(["marts", "pnl_monthly"]) in parents


def test_the_not_specified_amounts_are_no_filter_choice(built, goals_warehouse):
    with duckdb.connect(str(goals_warehouse)) as con:
        catalog = load_catalog(con, "acme")
    assert catalog.dimensions
    assert all(dim_id is not None for _, dim_id in catalog.dimensions)
    records = built.tenants["acme"].backend.records("Class")
    assert set(catalog.dimension_choices("class")) <= {
        f"{r['Id']} {r['FullyQualifiedName']}" for r in records
    }
