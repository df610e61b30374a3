"""Reading the serving copy: how the web app, the JSON API and the CLI read imported data and
goal values, never from the warehouse the pipeline writes (publish.py says why).

The copy is opened read-only for one unit of work and closed again, so a reader never holds
a file the next publish replaces for longer than it needs; a copy that cannot be opened (it
does not exist yet, or it is being replaced this instant) is a note, not an error.

On a Postgres warehouse (QBP_WAREHOUSE_URL) there is no file: the readers get a DuckDB
database in memory holding copies of the organization's marts (its `marts_<org>` schema, the
goal views included), so they run the same queries on either backend
(postgres_snapshot.py). `raw_date_spans` adds, for those raw transaction tables, the first
and last transaction date of each company, which is all "Data available" reads of them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from qb_pipeline.config import Settings

NOT_PUBLISHED = "nothing has been imported yet (the first sync publishes it)"


@dataclass(frozen=True)
class ServingCopy:
    """A read-only connection to the serving copy, or why there is none."""

    con: duckdb.DuckDBPyConnection | None
    note: str | None = None


@contextmanager
def serving_copy(
    settings: Settings, org_id: str, *, raw_date_spans: Collection[str] = ()
) -> Iterator[ServingCopy]:
    """`org_id`'s serving copy opened read-only for the duration of the block."""
    if settings.warehouse_url is not None:
        with _postgres_copy(settings.warehouse_url, org_id, None, raw_date_spans) as copy:
            yield copy
        return
    path = settings.serving_path(org_id)
    if not path.exists():
        yield ServingCopy(None, NOT_PUBLISHED)
        return
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        reason = " ".join(str(error).split())[:200]
        yield ServingCopy(None, f"the imported data cannot be read now ({reason})")
        return
    try:
        yield ServingCopy(con)
    finally:
        con.close()


ATTACHED_AS = "serving"


@contextmanager
def attached_serving_copy(settings: Settings, org_id: str) -> Iterator[ServingCopy]:
    """An in-memory DuckDB with `org_id`'s serving copy attached read-only as `serving`: a
    place to compute from the published data (a goal's preview) without writing anything to
    it."""
    if settings.warehouse_url is not None:
        with _postgres_copy(settings.warehouse_url, org_id, ATTACHED_AS, ()) as copy:
            yield copy
        return
    path = settings.serving_path(org_id)
    if not path.exists():
        yield ServingCopy(None, NOT_PUBLISHED)
        return
    con = duckdb.connect(":memory:")
    try:
        try:
            con.execute(f"ATTACH '{_quoted(path)}' AS {ATTACHED_AS} (READ_ONLY)")
        except duckdb.Error as error:
            reason = " ".join(str(error).split())[:200]
            yield ServingCopy(None, f"the imported data cannot be read now ({reason})")
            return
        yield ServingCopy(con)
    finally:
        con.close()


@contextmanager
def _postgres_copy(
    url: str, org_id: str, database: str | None, raw_date_spans: Collection[str]
) -> Iterator[ServingCopy]:
    """The organization's marts of the Postgres warehouse `url`, copied into a DuckDB
    database in memory (attached as `database`, when given)."""
    # Imported here: a reader of a DuckDB warehouse never loads psycopg2.
    import psycopg2

    from qb_pipeline.warehouse.postgres import PostgresWarehouse, WarehouseUnreachable
    from qb_pipeline.warehouse.postgres_snapshot import copy_date_spans, copy_relations

    con = duckdb.connect(":memory:")
    try:
        try:
            with PostgresWarehouse(url, org_id) as pg:
                if database is not None:
                    con.execute(f"ATTACH ':memory:' AS {database}")
                copied = copy_relations(con, pg, "marts", database=database)
                copy_date_spans(con, pg, "qbo_raw", raw_date_spans, "txn_date", database=database)
        except (WarehouseUnreachable, psycopg2.Error) as error:
            reason = " ".join(str(error).split())[:200]
            yield ServingCopy(None, f"the imported data cannot be read now ({reason})")
            return
        yield ServingCopy(con) if copied else ServingCopy(None, NOT_PUBLISHED)
    finally:
        con.close()


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


__all__ = ["ATTACHED_AS", "NOT_PUBLISHED", "ServingCopy", "attached_serving_copy", "serving_copy"]
