"""Each organization's BI users read a serving copy that holds that organization's rows only;
the operator's catalog (warehouse/catalog.py) sees every organization, through real syncs of
two organizations connected to two different companies."""

from __future__ import annotations

import duckdb
import pytest

from qb_pipeline.sync.runner import sync_org
from qb_pipeline.warehouse.catalog import open_catalog, serving_files, write_catalog
from tests.conftest import TEST_TODAY
from tests.connections.conftest import add_team, companies, connect_company
from tests.defs.conftest import ORG

OTHER = "globex"

TABLES_WITH_ORG = """
SELECT table_schema, table_name FROM information_schema.columns
WHERE column_name = 'org_id' AND table_schema IN ('qbo_raw', 'qbo', 'marts')
ORDER BY 1, 2
"""


@pytest.fixture
def two_tenants(service, emulator):
    realms = [company["realmId"] for company in companies(emulator.url)]
    add_team(service, OTHER)
    connect_company(service, ORG, realms[0])
    connect_company(service, OTHER, realms[1])
    for org in (ORG, OTHER):
        outcome = sync_org(org, today=TEST_TODAY)
        assert outcome.succeeded, outcome.message
    return service


def orgs_per_table(path) -> dict[str, set[str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(TABLES_WITH_ORG).fetchall()
        return {
            f"{schema}.{table}": {
                row[0]
                for row in con.execute(f'SELECT DISTINCT org_id FROM {schema}."{table}"').fetchall()
            }
            for schema, table in tables
        }


@pytest.mark.slow
def test_a_tenants_serving_copy_holds_its_own_rows_only_and_the_operator_sees_all(two_tenants):
    settings = two_tenants.config
    for org in (ORG, OTHER):
        seen = orgs_per_table(settings.serving_path(org))
        # Child tables carry org_id too, so every imported table is checked.
        assert "qbo_raw.invoice__line" in seen
        assert {"marts.accounts", "marts.pnl_monthly", "marts.connection_status"} <= set(seen)
        assert {table for table, orgs in seen.items() if orgs - {org}} == set()
        assert seen["marts.accounts"] == {org}
        assert seen["marts.connection_status"] == {org}
    assert serving_files(settings) == {
        ORG: settings.serving_path(ORG),
        OTHER: settings.serving_path(OTHER),
    }

    # The operator's catalog sees every organization. (One test with the above: the two
    # syncs are what costs, and both only read what they left.)
    per_org = {}
    for org in (ORG, OTHER):
        with duckdb.connect(str(settings.serving_path(org)), read_only=True) as con:
            per_org[org] = con.execute("SELECT count(*) FROM marts.accounts").fetchone()[0]

    with open_catalog(serving_files(settings)) as catalog:
        counted = dict(
            catalog.execute(
                "SELECT org_id, count(*) FROM marts.accounts GROUP BY org_id"
            ).fetchall()
        )
        statuses = catalog.execute(
            "SELECT org_id, status FROM marts.connection_status ORDER BY org_id"
        ).fetchall()
    assert counted == per_org
    assert statuses == [(ORG, "connected"), (OTHER, "connected")]

    path, organizations = write_catalog(settings)
    with duckdb.connect(":memory:") as shell:  # what `duckdb -init catalog.sql` runs
        shell.execute(path.read_text())
        assert shell.execute("SELECT count(*) FROM marts.accounts").fetchone()[0] == sum(
            per_org.values()
        )
    assert organizations == 2
