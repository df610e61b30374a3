"""Where one organization's goals are computed: a DuckDB connection that holds the marts
goals read and the goal tables they write, on either warehouse backend.

- DuckDB warehouse (the default): the organization's warehouse file itself, opened for
  writing (waiting for other processes as writer.py does); the serving step publishes it.
- Postgres warehouse (QBP_WAREHOUSE_URL): a DuckDB database in memory, holding copies of the
  organization's marts and goal tables (warehouse/postgres_snapshot.py). When the block ends
  without an error, what the computation changed goes back to the organization's `goals_<org>`
  schema in one Postgres transaction: its goal values and goal definitions are replaced, the
  history rows it appended are appended. BI roles read them through the `marts_<org>` views
  at once; a failed computation writes nothing.

So the goal SQL (DuckDB's) is the one goal engine for both backends; docs/decisions.md,
"Goals on a Postgres warehouse", says why.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import duckdb

from qb_pipeline.config import Settings
from qb_pipeline.goals.compute import ensure_goal_tables
from qb_pipeline.goals.marts import MART_COLUMNS
from qb_pipeline.goals.sqlfiles import sql_statements
from qb_pipeline.warehouse.dialect import qualified_sql, schema_name
from qb_pipeline.warehouse.postgres import PostgresWarehouse
from qb_pipeline.warehouse.postgres_snapshot import copy_relations
from qb_pipeline.warehouse.writer import open_writer

# The goal tables, replaced whole per organization (values, definitions) or appended to.
REPLACED_TABLES = ("goal_values", "goal_definitions")
APPENDED_TABLE = "goal_value_history"
_CREATE_SCHEMA = "CREATE SCHEMA IF NOT EXISTS "


@contextmanager
def goal_workspace(
    settings: Settings, org_id: str, wait_seconds: float
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection to compute `org_id`'s goals in (see the module's docstring)."""
    if settings.warehouse_url is None:
        with open_writer(
            settings.warehouse_path(org_id), wait_seconds, settings.serving_path(org_id)
        ) as con:
            yield con
        return
    with PostgresWarehouse(settings.warehouse_url, org_id) as pg:
        ensure_postgres_goal_tables(pg)
        duck = duckdb.connect(":memory:")
        try:
            copy_relations(duck, pg, "marts", MART_COLUMNS)
            ensure_goal_tables(duck)
            copy_relations(duck, pg, "goals", (*REPLACED_TABLES, APPENDED_TABLE), append=True)
            (history_loaded,) = duck.execute(
                f"SELECT count(*) FROM goals.{APPENDED_TABLE}"
            ).fetchone()
            yield duck
            _write_back(duck, pg, int(history_loaded))
        finally:
            duck.close()


def ensure_postgres_goal_tables(pg: PostgresWarehouse) -> None:
    """The goal tables in the organization's `goals_<org>` schema and the marts views over
    them, from the same DDL as on DuckDB (one transaction: a reader never sees a view
    missing while it is replaced)."""
    pg.execute("BEGIN")
    try:
        for statement in sql_statements("goal_values_ddl.sql"):
            pg.execute(postgres_ddl(statement, pg.schemas))
    except BaseException:
        pg.execute("ROLLBACK")
        raise
    pg.execute("COMMIT")


def postgres_ddl(statement: str, schemas: dict[str, str]) -> str:
    """A statement of goal_values_ddl.sql for the organization's Postgres schemas."""
    if statement.startswith(_CREATE_SCHEMA):
        layer = statement.removeprefix(_CREATE_SCHEMA).strip()
        return _CREATE_SCHEMA + schema_name(layer, schemas)
    return qualified_sql(statement, schemas)


def _write_back(
    duck: duckdb.DuckDBPyConnection, pg: PostgresWarehouse, history_loaded: int
) -> None:
    """The computation's goal tables into Postgres, in one transaction."""
    pg.execute("BEGIN")
    try:
        for table in REPLACED_TABLES:
            target = qualified_sql(f"goals.{table}", pg.schemas)
            pg.execute(f"DELETE FROM {target}")
            columns, rows = _rows(duck, f"SELECT * FROM goals.{table}")
            pg.insert_rows(target, columns, rows)
        # The history is append-only and this in-memory table had `history_loaded` rows:
        # DuckDB numbers a table's rows in insertion order, so the computation's own rows
        # are those numbered from there on.
        columns, rows = _rows(
            duck, f"SELECT * FROM goals.{APPENDED_TABLE} WHERE rowid >= {history_loaded}"
        )
        pg.insert_rows(qualified_sql(f"goals.{APPENDED_TABLE}", pg.schemas), columns, rows)
    except BaseException:
        pg.execute("ROLLBACK")
        raise
    pg.execute("COMMIT")


def _rows(duck: duckdb.DuckDBPyConnection, query: str) -> tuple[list[str], Sequence[tuple]]:
    cursor = duck.execute(query)
    return [column[0] for column in cursor.description], cursor.fetchall()


__all__ = ["ensure_postgres_goal_tables", "goal_workspace", "postgres_ddl"]
