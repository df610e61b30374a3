"""The control DB: versioned migrations and the constraints the database itself enforces."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from qb_pipeline.connections import IntegrationService
from qb_pipeline.connections.db import (
    INTEGRITY_ERRORS,
    connect,
    migrate,
    migration_files,
    open_db,
    prepare,
    split_statements,
)

EXPECTED_TABLES = {
    "organizations",
    "users",
    "memberships",
    "quickbooks_connections",
    "oauth_states",
    "sync_runs",
    "datasets",
    "integration_settings",
    "audit_log",
    "events",
    "web_sessions",
    "sign_in_failures",
    "goals",
    "goal_versions",
    "access_tokens",
    "sync_requests",
    "request_starts",
    "webhook_endpoints",
    "alert_subscriptions",
    "alert_goal_states",
    "alert_digests",
    "alert_deliveries",
    "alert_attempts",
    "schema_migrations",
}
# Every migration the package ships, in version order: a new QBP_HOME gets all of them.
SHIPPED = [(version, name) for version, name, _ in migration_files()]
SHIPPED_NAMES = [f"{version}_{name}" for version, name in SHIPPED]


def tables(service: IntegrationService) -> set[str]:
    if service.db.sqlite_path is not None:
        listing = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        listing = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    with open_db(service.db) as conn:
        return {row[0] for row in conn.execute(listing)}


def recorded_versions(service: IntegrationService) -> list[tuple[str, str]]:
    with open_db(service.db) as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        return [tuple(row) for row in rows]


def test_starting_the_service_creates_qbp_home_and_applies_the_migrations(make_settings, home):
    service = IntegrationService(make_settings())

    assert SHIPPED_NAMES[:2] == ["0001_initial", "0002_event_log"]
    assert service.applied_migrations == SHIPPED_NAMES
    assert home.is_dir()
    assert tables(service) >= EXPECTED_TABLES
    assert recorded_versions(service) == SHIPPED


def test_migrations_are_applied_once(make_settings, home):
    IntegrationService(make_settings())
    again = IntegrationService(make_settings())

    assert again.applied_migrations == []
    assert recorded_versions(again) == SHIPPED


def at_once(work, count: int = 4) -> tuple[list, list[Exception]]:
    """`work()` in `count` threads started together: (results, errors)."""
    results, errors = [], []

    def run() -> None:
        try:
            results.append(work())
        except Exception as error:  # collected for the caller to assert
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_services_starting_at_once_apply_each_migration_once(make_settings, home):
    settings = make_settings()

    results, errors = at_once(lambda: IntegrationService(settings).applied_migrations)

    assert errors == []
    assert sorted(results, key=len) == [[], [], [], SHIPPED_NAMES]


def test_preparing_a_new_control_db_from_many_threads_never_reports_a_lock(tmp_path):
    # SQLite refuses a concurrent switch to WAL at once ("database is locked") instead of
    # waiting; before preparation was serialized this failed in about one round in ten.
    for round_number in range(25):
        path = tmp_path / str(round_number) / "control.sqlite3"

        results, errors = at_once(lambda path=path: prepare(path))

        assert errors == [], f"round {round_number}"
        assert sorted(results, key=len) == [[], [], [], SHIPPED_NAMES]
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_later_migrations_run_in_version_order_each_in_one_transaction(tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0002_add_note.sql").write_text("ALTER TABLE thing ADD COLUMN note TEXT;\n")
    (folder / "0001_create.sql").write_text(
        "-- a comment before\nCREATE TABLE thing (id INTEGER PRIMARY KEY);\n"
    )
    conn = connect(tmp_path / "db.sqlite3")

    assert migrate(conn, folder) == ["0001_create", "0002_add_note"]

    # A failing migration leaves neither its first statements nor its version behind.
    (folder / "0010_broken.sql").write_text(
        "CREATE TABLE half_done (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        migrate(conn, folder)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "half_done" not in names
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert versions == ["0001", "0002"]

    (folder / "0010_broken.sql").write_text("CREATE TABLE half_done (id INTEGER);\n")
    assert migrate(conn, folder) == ["0010_broken"]
    assert migrate(conn, folder) == []


def test_migration_files_must_carry_a_version_number(tmp_path):
    (tmp_path / "initial.sql").write_text("CREATE TABLE t (id INTEGER);\n")

    with pytest.raises(RuntimeError, match=r"NNNN_name\.sql"):
        migration_files(tmp_path)


def test_the_shipped_migrations_split_into_whole_statements():
    for version, _name, sql in migration_files():
        statements = split_statements(sql)
        assert statements, version
        assert all(sqlite3.complete_statement(s) for s in statements)


def test_a_second_connection_row_for_one_organization_is_refused_by_the_database(
    make_settings, home
):
    service = IntegrationService(make_settings())
    org = service.create_org("acme", "Acme Inc")
    conn = connect(service.db)
    insert = (
        "INSERT INTO quickbooks_connections (org_id, realm_id, company_name, status, updated_at)"
        " VALUES (?, ?, ?, 'disconnected', '2026-01-01T00:00:00+00:00')"
    )
    conn.execute(insert, (org.id, "111", "First"))

    # SQLite: "UNIQUE constraint failed"; Postgres: "duplicate key value violates unique".
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)unique"):
        conn.execute(insert, (org.id, "222", "Second"))


def test_the_database_refuses_unknown_roles_and_connection_states(make_settings, home):
    service = IntegrationService(make_settings())
    org = service.create_org("acme", "Acme Inc")
    conn = connect(service.db)

    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)check"):
        conn.execute(
            "INSERT INTO quickbooks_connections (org_id, realm_id, status, updated_at)"
            " VALUES (?, '1', 'half-connected', '2026-01-01T00:00:00+00:00')",
            (org.id,),
        )
    conn.execute("INSERT INTO users (email, password_hash, created_at) VALUES ('x@y.z', 'h', 't')")
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)check"):
        conn.execute(
            "INSERT INTO memberships (user_id, org_id, role, created_at)"
            " VALUES ((SELECT id FROM users WHERE email = 'x@y.z'), ?, 'owner', 't')",
            (org.id,),
        )
    # A connected row without tokens is refused too.
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)check"):
        conn.execute(
            "INSERT INTO quickbooks_connections (org_id, realm_id, status, updated_at)"
            " VALUES (?, '1', 'connected', '2026-01-01T00:00:00+00:00')",
            (org.id,),
        )


def test_new_organizations_get_the_default_integration_settings(make_settings):
    service = IntegrationService(make_settings())
    service.create_org("acme", "Acme Inc")

    settings = service.settings("acme")

    assert (settings.auto_sync, settings.frequency, settings.local_time) == (
        True,
        "nightly",
        "02:00",
    )
    assert (settings.timezone, settings.history_years) == ("UTC", 3)
