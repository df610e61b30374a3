"""A sync through Dagster into a Postgres warehouse (QBP_WAREHOUSE_URL): the real
`quickbooks_sync` job loads the organization's raw schema, builds its staging and marts
schemas, and publishes by recording the sync: the BI role reads the marts at once."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from dagster import DagsterInstance

from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.instance import dagster_home
from qb_pipeline.sync.runner import sync_org
from qb_pipeline.warehouse.bi_roles import grant_bi_role
from tests.conftest import TEST_TODAY
from tests.connections.conftest import add_team, connect_company
from tests.defs.conftest import ORG
from tests.warehouse.test_bi_roles import as_role

pytestmark = pytest.mark.slow


@pytest.fixture
def on_postgres(emulator, make_env, monkeypatch, postgres_url) -> IntegrationService:
    monkeypatch.setenv("QBP_WAREHOUSE_URL", postgres_url)
    service = IntegrationService(make_env(emulator.url))
    add_team(service, ORG)
    connect_company(service, ORG)
    return service


def test_a_sync_fills_the_organizations_schemas_and_its_bi_role_reads_the_marts(on_postgres):
    outcome = sync_org(ORG, today=TEST_TODAY)
    assert outcome.succeeded, outcome.message
    settings = on_postgres.config
    # Publishing copies no file: BI roles read the marts schema itself. (The goal step still
    # keeps its tables in a DuckDB file: docs/warehouse.md, "On Postgres".)
    assert not settings.serving_path(ORG).exists()
    last = on_postgres.status(ORG).last_sync
    assert last.status == "succeeded"
    datasets = {d.name: d.row_count for d in on_postgres.status(ORG).datasets_available}
    assert datasets["account"] == last.rows["account"] > 0
    assert datasets["profit_and_loss"] > 0

    # The warehouse's password is in no event, log line or metadata of the run.
    password = urlsplit(settings.warehouse_url).password
    assert password
    with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
        logged = [str(entry) for entry in instance.all_logs(outcome.run_id)]
    assert logged
    assert not [line for line in logged if password in line]

    role = grant_bi_role(settings.warehouse_url, ORG)
    connection = as_role(settings.warehouse_url, role.role, role.password)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT status, last_sync_status FROM connection_status")
            assert cursor.fetchall() == [("connected", "succeeded")]
            cursor.execute("SELECT COUNT(*) FROM accounts")
            assert cursor.fetchone()[0] == datasets["account"]
    finally:
        connection.close()

    # Again, incrementally: dlt merges into tables the views depend on, and the grants hold.
    again = sync_org(ORG, today=TEST_TODAY)
    assert again.succeeded, again.message
    connection = as_role(settings.warehouse_url, role.role, role.password)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM accounts")
            assert cursor.fetchone()[0] == datasets["account"]
    finally:
        connection.close()
