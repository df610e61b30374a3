"""The control DB on Postgres: a psycopg2 connection that speaks like the sqlite3 one.

The control DB's modules are written once, against the DB-API as sqlite3 offers it: `?`
placeholders, rows readable by column name and by position, `in_transaction`, explicit
BEGIN / COMMIT on an autocommit connection. This adapter gives a Postgres connection that
same surface, so every query runs unchanged on both engines (db.py chooses the engine from
QBP_DATABASE_URL). Only what the control DB uses is offered.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import psycopg2.extensions

from qb_pipeline.sql_placeholders import to_pyformat

# Seconds to wait for a connection; a database that does not answer must not hang a sync.
CONNECT_TIMEOUT = 10


class Row(tuple):
    """A result row readable as `row["column"]` and `row[0]`, like sqlite3.Row."""

    _columns: dict[str, int]

    def __new__(cls, values: Sequence[Any], columns: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._columns = columns
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return super().__getitem__(self._columns[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._columns)


class Cursor:
    """The result of one statement: rows as `Row`s, and `rowcount`."""

    def __init__(self, raw: psycopg2.extensions.cursor) -> None:
        self._raw = raw
        description = raw.description or ()
        self._columns = {column.name: index for index, column in enumerate(description)}

    @property
    def rowcount(self) -> int:
        return self._raw.rowcount

    def fetchone(self) -> Row | None:
        values = self._raw.fetchone()
        return None if values is None else Row(values, self._columns)

    def fetchall(self) -> list[Row]:
        return [Row(values, self._columns) for values in self._raw.fetchall()]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


class PostgresConnection:
    """One autocommit psycopg2 connection; transactions are explicit, as on SQLite."""

    def __init__(self, url: str) -> None:
        self._raw = psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT)
        self._raw.autocommit = True

    @property
    def in_transaction(self) -> bool:
        status = self._raw.info.transaction_status
        return status != psycopg2.extensions.TRANSACTION_STATUS_IDLE

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        cursor = self._raw.cursor()
        if parameters:
            cursor.execute(to_pyformat(sql), tuple(parameters))
        else:
            cursor.execute(sql)
        return Cursor(cursor)

    def close(self) -> None:
        self._raw.close()


def describe_url(url: str) -> str:
    """`postgresql://host:port/database` of `url`: never its user or password."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"postgresql://{parts.hostname or 'localhost'}{port}{parts.path}"


INTEGRITY_ERROR = psycopg2.IntegrityError
DATABASE_ERROR = psycopg2.Error

__all__ = [
    "DATABASE_ERROR",
    "INTEGRITY_ERROR",
    "Cursor",
    "PostgresConnection",
    "Row",
    "describe_url",
]
