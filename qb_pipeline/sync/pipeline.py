"""The dlt pipeline of one organization's company: its own name (so incremental state never
mixes between organizations, nor between the companies one organization connects one after
the other), the warehouse DuckDB file, dataset `qbo_raw`, state under QBP_HOME.

Child tables (`invoice__line`, ...) are appended to, not merged (arrow_pages.py): when a
record is loaded again or deleted, the root table's merge replaces or removes its root row,
and the child rows of the replaced version are left without a root row. Every load of the
pipeline ends by deleting those rows (`delete_orphan_rows`), so after a sync the child
tables hold exactly the lines of the stored records, as dlt's nested-table merge did.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import re
from collections.abc import Callable
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.pipeline import LoadInfo, NormalizeInfo
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from qb_pipeline.config import Settings, org_slug_checked
from qb_pipeline.sources.quickbooks.helpers.arrow_pages import ROOT_KEY, ROW_KEY
from qb_pipeline.sources.quickbooks.settings import (
    DATASET_NAME,
    LOADER_FILE_FORMAT,
    SOURCE_NAME,
)
from qb_pipeline.warehouse.dialect import POSTGRES_DLT_STAGING_LAYOUT, postgres_schemas

log = logging.getLogger("qb_pipeline.sources.quickbooks")

# Organization slugs (connections/orgs.py, checked by config.org_slug_checked) use a-z, 0-9
# and '-'; dlt names use '_'. The mapping is one to one because slugs have no '_'.
_REALM = re.compile(r"[0-9]{1,32}")

# Memory and speed of a sync (bench/README.md has the measurements, large company). The dlt
# settings are process-wide: every dlt pipeline here is one of ours.
# A writer buffer of 1,000 rows per table (dlt's default 5,000) cut extraction's peak.
WRITER_BUFFER_ROWS = 1000
# Resources are read one after the other, not in turns: in turns every entity's generator
# holds its page (and the page fetched ahead) at once; extraction's peak 476 -> 375 MB.
EXTRACT_ORDER = "fifo"
# Load jobs (one per parquet file) run two at a time: each running job holds DuckDB buffers
# (dlt's default, 20 for DuckDB, took the load's own peak to ~0.43 GB, 2 to ~0.19 GB in
# about the same time on two cores).
LOAD_WORKERS = 2
# Appends and merges need no row order: DuckDB then streams instead of buffering. No
# memory_limit: 128 MB ran merges out of memory, and any fixed limit can fail the load of
# a company larger than the ones measured; DuckDB spills to `<warehouse>.tmp` under
# QBP_HOME when it must.
DUCKDB_SETTINGS: dict[str, object] = {"preserve_insertion_order": False}

POSTGRES_LOADER_FILE_FORMAT = "insert_values"

# A child row whose root row is gone (its record was loaded again, or deleted).
DELETE_ORPHANS_SQL = (
    "DELETE FROM {child} WHERE NOT EXISTS "
    "(SELECT 1 FROM {root} AS r WHERE r.{row_key} = {child}.{root_key})"
)


class QuickBooksPipeline(dlt.Pipeline):
    """A dlt pipeline whose every load ends by deleting orphaned child rows, and whose next
    normalize may first start something (the reports sent ahead, loads.py)."""

    # Called once, at the start of the next normalize: extraction is over by then.
    before_normalize: Callable[[], None] | None = None

    def normalize(self, *args: Any, **kwargs: Any) -> NormalizeInfo:
        hook, self.before_normalize = self.before_normalize, None
        if hook is not None:
            hook()
        return super().normalize(*args, **kwargs)

    def load(self, *args: Any, **kwargs: Any) -> LoadInfo:
        release_free_memory()
        info = super().load(*args, **kwargs)
        if info.loads_ids:
            # Only root tables this load wrote can have orphaned children: the reports'
            # pass (loads.py) writes none and skips the scan of every child table.
            delete_orphan_rows(self, roots=loaded_tables(info))
        return info


def pipeline_name(org_id: str, realm_id: str) -> str:
    """`quickbooks_<org slug with '-' as '_'>_<realm id>`, e.g. `quickbooks_acme_east_4620`.

    The company is part of the name because dlt keeps a pipeline's incremental state (entity
    cursors, CDC checkpoints, the report months already pulled) under its name: an
    organization reconnected to another company starts that company with no state, so its
    whole history is imported, and the old company's state waits unused should it come back.
    """
    org_slug_checked(org_id)
    if not _REALM.fullmatch(realm_id or ""):
        raise ValueError(f"QuickBooks company id {realm_id!r} must be digits")
    return f"{SOURCE_NAME}_{org_id.replace('-', '_')}_{realm_id}"


def pipeline_for_org(org_id: str, settings: Settings, *, realm_id: str) -> dlt.Pipeline:
    """The pipeline that loads `org_id`'s QuickBooks data of company `realm_id`: into the
    organization's DuckDB file, or with QBP_WAREHOUSE_URL into its own schema of that
    Postgres database (`raw_<org>`, warehouse/dialect.py). Run it with
    `loader_file_format=loader_file_format(settings)`."""
    dlt_dir = settings.dlt_dir(org_id)
    dlt_dir.mkdir(parents=True, exist_ok=True)
    dlt.config["data_writer.buffer_max_items"] = WRITER_BUFFER_ROWS
    dlt.config["load.workers"] = LOAD_WORKERS
    dlt.config["extract.next_item_mode"] = EXTRACT_ORDER
    if settings.warehouse_url is not None:
        raw_schema = postgres_schemas(org_id)["qbo_raw"]
        destination = dlt.destinations.postgres(
            credentials=settings.warehouse_url,
            # dlt's staging dataset (merges) per organization too, under a prefix no
            # organization's schema can have.
            staging_dataset_name_layout=POSTGRES_DLT_STAGING_LAYOUT,
            # The resources ask for parquet, which dlt loads into Postgres only with the ADBC
            # driver (not installed); it would then write Arrow tables as CSV, which cannot
            # hold the struct columns of child rows. INSERT statements can.
            supported_loader_file_formats=[POSTGRES_LOADER_FILE_FORMAT],
            preferred_loader_file_format=POSTGRES_LOADER_FILE_FORMAT,
            loader_file_format_selector=None,
        )
        dataset_name = raw_schema
    else:
        warehouse = settings.warehouse_path(org_id)
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        credentials = DuckDbCredentials(str(warehouse), global_config=DUCKDB_SETTINGS)
        destination = dlt.destinations.duckdb(credentials)
        dataset_name = DATASET_NAME
    pipeline = dlt.pipeline(
        pipeline_name=pipeline_name(org_id, realm_id),
        destination=destination,
        dataset_name=dataset_name,
        pipelines_dir=str(dlt_dir),
    )
    # dlt.pipeline() builds a plain Pipeline; this one only adds the step after a load.
    pipeline.__class__ = QuickBooksPipeline
    return pipeline


def loader_file_format(settings: Settings) -> str:
    """The load files for the configured warehouse: parquet into DuckDB (the resources
    yield Arrow tables), INSERT statements into Postgres (see pipeline_for_org)."""
    return POSTGRES_LOADER_FILE_FORMAT if settings.warehouse_url is not None else LOADER_FILE_FORMAT


def release_free_memory() -> None:
    """Hand the memory extraction freed back to the operating system before DuckDB takes
    its own: Python's allocator and Arrow's pool keep freed blocks, so the load's memory
    would come on top of the extraction's peak (bench/README.md: ~0.5 GB)."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    # Not glibc: the memory stays with the process, nothing else changes.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def child_tables(pipeline: dlt.Pipeline) -> dict[str, str]:
    """{child table: its root table} of the pipeline's schema: the tables with a root key
    column, named `<root table>__<path>`."""
    tables = pipeline.default_schema.tables
    out: dict[str, str] = {}
    for name, table in tables.items():
        root = name.split("__", 1)[0]
        if root != name and ROOT_KEY in table["columns"] and root in tables:
            out[name] = root
    return out


