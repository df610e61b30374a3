"""The control DB: one SQLite file under QBP_HOME, and its versioned migrations.

A connection is opened per unit of work (`connect()` is cheap for SQLite), so the service is
safe to share between threads (the web app's thread pool) and processes (Dagster runs).
Connections run in autocommit mode and every write goes through `transaction()`, which takes
the write lock up front (BEGIN IMMEDIATE) so concurrent writers queue instead of failing
half-way with "database is locked".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from qb_pipeline.file_locks import exclusive_file_lock

MIGRATIONS_PACKAGE = "qb_pipeline.connections.migrations"
BUSY_TIMEOUT_MS = 30_000


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_text(moment: datetime | None) -> str | None:
    """ISO-8601 UTC text, seconds precision, as stored in every timestamp column."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored; give a timezone-aware one")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_text(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the control DB with foreign keys on and a generous busy timeout."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


@contextmanager
def open_db(path: Path) -> Iterator[sqlite3.Connection]:
    conn = connect(path)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migration_files(source: Traversable | Path | None = None) -> list[tuple[str, str, str]]:
    """(version, name, sql) of every `NNNN_name.sql` in `source` (default: the package's
    migrations folder), in version order."""
    folder = source if source is not None else resources.files(MIGRATIONS_PACKAGE)
    found = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        stem = entry.name.removesuffix(".sql")
        version, _, name = stem.partition("_")
        if not version.isdigit():
            raise RuntimeError(f"migration file {entry.name!r} must be named NNNN_name.sql")
        found.append((version, name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda item: int(item[0]))
    versions = [int(version) for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migration files share a version number: {versions}")
    return found


def split_statements(sql: str) -> list[str]:
    """The statements of a script, split where SQLite says a statement is complete.

    `executescript()` would commit any open transaction first, which would break the
    one-transaction-per-migration rule, so each statement is executed on its own.
    """
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            if _has_code(statement):
                statements.append(statement)
            pending = ""
    if _has_code(pending):
        raise RuntimeError(f"migration ends with an incomplete statement: {pending.strip()[:80]}")
    return statements


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


def migrate(conn: sqlite3.Connection, source: Traversable | Path | None = None) -> list[str]:
    """Apply every migration not yet recorded in schema_migrations; returns those applied.

    Each file runs once, in version order, inside its own transaction together with its
    schema_migrations row, so a failing migration leaves no trace and two processes
    starting at once cannot both apply the same file (the second waits, then skips it).
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version VARCHAR(20) PRIMARY KEY, name VARCHAR(200) NOT NULL,"
        " applied_at VARCHAR(40) NOT NULL)"
    )
    applied = []
    for version, name, sql in migration_files(source):
        with transaction(conn):
            done = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
            ).fetchone()
            if done:
                continue
            for statement in split_statements(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, to_text(utcnow())),
            )
        applied.append(f"{version}_{name}")
    return applied


def prepare(path: Path) -> list[str]:
    """Create the DB file's folder, switch the file to WAL, and migrate it.

    Services in several processes (web app, Dagster runs, the CLI) may start at once on a
    new QBP_HOME. SQLite answers a concurrent `PRAGMA journal_mode = WAL` with "database is
    locked" at once, without waiting on the busy timeout, so preparation is serialized
    across processes with an advisory lock on a file beside the database.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        exclusive_file_lock(path.with_name(path.name + ".prepare-lock")),
        open_db(path) as conn,
    ):
        # WAL lets readers (the web page, `status`) read while a refresh commits.
        conn.execute("PRAGMA journal_mode = WAL")
        return migrate(conn)
