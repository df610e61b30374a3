"""A first sync loads exactly what QuickBooks has: every record, every account, every line.

Two organizations sync two companies of the shared emulator (fiscal years starting in
January and July) into one warehouse, as two tenants of one deployment would.
"""

from __future__ import annotations

import pytest

from qb_pipeline.sources.quickbooks import ALL_ENTITIES
from qb_pipeline.sources.quickbooks.settings import TABLE_NAMES
from tests.sources.conftest import backend_versions, stored_versions


@pytest.mark.parametrize("org", ["acme", "alder"])
def test_full_sync_loads_every_record_of_every_entity(synced, org):
    company = synced.tenants[org]
    for entity in ALL_ENTITIES:
        expected = backend_versions(company.backend, entity)
        assert stored_versions(synced.warehouse, entity, org, company.realm_id) == expected, entity


def test_full_sync_loads_every_account_as_quickbooks_has_it(synced):
    company = synced.tenants["acme"]
    rows = synced.warehouse.query(
        "SELECT id, name, fully_qualified_name, account_type, account_sub_type, classification,"
        " parent_ref__value, active, current_balance, currency_ref__value"
        " FROM qbo_raw.account WHERE org_id = 'acme'"
    )
    stored = {row[0]: row[1:] for row in rows}
    expected = {
        a["Id"]: (
            a["Name"],
            a["FullyQualifiedName"],
            a["AccountType"],
            a.get("AccountSubType"),
            a["Classification"],
            (a.get("ParentRef") or {}).get("value"),
            a["Active"],
            float(a["CurrentBalance"]),
            a["CurrencyRef"]["value"],
        )
        for a in company.backend.records("Account")
    }
    assert stored == expected


def test_inactive_and_deleted_list_records_are_loaded_with_their_active_flag(synced):
    company = synced.tenants["acme"]
    inactive = {a["Id"] for a in company.backend.records("Account") if not a["Active"]}
    assert inactive, "the emulator's companies have inactive and deleted accounts"
    rows = synced.warehouse.query(
        "SELECT id FROM qbo_raw.account WHERE org_id = 'acme' AND NOT active"
    )
    assert {row[0] for row in rows} == inactive
    deleted = synced.warehouse.query(
        "SELECT count(*) FROM qbo_raw.account WHERE org_id = 'acme' AND name LIKE '% (deleted)'"
    )
    assert deleted[0][0] >= 1


def test_nested_lines_land_in_child_tables_joined_to_their_parent(synced):
    company = synced.tenants["acme"]
    expected = {
        invoice["Id"]: len(invoice["Line"]) for invoice in company.backend.records("Invoice")
    }
    rows = synced.warehouse.query(
        "SELECT i.id, count(l._dlt_id) FROM qbo_raw.invoice AS i"
        " JOIN qbo_raw.invoice__line AS l ON l._dlt_parent_id = i._dlt_id"
        " WHERE i.org_id = 'acme' GROUP BY i.id"
    )
    assert dict(rows) == expected
    journal_lines = synced.warehouse.query(
        "SELECT count(*) FROM qbo_raw.journal_entry__line AS l"
        " JOIN qbo_raw.journal_entry AS j ON l._dlt_root_id = j._dlt_id WHERE j.org_id = 'acme'"
    )
    assert journal_lines[0][0] == sum(
        len(j["Line"]) for j in company.backend.records("JournalEntry")
    )


def test_every_table_is_named_after_its_entity_and_keyed_by_org_and_realm(synced):
    tables = {
        row[0]
        for row in synced.warehouse.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'qbo_raw'"
        )
    }
    assert set(TABLE_NAMES.values()) | {"report_lines"} <= tables
    for org, company in synced.tenants.items():
        for table in TABLE_NAMES.values():
            others = synced.warehouse.query(
                f'SELECT count(*) FROM qbo_raw."{table}" WHERE org_id = ? AND realm_id <> ?',
                org,
                company.realm_id,
            )
            assert others[0][0] == 0, table


