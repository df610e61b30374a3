"""An organization's marts on a Postgres warehouse, copied into a DuckDB database in memory.

The goal step computes, and the web app, JSON API and CLI read, with DuckDB SQL written for
the DuckDB warehouse's names (`marts.pnl_monthly`, `marts.goal_values`). On a Postgres
warehouse those readers get an in-memory DuckDB holding copies of the organization's
relations under the same names, so there is one goal engine and one set of reading queries
for both backends (docs/decisions.md, "Goals on a Postgres warehouse"). What is copied is
small: monthly report marts, the chart of accounts and the goal tables of one organization.

Types are carried over as the Postgres catalog states them (`numeric(18,2)` is
DECIMAL(18,2), `jsonb` is JSON), so a value reads the same on either backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import duckdb
import pyarrow as pa

from qb_pipeline.warehouse.postgres import COLUMNS_SQL, PostgresWarehouse

# Postgres type (format_type) -> DuckDB type; anything else is read as text.
_SAME_TYPES = {
    "boolean": "BOOLEAN",
    "date": "DATE",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "numeric": "DOUBLE",
    "text": "VARCHAR",
    "timestamp with time zone": "TIMESTAMPTZ",
    "timestamp without time zone": "TIMESTAMP",
    "json": "JSON",
    "jsonb": "JSON",
}
_SIZED_NUMERIC = re.compile(r"^numeric\((\d+),(\d+)\)$")
# Postgres types psycopg2 turns into Python objects DuckDB should not see (jsonb -> dict):
# read as text and cast by DuckDB.
_READ_AS_TEXT = ("json", "jsonb")

RELATIONS_SQL = """
SELECT c.relname
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = ? AND c.relkind IN ('r', 'v', 'm', 'p')
"""


def duckdb_type(postgres_type: str) -> str:
    """The DuckDB type a Postgres column's values are read as."""
    if postgres_type in _SAME_TYPES:
        return _SAME_TYPES[postgres_type]
    sized = _SIZED_NUMERIC.match(postgres_type)
    if sized:
        precision, scale = (int(part) for part in sized.groups())
        return f"DECIMAL({precision},{scale})" if precision <= 38 else "DOUBLE"
    return "VARCHAR"


def relations_in(pg: PostgresWarehouse, layer: str) -> set[str]:
    """Names of the tables and views of the organization's schema for `layer`."""
    rows = pg.execute(RELATIONS_SQL, [pg.schemas[layer]]).fetchall()
    return {row[0] for row in rows}


def copy_relations(
    duck: duckdb.DuckDBPyConnection,
    pg: PostgresWarehouse,
    layer: str,
    names: Iterable[str] | None = None,
    *,
    database: str | None = None,
    append: bool = False,
) -> set[str]:
    """Copy each relation of `names` (default: all) that exists in the organization's schema
    for `layer` into DuckDB as the table `[database.]layer.name`; returns the names copied.
    With `append`, the DuckDB tables exist and get the rows appended."""
    schema = pg.schemas[layer]
    present = relations_in(pg, layer)
    names = present if names is None else set(names) & present
    target = f"{database}.{layer}" if database else layer
    duck.execute(f"CREATE SCHEMA IF NOT EXISTS {target}")
    copied = set()
    for name in sorted(names):
        qualified = f'"{schema}"."{name}"'
        columns = pg.execute(COLUMNS_SQL, [qualified]).fetchall()
        rows = pg.execute(f"SELECT {_select_list(columns)} FROM {qualified}").fetchall()
        _create_or_append(duck, f"{target}.{name}", columns, rows, append)
        copied.add(name)
    return copied


def copy_date_spans(
    duck: duckdb.DuckDBPyConnection,
    pg: PostgresWarehouse,
    layer: str,
    names: Iterable[str],
    column: str,
    *,
    database: str | None = None,
) -> set[str]:
    """For each table of `names` in the organization's schema for `layer` that has `column`:
    a table of that name in DuckDB holding, per organization and company, the rows with the
    column's first and last value only: what "Data available" asks of a transaction table
    (its dates), without copying every transaction."""
    schema = pg.schemas[layer]
    target = f"{database}.{layer}" if database else layer
    duck.execute(f"CREATE SCHEMA IF NOT EXISTS {target}")
    copied = set()
    for name in sorted(set(names) & relations_in(pg, layer)):
        qualified = f'"{schema}"."{name}"'
        types = dict(pg.execute(COLUMNS_SQL, [qualified]).fetchall())
        if not {"org_id", "realm_id", column} <= types.keys():
            continue
        spans = pg.execute(
            f'SELECT org_id, realm_id, min("{column}"), max("{column}") FROM {qualified} '
            "GROUP BY org_id, realm_id"
        ).fetchall()
        rows = [(org, realm, day) for org, realm, *days in spans for day in days]
        columns = [("org_id", "text"), ("realm_id", "text"), (column, types[column])]
        _create_or_append(duck, f"{target}.{name}", columns, rows, append=False)
        copied.add(name)
    return copied


def _select_list(columns: Sequence[tuple[str, str]]) -> str:
    return ", ".join(
        f'"{name}"::text' if kind in _READ_AS_TEXT else f'"{name}"' for name, kind in columns
    )


def _create_or_append(
    duck: duckdb.DuckDBPyConnection,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[tuple],
    append: bool,
) -> None:
    """Rows into DuckDB `table` with each column cast to its DuckDB type (pyarrow infers a
    column of NULLs as null, Decimals by their digits: the cast gives every column its
    type whatever the values)."""
    names = [name for name, _kind in columns]
    arrow = pa.table({name: pa.array([row[i] for row in rows]) for i, name in enumerate(names)})
    select = ", ".join(f'CAST("{n}" AS {duckdb_type(k)}) AS "{n}"' for n, k in columns)
    duck.register("_postgres_rows", arrow)
    try:
        if append:
            duck.execute(f"INSERT INTO {table} BY NAME SELECT {select} FROM _postgres_rows")
        else:
            duck.execute(f"CREATE TABLE {table} AS SELECT {select} FROM _postgres_rows")
    finally:
        duck.unregister("_postgres_rows")


__all__ = ["copy_date_spans", "copy_relations", "duckdb_type", "relations_in"]
