"""The `quickbooks_sync` job: every QuickBooks asset of one organization's partition
(the partitions, `organizations`, come with the assets)."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

from qb_pipeline.defs.goals import GOALS_GROUP
from qb_pipeline.defs.quickbooks.assets import SYNC_GROUPS

QUICKBOOKS_SYNC = "quickbooks_sync"

# In-process: the steps write one DuckDB file one after another anyway (pool duckdb_writer),
# and a subprocess per step would re-import the code location each time (~1.7 s a step).
quickbooks_sync_job = define_asset_job(
    name=QUICKBOOKS_SYNC,
    # The goals too: computed after the marts, before the serving copy is published.
    selection=AssetSelection.groups(*SYNC_GROUPS, GOALS_GROUP),
    executor_def=in_process_executor,
    description=(
        "Import one organization's QuickBooks company (the partition): raw tables with dlt, "
        "then the staging models, the marts and the QuickBooks Goals, then publish the "
        "serving copy for BI tools."
    ),
)
