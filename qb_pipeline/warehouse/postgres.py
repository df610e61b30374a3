"""One organization's warehouse on Postgres (QBP_WAREHOUSE_URL), through the calls the
pipeline makes on a DuckDB connection.

`PostgresWarehouse` answers `execute(sql, params)` with `?` placeholders, `executemany`,
`fetchone`, `fetchall` and `close` like a DuckDB connection, so the transform and the
connection-status copy run on either; `schemas` tells them the organization's schemas
(dialect.py). It runs in autocommit, so an explicit BEGIN ... COMMIT is one transaction, as on
DuckDB. Sessions are in UTC, so timestamps come back as DuckDB gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

from qb_pipeline.config import redacted_url
from qb_pipeline.sql_placeholders import to_pyformat
from qb_pipeline.warehouse.dialect import postgres_schemas

# What Postgres raises where DuckDB raises a CatalogException: a relation that is not there.
UNDEFINED_RELATION: tuple[type[Exception], ...] = (
    psycopg2.errors.UndefinedTable,
    psycopg2.errors.InvalidSchemaName,
)
CONNECT_TIMEOUT_SECONDS = 15
# A relation's columns and Postgres types, in order (DuckDB: DESCRIBE).
COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute AS a
WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
# Rows per INSERT statement of insert_rows.
INSERT_PAGE_ROWS = 1000


class WarehouseUnreachable(RuntimeError):
    """The Postgres warehouse refused or did not answer; the message has no password."""


# What a step on a Postgres warehouse may meet that is the warehouse's, not a bug of ours.
POSTGRES_ERRORS: tuple[type[Exception], ...] = (WarehouseUnreachable, psycopg2.Error)


def connect(url: str, **options: Any) -> psycopg2.extensions.connection:
    """A connection to `url` in autocommit and UTC; WarehouseUnreachable (password hidden)
    when it fails."""
    try:
        connection = psycopg2.connect(
            url, connect_timeout=CONNECT_TIMEOUT_SECONDS, options="-c TimeZone=UTC", **options
        )
    except psycopg2.OperationalError as error:
        # libpq's message names host, port and user, never the password; the URL is redacted.
        reason = " ".join(str(error).split())
        raise WarehouseUnreachable(
            f"cannot connect to the warehouse {redacted_url(url)}: {reason}"
        ) from None
    connection.autocommit = True
    return connection


class PostgresWarehouse:
    """One organization's schemas of a Postgres warehouse, used like a DuckDB connection."""

    dialect = "postgres"

    def __init__(self, url: str, org_id: str) -> None:
        self.org_id = org_id
        self.schemas = postgres_schemas(org_id)
        self._connection = connect(url)
        self._cursor: psycopg2.extensions.cursor | None = None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PostgresWarehouse:
        cursor = self._connection.cursor()
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(to_pyformat(sql), list(params))
        self._cursor = cursor
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PostgresWarehouse:
        cursor = self._connection.cursor()
        cursor.executemany(to_pyformat(sql), [list(row) for row in rows])
        self._cursor = cursor
        return self

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        """INSERT `rows` into `table` (qualified, quoted) in statements of INSERT_PAGE_ROWS
        rows each; returns how many."""
        if rows:
            names = ", ".join(f'"{name}"' for name in columns)
            with self._connection.cursor() as cursor:
                psycopg2.extras.execute_values(
                    cursor,
                    f"INSERT INTO {table} ({names}) VALUES %s",
                    rows,
                    page_size=INSERT_PAGE_ROWS,
                )
        return len(rows)

    def replace_view(self, name: str, body: str) -> None:
        """CREATE OR REPLACE VIEW `name`, also when its columns changed: Postgres replaces a
        view only by one that keeps its columns (names, types, order; DuckDB takes any), so
        then the view is dropped, with the views over it (the later models' steps rebuild
        them), and created again, in one transaction."""
        own = self._connection.info.transaction_status == TRANSACTION_STATUS_IDLE
        self.execute("BEGIN" if own else "SAVEPOINT replace_view")
        try:
            try:
                self.execute(f"CREATE OR REPLACE VIEW {name} AS\n{body}")
            except psycopg2.errors.InvalidTableDefinition:
                self.execute("ROLLBACK TO SAVEPOINT replace_view" if not own else "ROLLBACK")
                if own:
                    self.execute("BEGIN")
                self.execute(f"DROP VIEW {name} CASCADE")
                self.execute(f"CREATE VIEW {name} AS\n{body}")
        except BaseException:
            if own:
                self.execute("ROLLBACK")
            raise
        self.execute("COMMIT" if own else "RELEASE SAVEPOINT replace_view")

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone() if self._cursor is not None else None

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall() if self._cursor is not None else []

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> PostgresWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
