"""One organization's warehouse on the configured backend: its DuckDB file under QBP_HOME, or
its schemas of the Postgres database QBP_WAREHOUSE_URL names.

The steps of a sync open the warehouse here and hand the connection to the transform and the
connection-status copy, which run on either (transform.py). DuckDB allows one writer per file,
so opening it waits for other processes (writer.py); Postgres has no such limit, and the run
queue keeps two runs of one organization apart on either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from qb_pipeline.config import Settings, redacted_url
from qb_pipeline.warehouse.dialect import postgres_schemas
from qb_pipeline.warehouse.postgres import COLUMNS_SQL, PostgresWarehouse
from qb_pipeline.warehouse.transform import Connection, relation_name
from qb_pipeline.warehouse.writer import open_writer


@contextmanager
def open_org_warehouse(
    settings: Settings,
    org_id: str,
    wait_seconds: float,
    on_wait: Callable[[int | None], None] | None = None,
) -> Iterator[Connection]:
    """A read-write connection to `org_id`'s warehouse for the block (a DuckDB file: waiting
    up to `wait_seconds` for other processes, then WarehouseBusy)."""
    if settings.warehouse_url is not None:
        with PostgresWarehouse(settings.warehouse_url, org_id) as connection:
            yield connection
        return
    path = settings.warehouse_path(org_id)
    with open_writer(path, wait_seconds, settings.serving_path(org_id), on_wait) as connection:
        yield connection


def warehouse_location(settings: Settings, org_id: str) -> str:
    """Where `org_id`'s raw tables are, for log lines and messages (never a password)."""
    if settings.warehouse_url is not None:
        schema = postgres_schemas(org_id)["qbo_raw"]
        return f"schema {schema} of {redacted_url(settings.warehouse_url)}"
    return str(settings.warehouse_path(org_id))


def raw_schema(con: Connection, layer_name: str = "qbo_raw") -> str:
    """The schema name (unquoted) of the raw layer as `con` reaches it."""
    schemas = getattr(con, "schemas", None)
    return schemas[layer_name] if schemas else layer_name


def column_types(con: Connection, name: str) -> dict[str, str]:
    """{column: type} of the model `name` (`layer.table`) as the database reports them."""
    qualified = relation_name(con, name)
    if isinstance(con, PostgresWarehouse):
        return dict(con.execute(COLUMNS_SQL, [qualified]).fetchall())
    return dict(
        con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {qualified})").fetchall()
    )
