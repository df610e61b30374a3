"""Build the staging (`qbo.*`) and BI (`marts.*`) layers of the warehouse from their SQL.

Staging and marts are views: DuckDB computes them from `qbo_raw` when read, so they are
never stale and hold every organization's rows at once; rebuilding one is cheap and
idempotent. A Dagster asset per model calls `run_model(con, model)` (one SQL file, one
asset) and reports `model_row_count(con, model, org_id)` for its partition.

The statements only read the raw tables a QuickBooks sync writes (`qbo_raw.account` and
`qbo_raw.report_lines`); before the first sync they fail with WarehouseNotReady.
"""

from __future__ import annotations

import duckdb

from qb_pipeline.warehouse.model_files import SqlModel, comment_statements, load_models


class WarehouseNotReady(RuntimeError):
    """A model reads a table that does not exist yet (no sync has loaded it)."""


def run_model(con: duckdb.DuckDBPyConnection, model: SqlModel) -> None:
    """Create or replace one model's view (or create its table if missing)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.schema}")
    statement = (
        model.sql
        if model.materialized == "table"
        else f"CREATE OR REPLACE VIEW {model.name} AS\n{model.sql}"
    )
    try:
        con.execute(statement)
        for comment in comment_statements(model):
            con.execute(comment)
    except duckdb.CatalogException as error:
        needs = ", ".join(model.depends_on) or "its source tables"
        raise WarehouseNotReady(
            f"{model.name} ({model.path.name}) reads {needs}, which the warehouse does not "
            f"have yet: run a QuickBooks sync first ({error})"
        ) from error


def run_sql_models(con: duckdb.DuckDBPyConnection, layer: str | None = None) -> list[SqlModel]:
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


def build_staging(con: duckdb.DuckDBPyConnection) -> list[SqlModel]:
    """The `qbo.*` models."""
    return run_sql_models(con, "staging")


def build_marts(con: duckdb.DuckDBPyConnection) -> list[SqlModel]:
    """The `marts.*` views (the staging models must exist)."""
    return run_sql_models(con, "marts")


def model_row_count(
    con: duckdb.DuckDBPyConnection, model: SqlModel, org_id: str | None = None
) -> int:
    """Rows of a model, of one organization when `org_id` is given."""
    if org_id is None:
        row = con.execute(f"SELECT COUNT(*) FROM {model.name}").fetchone()
    else:
        sql = f"SELECT COUNT(*) FROM {model.name} WHERE org_id = ?"
        row = con.execute(sql, [org_id]).fetchone()
    return int(row[0]) if row else 0