def test_money_fields_load_as_one_numeric_column(synced):
    """QuickBooks writes 275 and 275.5 alike; neither may split a column into variants."""
    variants = synced.warehouse.query(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'qbo_raw' AND strpos(column_name, '__v_') > 0"
    )
    assert variants == []


def test_report_lines_cover_the_history_by_month(synced):
    rows = synced.warehouse.query(
        "SELECT report_name, basis, min(period_start), max(period_end),"
        " count(DISTINCT period_start) FROM qbo_raw.report_lines"
        " WHERE org_id = 'alder' AND row_kind = 'period' GROUP BY ALL ORDER BY ALL"
    )
    company = synced.tenants["alder"]
    today = company.backend.today()
    # Three fiscal years (July to June) before the current one, then up to today.
    first = today.replace(year=today.year - 3 if today.month >= 7 else today.year - 4, month=7,
                          day=1)  # fmt: skip
    months = (today.year - first.year) * 12 + today.month - first.month + 1
    assert rows == [
        ("BalanceSheet", "Accrual", first, today, months),
        ("BalanceSheet", "Cash", first, today, months),
        ("CashFlow", "Accrual", first, today, months),
        ("ProfitAndLoss", "Accrual", first, today, months),
        ("ProfitAndLoss", "Cash", first, today, months),
    ]


# The report tables' columns as dlt made them from dict rows, before the report rows became
# Arrow tables (row_tables.py): (name, DuckDB type, nullable), in order.
REPORT_LINE_SHAPE = [
    ("org_id", "VARCHAR", "NO"), ("realm_id", "VARCHAR", "NO"), ("report_name", "VARCHAR", "NO"),
    ("basis", "VARCHAR", "NO"), ("period_start", "DATE", "NO"), ("period_end", "DATE", "YES"),
    ("line_key", "VARCHAR", "NO"), ("row_kind", "VARCHAR", "YES"),
    ("account_id", "VARCHAR", "YES"), ("account_name", "VARCHAR", "YES"),
    ("report_group", "VARCHAR", "YES"), ("section_path", "VARCHAR", "YES"),
    ("is_summary", "BOOLEAN", "YES"), ("summary_of_account_id", "VARCHAR", "YES"),
    ("has_sub_accounts", "BOOLEAN", "YES"), ("amount", "DECIMAL(38,9)", "YES"),
    ("currency", "VARCHAR", "YES"), ("pulled_at", "TIMESTAMP WITH TIME ZONE", "YES"),
    ("_dlt_load_id", "VARCHAR", "NO"), ("_dlt_id", "VARCHAR", "NO"),
]  # fmt: skip
DIMENSION_LINE_SHAPE = [
    *REPORT_LINE_SHAPE[:2], REPORT_LINE_SHAPE[3], REPORT_LINE_SHAPE[2],
    ("dimension", "VARCHAR", "NO"), *REPORT_LINE_SHAPE[4:6], ("column_key", "VARCHAR", "NO"),
    ("member_id", "VARCHAR", "YES"), ("member_name", "VARCHAR", "YES"),
    ("is_not_specified", "BOOLEAN", "YES"), *REPORT_LINE_SHAPE[6:],
]  # fmt: skip


@pytest.mark.parametrize(
    ("table", "shape"),
    [("report_lines", REPORT_LINE_SHAPE), ("report_dimension_lines", DIMENSION_LINE_SHAPE)],
)
def test_report_tables_keep_their_columns_and_types(synced, table, shape):
    rows = 0
    for org in synced.tenants:  # each organization's own warehouse file
        columns = synced.warehouse.query(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'qbo_raw' AND table_name = ? ORDER BY ordinal_position",
            table,
            org=org,
        )
        assert [tuple(c) for c in columns] == shape
        ids = synced.warehouse.query(
            f"SELECT count(*), count(DISTINCT _dlt_id) FROM qbo_raw.{table}", org=org
        )
        assert ids[0][0] == ids[0][1]
        rows += ids[0][0]
    assert rows > 0  # (a company without classes or locations has no dimension lines)
