"""marts.connection_status mirrors the control DB's connections, one row per organization."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from qb_pipeline.connections import IntegrationService
from qb_pipeline.warehouse import connection_status_row, write_connection_status
from tests.connections.conftest import add_team, connect_company

CONNECTED = {
    "org_id": "acme",
    "realm_id": "9130",
    "company_name": "Harbor & Pine Outfitters",
    "status": "connected",
    "connected_at": datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
    "last_sync_at": datetime(2026, 11, 15, 2, 5, tzinfo=UTC),
    "last_sync_status": "succeeded",
    "datasets_available": "accounts, profit_and_loss",
}


def read(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT * FROM marts.connection_status ORDER BY org_id").fetchall()


@pytest.fixture
def con(tmp_path):
    from qb_pipeline.warehouse import model, run_model

    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        run_model(connection, model("qbo.connection_status"))
        run_model(connection, model("marts.connection_status"))
        yield connection


def test_writing_replaces_every_row(con):
    write_connection_status(con, [CONNECTED, {**CONNECTED, "org_id": "beta", "status": "error"}])
    write_connection_status(con, [{**CONNECTED, "status": "reauthorization_required"}])
    assert [(r[0], r[3]) for r in read(con)] == [("acme", "reauthorization_required")]


def test_organizations_that_never_connected_are_left_out(con):
    written = write_connection_status(
        con, [CONNECTED, {"org_id": "new", "status": "not_connected"}]
    )
    assert written == 1
    assert [r[0] for r in read(con)] == ["acme"]


def test_an_unknown_status_is_refused_and_nothing_changes(con):
    write_connection_status(con, [CONNECTED])
    with pytest.raises(ValueError, match="'paused' of 'acme' is not one of connected"):
        write_connection_status(con, [{**CONNECTED, "status": "paused"}])
    assert len(read(con)) == 1


def test_the_status_the_integration_service_reports_lands_in_the_mart(
    emulator,
    make_settings,
    con,
):
    service = IntegrationService(make_settings(emulator.url))
    add_team(service, "acme")
    add_team(service, "idle")
    connected = connect_company(service, "acme")
    started = datetime(2026, 11, 15, 2, 0, tzinfo=UTC)
    service.record_sync("acme", connected.realm_id, started, started, "succeeded")
    service.record_datasets("acme", connected.realm_id, {"profit_and_loss": 10, "accounts": 4})

    statuses = [service.status(org.slug) for org in service.list_orgs()]
    assert [connection_status_row(s) is None for s in statuses] == [False, True]
    write_connection_status(con, statuses)

    assert read(con) == [
        (
            "acme",
            connected.realm_id,
            connected.company_name,
            "connected",
            connected.connected_at,
            started,
            "succeeded",
            "accounts, profit_and_loss",
        )
    ]
