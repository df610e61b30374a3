"""dlt sources of the pipeline (one folder per source, dlt verified-sources layout).

`quickbooks_source` builds the source of one company; `pipeline_for_org` the dlt pipeline
that loads it into the warehouse (dataset `qbo_raw`)."""

from qb_pipeline.sources.quickbooks import ALL_ENTITIES, quickbooks_source
from qb_pipeline.sources.quickbooks.pipeline import pipeline_for_org, pipeline_name
from qb_pipeline.sources.quickbooks.settings import (
    DATASET_NAME,
    LOADER_FILE_FORMAT,
    REPORT_LINES_TABLE,
    TABLE_NAMES,
)

__all__ = [
    "ALL_ENTITIES",
    "DATASET_NAME",
    "LOADER_FILE_FORMAT",
    "REPORT_LINES_TABLE",
    "TABLE_NAMES",
    "pipeline_for_org",
    "pipeline_name",
    "quickbooks_source",
]
