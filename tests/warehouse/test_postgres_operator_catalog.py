"""The operator's catalog on a Postgres warehouse (warehouse/postgres_catalog.py): `qb-pipeline
warehouse catalog` rebuilds schema qbp_operator, one view per mart over every organization's
marts schema (goal views included), which the operator reads and no tenant's BI role can."""

from __future__ import annotations

import psycopg2.errors
import pytest
from click.testing import CliRunner

from qb_pipeline.cli import main
from qb_pipeline.warehouse.bi_roles import grant_bi_role
from qb_pipeline.warehouse.postgres import connect
from qb_pipeline.warehouse.postgres_catalog import union_views
from tests.warehouse.synced_backends import ORGS
from tests.warehouse.test_bi_roles import as_role
from tests.warehouse.test_goals_on_both_backends import AT, compute_on

pytestmark = pytest.mark.slow


def operator_rows(url: str, sql: str) -> list[tuple]:
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def test_the_catalog_command_unions_every_organizations_marts_for_the_operator_only(
    backends, companies
):
    postgres = backends["postgres"]
    for org in ORGS:
        compute_on(postgres, org, companies[org].realm_id, AT)
    url = postgres.settings.warehouse_url
    env = {"QBP_HOME": str(postgres.settings.home), "QBP_WAREHOUSE_URL": url}
    result = CliRunner().invoke(main, ["warehouse", "catalog"], env=env)
    assert result.exit_code == 0, result.output
    assert "Rebuilt schema qbp_operator of " in result.output
    assert "over 2 organization(s)" in result.output
    password = url.split(":")[2].split("@")[0]
    assert password not in result.output

    for mart in ("pnl_monthly", "accounts", "connection_status", "goal_values", "goals"):
        per_org = {
            org: postgres.query(org, f"SELECT count(*) FROM marts.{mart}")[0][0] for org in ORGS
        }
        union = operator_rows(
            url, f"SELECT org_id, count(*) FROM qbp_operator.{mart} GROUP BY org_id"
        )
        assert dict(union) == per_org, mart
        assert all(count > 0 for count in per_org.values()), mart

    # Run again: rebuilt, not added to.
    again = CliRunner().invoke(main, ["warehouse", "catalog"], env=env)
    assert again.exit_code == 0, again.output
    [(rows,)] = operator_rows(url, "SELECT count(*) FROM qbp_operator.goal_values")
    assert rows == sum(
        postgres.query(o, "SELECT count(*) FROM marts.goal_values")[0][0] for o in ORGS
    )

    role = grant_bi_role(url, "contract-jan")
    tenant = as_role(url, role.role, role.password)
    try:
        with tenant.cursor() as cursor, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute("SELECT * FROM qbp_operator.pnl_monthly")
    finally:
        tenant.close()


def test_an_organization_whose_mart_lacks_a_column_reads_null_there():
    statements = union_views(
        [
            ("marts_a", "goal_values", "org_id", "text"),
            ("marts_a", "goal_values", "currency", "character varying"),
            ("marts_b", "goal_values", "org_id", "text"),
        ]
    )
    assert statements == [
        'CREATE VIEW "qbp_operator"."goal_values" AS\n'
        'SELECT "org_id", "currency" FROM "marts_a"."goal_values"\n'
        "UNION ALL\n"
        'SELECT "org_id", CAST(NULL AS character varying) AS "currency"'
        ' FROM "marts_b"."goal_values"'
    ]
