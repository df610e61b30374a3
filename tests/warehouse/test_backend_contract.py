"""The warehouse contract on both backends: two emulator companies (fiscal years from January
and July; one tracks classes and departments) synced by the real dlt pipeline into DuckDB
files and into Postgres (QBP_WAREHOUSE_URL, one database, each organization's own schemas),
the same staging and marts SQL built on each, the same marts checks on each, and every mart's
rows equal (the synced backends: synced_backends.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg2.errors
import pytest

from qb_pipeline.warehouse import load_models
from qb_pipeline.warehouse.bi_roles import grant_bi_role
from tests.warehouse.synced_backends import BACKENDS, ORGS, Backend
from tests.warehouse.test_bi_roles import as_role

MARTS = tuple(m.name for m in load_models() if m.layer == "marts")

KEYS = {
    "marts.accounts": "org_id, realm_id, account_id",
    "marts.pnl_monthly": "org_id, realm_id, basis, month, account_id",
    "marts.pnl_monthly_by_dimension": (
        "org_id, realm_id, basis, month, account_id, dimension, dimension_id"
    ),
    "marts.balance_sheet_monthly": "org_id, realm_id, basis, month_end, account_id",
    "marts.cash_flow_monthly": "org_id, realm_id, basis, month, account_id, report_group",
    "marts.company": "org_id, realm_id",
    "marts.connection_status": "org_id",
    "marts.budgets": "org_id, realm_id, budget_id, line_index, month",
}

# For each dimension, an account's rows of a month that differ from its marts.pnl_monthly.
DIMENSIONS_THAT_DO_NOT_ADD_UP = """
WITH by_dimension AS (
    SELECT basis, month, account_id, dimension, SUM(amount) AS amount
    FROM marts.pnl_monthly_by_dimension
    GROUP BY basis, month, account_id, dimension
)
SELECT d.basis, d.month, d.account_id, d.dimension, d.amount, p.amount
FROM by_dimension AS d
LEFT JOIN marts.pnl_monthly AS p
    ON p.basis = d.basis AND p.month = d.month AND p.account_id = d.account_id
