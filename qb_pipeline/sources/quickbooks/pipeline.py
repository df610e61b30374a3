"""The dlt pipeline of one organization: its own name (so incremental state never mixes
between organizations), the warehouse DuckDB file, dataset `qbo_raw`, state under QBP_HOME."""

from __future__ import annotations

import re

import dlt

from qb_pipeline.config import Settings
from qb_pipeline.sources.quickbooks.settings import DATASET_NAME, SOURCE_NAME

# Organization slugs (connections/orgs.py) use a-z, 0-9 and '-'; dlt names use '_'. The
# mapping is one to one because slugs have no '_'.
_SLUG = re.compile(r"[a-z0-9-]+")

# Memory (bench/sync_bench.py, large company): a writer buffer of 1,000 rows per table
# (dlt's default 5,000; a page is 1,000 records) cut extraction's peak from ~0.51 to
# ~0.33 GB. The setting is process-wide: every dlt pipeline here is one of ours. A DuckDB
# memory_limit of 256MB also cut the load's peak (~1.05 -> ~0.6 GB) but 128MB already ran
# out of memory on merges, so no limit is set: a bigger company must not fail its load.
WRITER_BUFFER_ROWS = 1000


def pipeline_name(org_id: str) -> str:
    """`quickbooks_<org slug with '-' as '_'>`, e.g. `quickbooks_acme_east`."""
    if not _SLUG.fullmatch(org_id or ""):
        raise ValueError(f"organization slug {org_id!r} must use a-z, 0-9 and '-' only")
    return f"{SOURCE_NAME}_{org_id.replace('-', '_')}"


def pipeline_for_org(org_id: str, settings: Settings) -> dlt.Pipeline:
    """The pipeline that loads `org_id`'s QuickBooks data. Run it with
    `loader_file_format="parquet"` (LOADER_FILE_FORMAT; the resources ask for it too)."""
    settings.dlt_dir.mkdir(parents=True, exist_ok=True)
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    dlt.config["data_writer.buffer_max_items"] = WRITER_BUFFER_ROWS
    return dlt.pipeline(
        pipeline_name=pipeline_name(org_id),
        destination=dlt.destinations.duckdb(str(settings.warehouse_path)),
        dataset_name=DATASET_NAME,
        pipelines_dir=str(settings.dlt_dir),
    )
