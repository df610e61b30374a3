"""BI isolation on a Postgres warehouse: an organization's BI role, connecting with its own
password, reads that organization's marts and nothing else (no other tenant's rows, no staging
or raw schema, nothing created)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import psycopg2
import psycopg2.errors
import pytest
from click.testing import CliRunner

from qb_pipeline.cli import main
from qb_pipeline.warehouse.bi_roles import bi_role_name, grant_bi_role
from qb_pipeline.warehouse.postgres import PostgresWarehouse

TENANTS = ("bi-acme", "bi-alder")


def as_role(url: str, role: str, password: str) -> psycopg2.extensions.connection:
    """A real login as `role` with `password` to the database of `url`."""
    parts = urlsplit(url)
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
    connection = psycopg2.connect(parts._replace(netloc=netloc).geturl(), connect_timeout=10)
    connection.autocommit = True
    return connection


def rows(connection: psycopg2.extensions.connection, statement: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall()


@pytest.fixture
def warehouse(postgres_url: str) -> str:
    """Two tenants' schemas as the syncs leave them: raw and staging tables, and a mart view
    over the staging table (read with the view owner's rights)."""
    for org in TENANTS:
        with PostgresWarehouse(postgres_url, org) as con:
            raw, qbo, marts = (con.schemas[layer] for layer in ("qbo_raw", "qbo", "marts"))
            for schema in (raw, qbo, marts):
                con.execute(f'CREATE SCHEMA "{schema}"')
            con.execute(f'CREATE TABLE "{raw}".account AS SELECT ? AS org_id, 1 AS id', [org])
            con.execute(f'CREATE TABLE "{qbo}".pnl AS SELECT ? AS org_id, 12.5 AS amount', [org])
            con.execute(f'CREATE VIEW "{marts}".pnl_monthly AS SELECT * FROM "{qbo}".pnl')
    return postgres_url


def test_a_tenants_role_reads_its_own_marts_only(warehouse):
    acme = grant_bi_role(warehouse, "bi-acme")
    assert acme.role == "qbp_bi_bi_acme"
    assert acme.schema == "marts_bi_acme"
    connection = as_role(warehouse, acme.role, acme.password)
    try:
        # Its marts, by name alone (search_path) and qualified.
        assert rows(connection, "SELECT org_id, amount FROM pnl_monthly") == [("bi-acme", 12.5)]
        assert rows(connection, "SELECT count(*) FROM marts_bi_acme.pnl_monthly") == [(1,)]
        for other in (
            "marts_bi_alder.pnl_monthly",  # another tenant's marts
            "qbo_bi_acme.pnl",  # its own staging: through the marts only
            "raw_bi_acme.account",
            "raw_bi_alder.account",
        ):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                rows(connection, f"SELECT * FROM {other}")
        for statement in ("CREATE TABLE public.notes (x int)", "CREATE TEMP TABLE notes (x int)"):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                rows(connection, statement)
    finally:
        connection.close()


def test_marts_created_after_the_grant_are_readable_and_others_still_not(warehouse):
    acme = grant_bi_role(warehouse, "bi-acme")
    alder = grant_bi_role(warehouse, "bi-alder")
    for org in TENANTS:
        with PostgresWarehouse(warehouse, org) as con:
            marts = con.schemas["marts"]
            con.execute(f'CREATE VIEW "{marts}".later AS SELECT ? AS org_id', [org])
    connection = as_role(warehouse, alder.role, alder.password)
    try:
        assert rows(connection, "SELECT org_id FROM later") == [("bi-alder",)]
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            rows(connection, "SELECT * FROM marts_bi_acme.later")
    finally:
        connection.close()
    assert acme.password != alder.password


def test_the_password_is_checked_and_a_new_grant_replaces_it(warehouse):
    first = grant_bi_role(warehouse, "bi-acme")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        as_role(warehouse, first.role, first.password + "x")
    second = grant_bi_role(warehouse, "bi-acme", password="chosen-by-the-operator")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        as_role(warehouse, first.role, first.password)
    as_role(warehouse, second.role, "chosen-by-the-operator").close()
    # The server holds a SCRAM verifier, never the password.
    admin = psycopg2.connect(warehouse)
    try:
        stored = rows(admin, f"SELECT rolpassword FROM pg_authid WHERE rolname = '{first.role}'")
    finally:
        admin.close()
    assert stored[0][0].startswith("SCRAM-SHA-256$")
    assert "chosen-by-the-operator" not in stored[0][0]
    assert first.password not in repr(first)


def test_the_command_shows_the_password_once_and_never_the_warehouses(warehouse, tmp_path):
    env = {"QBP_HOME": str(tmp_path), "QBP_WAREHOUSE_URL": warehouse}
    result = CliRunner().invoke(main, ["warehouse", "bi-role", "bi-acme"], env=env)
    assert result.exit_code == 0, result.output
    assert "qbp_bi_bi_acme" in result.output
    assert "marts_bi_acme" in result.output
    password = result.output.split("password: ", 1)[1].split()[0]
    as_role(warehouse, bi_role_name("bi-acme"), password).close()
    admin_password = urlsplit(warehouse).password
    assert admin_password
    assert admin_password not in result.output

    chosen = CliRunner().invoke(
        main, ["warehouse", "bi-role", "bi-acme", "--password-stdin"], env=env, input="s3cret\n"
    )
    assert chosen.exit_code == 0
    assert "s3cret" not in chosen.output
    as_role(warehouse, "qbp_bi_bi_acme", "s3cret").close()


def test_the_command_needs_a_postgres_warehouse_and_hides_a_bad_urls_password(tmp_path):
    runner = CliRunner()
    duck = runner.invoke(main, ["warehouse", "bi-role", "acme"], env={"QBP_HOME": str(tmp_path)})
    assert duck.exit_code == 1
    assert "QBP_WAREHOUSE_URL" in duck.output
    bad = {"QBP_HOME": str(tmp_path), "QBP_WAREHOUSE_URL": "postgresql://u:hunter2@h:99999/db"}
    refused = runner.invoke(main, ["warehouse", "bi-role", "acme"], env=bad)
    assert refused.exit_code == 1
    assert "QBP_WAREHOUSE_URL" in refused.output
    assert "hunter2" not in refused.output
    assert "u:***@h" in refused.output
