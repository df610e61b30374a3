"""The control DB's event log: each connection change is one event, in commit order, written
in the transaction of the change."""

from __future__ import annotations

import httpx
import pytest

from qb_pipeline.connections import IntegrationService, ReauthorizationRequired, events
from qb_pipeline.connections.db import INTEGRITY_ERRORS, Connection, open_db, transaction
from tests.connections.conftest import ADMIN, add_team, companies, connect_company
from tests.connections.test_tokens import FORCE


def kinds(service: IntegrationService, after: int = 0) -> list[tuple[str, str | None]]:
    return [(e.kind, e.realm_id) for e in service.events_after(after)]


def test_connect_reauthorize_disconnect_and_reconnect_are_one_event_each(emulator, service):
    first, second = companies(emulator.url)[:2]
    assert service.last_event_id() == 0

    connect_company(service, realm_id=first["realmId"])
    connect_company(service, realm_id=first["realmId"])  # the same company again: renewal
    service.disconnect("acme", ADMIN)
    connect_company(service, realm_id=second["realmId"])

    logged = service.events_after(0)
    assert [(e.kind, e.realm_id) for e in logged] == [
        ("connected", first["realmId"]),
        ("reauthorized", first["realmId"]),
        ("disconnected", first["realmId"]),
        ("connected", second["realmId"]),
    ]
    assert [e.id for e in logged] == sorted(e.id for e in logged)
    assert logged[0].detail["previous_status"] is None
    assert (logged[3].detail["previous_status"], logged[3].detail["previous_realm_id"]) == (
        "disconnected",
        first["realmId"],
    )
    assert {e.org_slug for e in logged} == {"acme"}
    assert service.last_event_id() == logged[-1].id
    # A reader that handled the first two sees only the rest.
    assert kinds(service, after=logged[1].id) == [
        ("disconnected", first["realmId"]),
        ("connected", second["realmId"]),
    ]
    assert kinds_of(service, logged[0].id, (events.DISCONNECTED,)) == ["disconnected"]


def kinds_of(service: IntegrationService, after: int, wanted: tuple[str, ...]) -> list[str]:
    return [e.kind for e in service.events_after(after, wanted)]


def test_a_lost_authorization_is_one_event(make_emulator, make_settings):
    running = make_emulator(strict_rotation=True, limits_enabled=False)
    service = IntegrationService(make_settings(running.url))
    add_team(service)
    connect_company(service)
    httpx.post(f"{running.url}/_emulator/oauth/revoke-refresh-tokens").raise_for_status()

    for _ in range(2):  # the second caller is refused without another change
        with pytest.raises(ReauthorizationRequired):
            service.access_token("acme", min_valid=FORCE)

    assert [kind for kind, _ in kinds(service)] == ["connected", "reauthorization_required"]


def test_a_refused_connect_writes_no_event(emulator, service):
    first, second = companies(emulator.url)[:2]
    connect_company(service, realm_id=first["realmId"])

    with pytest.raises(Exception, match="disconnect it first"):
        connect_company(service, realm_id=second["realmId"])

    assert kinds(service) == [("connected", first["realmId"])]


def test_an_event_is_only_written_inside_the_change_transaction(service):
    org_id = service.get_org("acme").id
    with open_db(service.db) as conn:
        with pytest.raises(RuntimeError, match="inside the transaction"):
            events.record(conn, events.GOAL_CHANGED, org_id=org_id)
        with pytest.raises(ValueError, match="not one of"), transaction(conn):
            events.record(conn, "renamed", org_id=org_id)
        # A change that rolls back takes its event with it.
        with pytest.raises(INTEGRITY_ERRORS):
            change_with_event_then_fail(conn, org_id)
    assert service.events_after(0) == []


def change_with_event_then_fail(conn: Connection, org_id: int) -> None:
    with transaction(conn):
        events.record(conn, events.GOAL_CHANGED, org_id=org_id, goal_id="g")
        conn.execute(
            "INSERT INTO organizations (id, slug, name, created_at) VALUES (?, ?, ?, ?)",
            (org_id, "dup", "Dup", "2026-01-01T00:00:00+00:00"),
        )


def test_event_ids_are_never_reused_after_the_newest_is_deleted(service):
    org_id = service.get_org("acme").id
    with open_db(service.db) as conn:
        with transaction(conn):
            first = events.record(conn, events.GOAL_CHANGED, org_id=org_id)
        with transaction(conn):
            conn.execute("DELETE FROM events WHERE id = ?", (first,))
        with transaction(conn):
            second = events.record(conn, events.GOAL_CHANGED, org_id=org_id)
    assert second > first


def test_other_organizations_events_are_in_the_same_order(emulator, make_settings):
    service = IntegrationService(make_settings(emulator.url))
    add_team(service, "acme")
    add_team(service, "globex")
    connect_company(service, "acme")
    connect_company(service, "globex")
    service.disconnect("acme", ADMIN)

    assert [(e.org_slug, e.kind) for e in service.events_after(0)] == [
        ("acme", "connected"),
        ("globex", "connected"),
        ("acme", "disconnected"),
    ]
