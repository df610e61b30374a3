"""Build the staging (`qbo.*`) and BI (`marts.*`) layers of the warehouse from their SQL.

Staging and marts are views: the database computes them from `qbo_raw` when read, so they
are never stale; rebuilding one is cheap and idempotent. A Dagster asset per model calls
`run_model(con, model)` (one SQL file, one asset) and reports
`model_row_count(con, model, org_id)` for its partition.

The statements only read the raw tables a QuickBooks sync writes (`qbo_raw.account` and
`qbo_raw.report_lines`); before the first sync they fail with WarehouseNotReady. Optional
models (`-- optional: true`, e.g. the budgets: a company may have none, and dlt creates a
table with its first row) are left out until what they read exists.

`con` is a DuckDB connection (the organization's file) or a PostgresWarehouse (the
organization's schemas of QBP_WAREHOUSE_URL): the same SQL runs on both, each relation in the
organization's schema of its layer (dialect.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from qb_pipeline.warehouse.dialect import qualified_name, qualified_sql, schema_name
from qb_pipeline.warehouse.model_files import SqlModel, comment_statements, load_models
from qb_pipeline.warehouse.postgres import UNDEFINED_RELATION, PostgresWarehouse

# A DuckDB connection, or one organization's schemas on Postgres.
Connection = duckdb.DuckDBPyConnection | PostgresWarehouse


class WarehouseNotReady(RuntimeError):
    """A model reads a table that does not exist yet (no sync has loaded it)."""


def schemas_of(con: Connection) -> Mapping[str, str]:
    """{layer: schema} of the organization `con` reaches; empty for a DuckDB file, whose
    schemas are the layers' own names."""
    return con.schemas if isinstance(con, PostgresWarehouse) else {}


def relation_name(con: Connection, name: str) -> str:
    """A model's `layer.table` name as `con` reaches it."""
    return qualified_name(name, schemas_of(con))


def relation_exists(con: Connection, name: str) -> bool:
    """Whether the `layer.table` relation exists where `con` reaches it."""
    layer, table = name.split(".", 1)
    schema = schemas_of(con).get(layer, layer)
    row = con.execute(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def is_buildable(con: Connection, model: SqlModel) -> bool:
    """False for an optional model while a relation it reads does not exist yet."""
    return not model.optional or all(relation_exists(con, d) for d in model.depends_on)


def run_model(con: Connection, model: SqlModel) -> bool:
    """Create or replace one model's view (or create its table if missing); False, and
    nothing done, for an optional model whose sources do not exist yet."""
    if not is_buildable(con, model):
        return False
    schemas = schemas_of(con)
    name = qualified_name(model.name, schemas)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_name(model.schema, schemas)}")
    body = qualified_sql(model.sql, schemas)
    try:
        if model.materialized == "table":
            con.execute(body)
        elif isinstance(con, PostgresWarehouse):
            con.replace_view(name, body)
        else:
            con.execute(f"CREATE OR REPLACE VIEW {name} AS\n{body}")
        for comment in comment_statements(model, name):
            con.execute(comment)
    except (duckdb.CatalogException, *UNDEFINED_RELATION) as error:
        needs = ", ".join(model.depends_on) or "its source tables"
        raise WarehouseNotReady(
            f"{model.name} ({model.path.name}) reads {needs}, which the warehouse does not "
            f"have yet: run a QuickBooks sync first ({error})"
        ) from error
    return True


def run_sql_models(con: Connection, layer: str | None = None) -> list[SqlModel]:
    """Run every model (or those of one layer: `staging` or `marts`) in dependency order,
    in one transaction, so readers see all the new views or none."""
    models = [m for m in load_models() if layer is None or m.layer == layer]
    con.execute("BEGIN TRANSACTION")
    try:
        for item in models:
            run_model(con, item)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return models


def build_staging(con: Connection) -> list[SqlModel]:
    """The `qbo.*` models."""
    return run_sql_models(con, "staging")


def build_marts(con: Connection) -> list[SqlModel]:
    """The `marts.*` views (the staging models must exist)."""
    return run_sql_models(con, "marts")


def model_row_count(con: Connection, model: SqlModel, org_id: str | None = None) -> int:
    """Rows of a model, of one organization when `org_id` is given."""
    name = relation_name(con, model.name)
    if org_id is None:
        row = con.execute(f"SELECT COUNT(*) FROM {name}").fetchone()
    else:
        sql = f"SELECT COUNT(*) FROM {name} WHERE org_id = ?"
        row = con.execute(sql, [org_id]).fetchone()
    return int(row[0]) if row else 0
