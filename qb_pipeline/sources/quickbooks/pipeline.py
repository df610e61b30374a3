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
    return dlt.pipeline(
        pipeline_name=pipeline_name(org_id),
        destination=dlt.destinations.duckdb(str(settings.warehouse_path)),
        dataset_name=DATASET_NAME,
        pipelines_dir=str(settings.dlt_dir),
    )
