"""The staging and mart views: the design's column contract, documented columns, keys,
portability, and a clear error before the first sync."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import duckdb
import pytest

from qb_pipeline.warehouse import (
    WarehouseNotReady,
    load_models,
    model,
    model_row_count,
    run_sql_models,
)

# The BI contract's columns (docs/warehouse.md).
CONTRACT = {
    "marts.accounts": [
        "org_id", "realm_id", "account_id", "name", "fully_qualified_name", "account_type",
        "account_sub_type", "classification", "parent_account_id", "active", "current_balance",
        "currency", "updated_at",
    ],
    "marts.pnl_monthly": [
        "org_id", "realm_id", "basis", "month", "account_id", "account_name", "report_group",
        "amount", "currency",
    ],
    "marts.balance_sheet_monthly": [
        "org_id", "realm_id", "basis", "month_end", "account_id", "account_name",
        "report_group", "balance", "currency",
    ],
    "marts.connection_status": [
        "org_id", "realm_id", "company_name", "status", "connected_at", "last_sync_at",
        "last_sync_status", "datasets_available",
    ],
}  # fmt: skip

KEYS = {
    "qbo.accounts": ["org_id", "realm_id", "account_id"],
    "qbo.report_lines": ["org_id", "realm_id", "report_name", "basis", "period_start",
                         "line_key"],
    "marts.accounts": ["org_id", "realm_id", "account_id"],
    "marts.pnl_monthly": ["org_id", "realm_id", "basis", "month", "account_id"],
    "marts.balance_sheet_monthly": ["org_id", "realm_id", "basis", "month_end", "account_id"],
}  # fmt: skip


def columns_of(warehouse, name: str) -> list[str]:
    return [row[0] for row in warehouse.query(f"DESCRIBE {name}")]


def test_marts_have_exactly_the_columns_of_the_design_contract(built):
    for name, columns in CONTRACT.items():
        assert columns_of(built.warehouse, name) == columns, name


def test_every_model_documents_exactly_the_columns_it_produces(built):
    for item in load_models():
        assert list(item.columns) == columns_of(built.warehouse, item.name), item.name
        assert all(text.strip() for text in item.columns.values()), item.name
        assert item.description


@pytest.mark.parametrize("name", sorted(KEYS))
def test_each_view_has_one_row_per_key(built, name):
    key = ", ".join(KEYS[name])
    duplicates = built.warehouse.query(
        f"SELECT {key}, count(*) FROM {name} GROUP BY {key} HAVING count(*) > 1"
    )
    assert duplicates == []
    assert built.warehouse.query(f"SELECT count(*) FROM {name}")[0][0] > 0


def test_rows_of_each_organization_belong_to_its_own_company(built):
    for org, company in built.tenants.items():
        for name in ("marts.accounts", "marts.pnl_monthly", "marts.balance_sheet_monthly"):
            realms = built.warehouse.query(f"SELECT DISTINCT realm_id FROM {name} WHERE org_id = ?",
                                           org)  # fmt: skip
            assert realms == [(company.realm_id,)], (org, name)


def test_row_counts_can_be_taken_per_organization(built):
    with built.warehouse.connect() as con:
        accounts = model("marts.accounts")
        per_org = [model_row_count(con, accounts, org) for org in built.tenants]
        assert sum(per_org) == model_row_count(con, accounts)
    assert per_org[0] == len(built.tenants["acme"].backend.records("Account"))


def test_basis_is_lower_case_and_months_start_on_the_first(built):
    assert built.warehouse.query("SELECT DISTINCT basis FROM marts.pnl_monthly ORDER BY 1") == [
        ("accrual",),
        ("cash",),
    ]
    assert built.warehouse.query(
        "SELECT count(*) FROM marts.pnl_monthly WHERE extract(day FROM month) <> 1"
    ) == [(0,)]


def test_models_can_be_rebuilt_any_number_of_times(built, tmp_path):
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(built.warehouse.path("acme").read_bytes())
    with duckdb.connect(str(copy)) as con:
        before = con.execute("SELECT count(*), sum(amount) FROM marts.pnl_monthly").fetchone()
        run_sql_models(con)
        run_sql_models(con, "marts")
        assert con.execute("SELECT count(*), sum(amount) FROM marts.pnl_monthly").fetchone() == (
            before
        )


def test_building_before_the_first_sync_says_what_is_missing(tmp_path):
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        with pytest.raises(WarehouseNotReady, match=r"qbo\.accounts .*qbo_raw\.account.*sync"):
            run_sql_models(con)
        # Nothing half-built stays behind.
        assert con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema IN ('qbo', 'marts')"
        ).fetchone() == (0,)


def test_mart_sql_runs_unchanged_on_another_engine(built):
    """Marts are plain standard SQL: SQLite runs them over copies of the staging rows."""
    sqlite3.register_adapter(Decimal, str)
    lite = sqlite3.connect(":memory:")
    lite.execute("ATTACH DATABASE ':memory:' AS qbo")
    marts = [m for m in load_models() if m.layer == "marts"]
    with built.warehouse.connect() as con:
        for mart in marts:
            for source in mart.depends_on:
                staged = model(source)
                columns = list(staged.columns)
                lite.execute(f"CREATE TABLE IF NOT EXISTS {source} ({', '.join(columns)})")
                rows = con.execute(f"SELECT {', '.join(columns)} FROM {source}").fetchall()
                marks = ", ".join("?" for _ in columns)
                lite.executemany(f"INSERT INTO {source} VALUES ({marks})", rows)
            expected = con.execute(f"SELECT count(*) FROM {mart.name}").fetchone()[0]
            cursor = lite.execute(mart.sql)
            assert [d[0] for d in cursor.description] == list(mart.columns), mart.name
            assert len(cursor.fetchall()) == expected, mart.name
