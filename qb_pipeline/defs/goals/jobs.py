"""The `goals_refresh` job: recompute one organization's goals (its partition) from the data
already imported, then publish the serving copy, without a sync. A goal created or changed
(web app, CLI, API, `goals apply`) submits one; it also flags goal values stale for an
organization that can no longer sync. The nightly `quickbooks_sync` job computes
the goals too, after the marts and before the serving copy."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

from qb_pipeline.defs.keys import GOALS_GROUP, SERVING_GROUP

GOALS_REFRESH = "goals_refresh"

goals_refresh_job = define_asset_job(
    name=GOALS_REFRESH,
    selection=AssetSelection.groups(GOALS_GROUP, SERVING_GROUP),
    # As quickbooks_sync: the steps write one DuckDB file one after another anyway.
    executor_def=in_process_executor,
    description=(
        "Compute one organization's QuickBooks Goals (the partition) from the imported data, "
        "or flag them stale when it is disconnected, then publish the serving copy."
    ),
)
