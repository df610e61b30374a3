"""A sync through Dagster into a Postgres warehouse (QBP_WAREHOUSE_URL): the real
`quickbooks_sync` job loads the organization's raw schema, builds its staging and marts
schemas, computes the organization's goals into its goals schema, and publishes by recording
the sync: the BI role reads the marts and the goal values at once, and the web app over HTTP
shows them, with no DuckDB file anywhere."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from dagster import DagsterInstance

from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.instance import dagster_home
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.store import GoalStore
from qb_pipeline.sandbox import free_port
from qb_pipeline.sync.runner import sync_org
from qb_pipeline.warehouse.bi_roles import grant_bi_role
from tests.conftest import TEST_TODAY
from tests.connections.conftest import EDITOR, PASSWORD, add_team, connect_company
from tests.defs.conftest import ORG
from tests.warehouse.test_bi_roles import as_role
from tests.web.conftest import sign_in, start_web

GOALS = [
    GoalDefinition.model_validate(
        {"id": goal_id, "name": name, "organization": ORG, "dataset": "profit_and_loss",
         "tracks": {"line": {"group": group}}, "grain": grain, "target": {"value": 5000}}
    )
    for goal_id, name, group, grain in (
        ("monthly-income", "Monthly income", "Income", "month"),
        ("quarterly-net-income", "Quarterly net income", "NetIncome", "quarter"),
    )
]  # fmt: skip

pytestmark = pytest.mark.slow


@pytest.fixture
def on_postgres(emulator, make_env, monkeypatch, postgres_url) -> IntegrationService:
    monkeypatch.setenv("QBP_WAREHOUSE_URL", postgres_url)
    service = IntegrationService(make_env(emulator.url))
    add_team(service, ORG)
    realm_id = connect_company(service, ORG).realm_id
    store = GoalStore(service.db)
    for goal in GOALS:
        store.create(goal, actor=EDITOR, source="cli", realm_id=realm_id)
    return service


def test_a_sync_fills_the_organizations_schemas_and_its_bi_role_reads_the_marts(on_postgres):
    outcome = sync_org(ORG, today=TEST_TODAY)
    assert outcome.succeeded, outcome.message
    settings = on_postgres.config
    # Publishing copies no file: BI roles read the marts schema itself; the goals computed in
    # memory and went to the goals schema, so there is no DuckDB file at all.
    assert not settings.serving_path(ORG).exists()
    assert not settings.warehouse_path(ORG).exists()
    assert not list(settings.home.rglob("*.duckdb"))
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
            cursor.execute(
                "SELECT goal_id, COUNT(*), COUNT(actual) FROM goal_values GROUP BY goal_id"
                " ORDER BY goal_id"
            )
            computed = cursor.fetchall()
            cursor.execute("SELECT goal_id, version, state FROM goals ORDER BY goal_id")
            assert cursor.fetchall() == [(g.id, 1, "active") for g in sorted(GOALS, key=by_id)]
    finally:
        connection.close()
    assert [goal_id for goal_id, _rows, _actuals in computed] == sorted(g.id for g in GOALS)
    assert all(rows >= actuals > 3 for _goal, rows, actuals in computed), computed

    # The web app reads them over HTTP: the JSON API's latest values, the goal's page and
    # the integration page's data available, dates included.
    shown = web_pages(settings)
    latest = {g["id"]: g["latest"] for g in shown["api"]["goals"]}
    assert set(latest) == {g.id for g in GOALS}
    assert all(value["actual"] is not None for value in latest.values()), latest
    assert "Monthly income" in shown["goal_page"]
    assert "Profit and Loss (monthly) since" in shown["integration_page"]

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


def by_id(goal: GoalDefinition) -> str:
    return goal.id


def web_pages(settings) -> dict:
    """The goals API, a goal's page and the integration page of a web app on `settings`."""
    port = free_port()
    server, thread, _service = start_web(settings, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as client:
            sign_in(client, EDITOR, PASSWORD)
            api = client.get(f"/api/v1/orgs/{ORG}/goals")
            assert api.status_code == 200, api.text
            goal_page = client.get(f"/orgs/{ORG}/goals/monthly-income")
            assert goal_page.status_code == 200, goal_page.text
            integration = client.get(f"/orgs/{ORG}/integrations")
            assert integration.status_code == 200, integration.text
            return {
                "api": api.json(),
                "goal_page": goal_page.text,
                "integration_page": integration.text,
            }
    finally:
        server.should_exit = True
        thread.join(timeout=10)
