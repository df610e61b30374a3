"""The control DB: a SQLite file under QBP_HOME (the default) or a Postgres database
(QBP_DATABASE_URL), and its versioned migrations, which run on both.

A connection is opened per unit of work, so the service is safe to share between threads
(the web app's thread pool) and processes (Dagster runs, other machines on Postgres).
Connections run in autocommit mode and every write goes through `transaction()`, which takes
the write lock up front so concurrent writers queue instead of failing half-way: SQLite's
BEGIN IMMEDIATE, and on Postgres one transaction-level advisory lock that every writer takes,
which gives Postgres SQLite's one-writer-at-a-time semantics that the modules here rely on
(event ids in commit order, read-then-write checks). docs/decisions.md has the trade-off.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeAlias

from qb_pipeline.config import Settings
from qb_pipeline.connections import postgres
from qb_pipeline.connections.postgres import (
    DATABASE_ERROR,
    INTEGRITY_ERROR,
    PostgresConnection,
    describe_url,
)
from qb_pipeline.file_locks import exclusive_file_lock

MIGRATIONS_PACKAGE = "qb_pipeline.connections.migrations"
BUSY_TIMEOUT_MS = 30_000

# A connection to either engine; both offer execute(sql, params) with `?` placeholders,
# rows by name and position, and in_transaction.
Connection: TypeAlias = sqlite3.Connection | PostgresConnection
Row: TypeAlias = sqlite3.Row | postgres.Row

# What a caller catches, whichever engine raised it.
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, INTEGRITY_ERROR)
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, DATABASE_ERROR)

# Postgres advisory locks are keyed by two int4s: ours all have this first half ("qbp\0"),
# so they never meet another application's locks in a shared database.
LOCK_SPACE = 0x71627000
# The second halves of the control DB's write lock and of its migration lock (connection
# locks have a space of their own, locks.py).
WRITE_LOCK_KEY = 1
MIGRATION_LOCK_KEY = 2


@dataclass(frozen=True)
class ControlDB:
    """Where the control DB lives: a SQLite file, or a Postgres database by URL."""

    sqlite_path: Path | None = None
    postgres_url: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.sqlite_path is None) == (self.postgres_url is None):
            raise ValueError("a control DB is either a SQLite path or a Postgres URL")

    def __str__(self) -> str:
        # Never the Postgres password: this is what messages and logs show.
        if self.sqlite_path is not None:
            return str(self.sqlite_path)
        return describe_url(self.postgres_url or "")

    def __repr__(self) -> str:
        return f"ControlDB({str(self)!r})"


def control_db_of(settings: Settings) -> ControlDB:
    """The control DB that `settings` name (QBP_DATABASE_URL; SQLite under QBP_HOME)."""
    if settings.postgres_database_url is not None:
        return ControlDB(postgres_url=settings.postgres_database_url)
    return ControlDB(sqlite_path=settings.control_db_path)


def control_db_at(target: ControlDB | Path | str) -> ControlDB:
    """A ControlDB for `target`: itself, or a SQLite file path."""
    return target if isinstance(target, ControlDB) else ControlDB(sqlite_path=Path(target))


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


def connect(target: ControlDB | Path) -> Connection:
    """A connection to the control DB: on SQLite with foreign keys on and a generous busy
    timeout; on Postgres an autocommit connection."""
    db = control_db_at(target)
    if db.postgres_url is not None:
        return PostgresConnection(db.postgres_url)
    conn = sqlite3.connect(db.sqlite_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


@contextmanager
def open_db(target: ControlDB | Path) -> Iterator[Connection]:
    conn = connect(target)
    try:
        yield conn
    finally:
        conn.close()


def begin_write(conn: Connection) -> None:
    """Open a transaction holding the control DB's write lock (see the module docstring)."""
    if isinstance(conn, PostgresConnection):
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(?, ?)", (LOCK_SPACE, WRITE_LOCK_KEY))
    else:
        conn.execute("BEGIN IMMEDIATE")


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """A write transaction (`begin_write`) ... COMMIT, or ROLLBACK on any exception."""
    begin_write(conn)
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


# The one spelling the two engines do not share: a surrogate key the database assigns.
# Migrations write SQLite's (`INTEGER PRIMARY KEY`, optionally AUTOINCREMENT: ids never
# reused); Postgres gets an identity column, whose sequence never reuses an id either.
_SQLITE_SURROGATE_KEY = re.compile(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b", re.I)
_POSTGRES_SURROGATE_KEY = "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"


def for_engine(statement: str, conn: Connection) -> str:
    """A migration statement as `conn`'s engine spells it."""
    if isinstance(conn, PostgresConnection):
        return _SQLITE_SURROGATE_KEY.sub(_POSTGRES_SURROGATE_KEY, statement)
    return statement


def migrate(conn: Connection, source: Traversable | Path | None = None) -> list[str]:
    """Apply every migration not yet recorded in schema_migrations; returns those applied.

    Each file runs once, in version order, inside its own transaction together with its
    schema_migrations row, so a failing migration leaves no trace and two processes
    starting at once cannot both apply the same file (the second waits on the write lock,
    then skips it). Both engines run DDL inside a transaction.
    """
    with transaction(conn):
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
                conn.execute(for_engine(statement, conn))
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, to_text(utcnow())),
            )
        applied.append(f"{version}_{name}")
    return applied


def prepare(target: ControlDB | Path) -> list[str]:
    """Migrate the control DB; returns the migrations applied.

    On SQLite, first create the file's folder and switch the file to WAL. Services in several
    processes (web app, Dagster runs, the CLI) may start at once on a new QBP_HOME. SQLite
    answers a concurrent `PRAGMA journal_mode = WAL` with "database is locked" at once,
    without waiting on the busy timeout, so preparation is serialized across processes with
    an advisory lock on a file beside the database. On Postgres the write lock that every
    migration's transaction takes serializes them.
    """
    db = control_db_at(target)
    if db.sqlite_path is None:
        with open_db(db) as conn:
            # The migration lock: one process migrates from start to end while the others
            # wait, then find nothing left to do (as the file lock does on SQLite).
            conn.execute("SELECT pg_advisory_lock(?, ?)", (LOCK_SPACE, MIGRATION_LOCK_KEY))
            try:
                return migrate(conn)
            finally:
                conn.execute("SELECT pg_advisory_unlock(?, ?)", (LOCK_SPACE, MIGRATION_LOCK_KEY))
    path = db.sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        exclusive_file_lock(path.with_name(path.name + ".prepare-lock")),
        open_db(path) as conn,
    ):
        # WAL lets readers (the web page, `status`) read while a refresh commits.
        conn.execute("PRAGMA journal_mode = WAL")
        return migrate(conn)