def loaded_tables(info: LoadInfo) -> set[str]:
    """The tables `info`'s load packages wrote."""
    return {
        job.job_file_info.table_name
        for package in info.load_packages
        for jobs in package.jobs.values()
        for job in jobs
    }


def delete_orphan_rows(pipeline: dlt.Pipeline, roots: set[str] | None = None) -> int:
    """Delete the child rows whose root row is gone, in every child table (of the root
    tables `roots`, when given); their count."""
    children = {
        child: root
        for child, root in child_tables(pipeline).items()
        if roots is None or root in roots
    }
    deleted = 0
    with pipeline.sql_client() as client:
        existing = {row[0] for row in client.execute_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            client.dataset_name)}  # fmt: skip
        for child, root in sorted(children.items()):
            if child not in existing or root not in existing:
                continue
            rows = client.execute_sql(
                DELETE_ORPHANS_SQL.format(
                    child=client.make_qualified_table_name(child),
                    root=client.make_qualified_table_name(root),
                    row_key=client.escape_column_name(ROW_KEY),
                    root_key=client.escape_column_name(ROOT_KEY),
                )
            )
            count = rows[0][0] if rows else 0
            deleted += count or 0
    if deleted:
        log.info("deleted %d child rows of replaced or deleted records", deleted)
    return deleted