WHERE p.amount IS NULL OR p.amount <> d.amount
"""

# Month ends whose asset rows do not equal their liability and equity rows.
UNBALANCED_MONTHS = """
SELECT basis, month_end, assets, others
FROM (
    SELECT
        basis,
        month_end,
        SUM(CASE WHEN report_group IN
            ('BankAccounts', 'AR', 'OtherCurrentAssets', 'FixedAssets', 'OtherAssets')
            THEN balance ELSE 0 END) AS assets,
        SUM(CASE WHEN report_group NOT IN
            ('BankAccounts', 'AR', 'OtherCurrentAssets', 'FixedAssets', 'OtherAssets')
            THEN balance ELSE 0 END) AS others
    FROM marts.balance_sheet_monthly
    GROUP BY basis, month_end
) AS sides
WHERE assets <> others
"""


def normalized(value: Any) -> Any:
    """One value as both backends must give it: amounts to the cent (DuckDB's DECIMAL(38,2)
    and Postgres' numeric print different scales of the same number), times in UTC."""
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    if isinstance(value, float):
        raise AssertionError(f"a float in a mart: {value!r} (amounts are decimals)")
    if isinstance(value, datetime):
        assert value.tzinfo is not None, f"a timestamp without a time zone: {value!r}"
        return value.astimezone(UTC)
    return value


def rows_of(backend: Backend, mart: str) -> list[tuple]:
    """Every organization's rows of `mart`, normalized, in one order."""
    rows = [
        tuple(normalized(v) for v in row)
        for org in ORGS
        for row in backend.query(org, f"SELECT * FROM {mart}")
    ]
    return sorted(rows, key=lambda row: [(v is None, str(v)) for v in row])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mart", sorted(KEYS))
def test_each_mart_has_rows_and_one_per_key(backends, backend, mart):
    key = KEYS[mart]
    for org in ORGS:
        warehouse = backends[backend]
        if mart != "marts.pnl_monthly_by_dimension" or org == "contract-jan":
            assert warehouse.query(org, f"SELECT COUNT(*) FROM {mart}")[0][0] > 0, org
        duplicates = f"SELECT {key}, COUNT(*) FROM {mart} GROUP BY {key} HAVING COUNT(*) > 1"
        assert warehouse.query(org, duplicates) == [], org


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("org", ORGS)
def test_budgets_are_the_emulators_budget_lines(backends, backend, org, companies):
    """marts.budgets holds every BudgetDetail line the emulator's API serves, by budget,
    month, account, class and department, to the cent (the emulator's budgets are monthly)."""
    with companies[org].client() as client:
        budgets = [record for page in client.query_all("Budget") for record in page]
    expected = sorted(
        (
            budget["Id"],
            budget["Name"],
            line["BudgetDate"],
            line["AccountRef"]["value"],
            (line.get("ClassRef") or {}).get("value"),
            (line.get("DepartmentRef") or {}).get("value"),
            Decimal(str(line["Amount"])).quantize(Decimal("0.01")),
        )
        for budget in budgets
        for line in budget["BudgetDetail"]
    )
    rows = backends[backend].query(
        org,
        "SELECT budget_id, budget_name, month, account_id, class_id, department_id, amount"
        " FROM marts.budgets",
    )
    got = sorted(
        (b, n, m.isoformat(), a, c, d, Decimal(str(x)).quantize(Decimal("0.01")))
        for b, n, m, a, c, d, x in rows
    )
    assert expected, "the emulator's company has no budget: not a comparison"
    assert got == expected


@pytest.mark.parametrize("backend", BACKENDS)
def test_by_dimension_amounts_add_up_to_the_pnl(backends, backend):
    warehouse = backends[backend]
    assert warehouse.query("contract-jan", DIMENSIONS_THAT_DO_NOT_ADD_UP) == []
    dimensions = "SELECT DISTINCT dimension FROM marts.pnl_monthly_by_dimension ORDER BY 1"
    assert warehouse.query("contract-jan", dimensions) == [("class",), ("department",)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("org", ORGS)
def test_each_balance_sheet_month_balances(backends, backend, org):
    warehouse = backends[backend]
    assert warehouse.query(org, UNBALANCED_MONTHS) == []
    nonzero = "SELECT COUNT(*) FROM marts.balance_sheet_monthly WHERE balance <> 0"
    assert warehouse.query(org, nonzero)[0][0] > 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("org", ORGS)
def test_the_company_mart_has_the_companys_fiscal_year_and_currency(
    backends, backend, org, companies
):
    rows = backends[backend].query(
        org,
        "SELECT realm_id, company_name, fiscal_year_start_month, home_currency FROM marts.company",
    )
    company = companies[org].backend
    assert rows == [(company.realm_id, company.name, ORGS[org], company.home_currency)]


@pytest.mark.parametrize("mart", MARTS)
def test_every_mart_holds_the_same_rows_on_both_backends(backends, mart):
    on_duckdb = rows_of(backends["duckdb"], mart)
    on_postgres = rows_of(backends["postgres"], mart)
    assert on_duckdb, f"{mart} is empty: not a comparison"
    assert len(on_postgres) == len(on_duckdb), mart
    differing = [(d, p) for d, p in zip(on_duckdb, on_postgres, strict=True) if d != p]
    assert differing[:3] == [], mart


def test_a_tenants_bi_role_reads_its_synced_marts_and_not_the_other_tenants(backends):
    url = backends["postgres"].settings.warehouse_url
    jan = grant_bi_role(url, "contract-jan")
    pipeline_count = backends["postgres"].query(
        "contract-jan", "SELECT COUNT(*) FROM marts.pnl_monthly"
    )
    connection = as_role(url, jan.role, jan.password)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*), MIN(org_id), MAX(org_id) FROM pnl_monthly")
            assert cursor.fetchall() == [(pipeline_count[0][0], "contract-jan", "contract-jan")]
            for mart in MARTS:
                other = mart.replace("marts.", "marts_contract_jul.")
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(f"SELECT * FROM {other}")
    finally:
        connection.close()
