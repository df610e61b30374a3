"""The jobs of the code location, defined once because sensors of both folders start them.

Each job is a selection by the groups and keys of keys.py, so defining them needs none of the
assets: `defs/quickbooks` (whose sensors start goals runs after a disconnect) and `defs/goals`
(whose sensor starts them after a goal change) import the jobs from here, not from each other.
All run in process: their steps write one DuckDB file one after another anyway (pool
`duckdb_writer`), and a subprocess per step would re-import the code location (~1.7 s a step).
"""

from __future__ import annotations

from dagster import AssetCheckKey, AssetSelection, define_asset_job, in_process_executor

from qb_pipeline.defs.keys import (
    ALERTS_GROUP,
    CONNECTION_STATUS,
    GOAL_VALUES,
    GOALS_GROUP,
    RAW_ACCOUNT,
    SERVING_GROUP,
    SYNC_GROUPS,
)
from qb_pipeline.sync.launcher import GOALS_JOB, SYNC_JOB

# The names the launcher submits runs by (it must not import Dagster, so they live there).
QUICKBOOKS_SYNC = SYNC_JOB
GOALS_REFRESH = GOALS_JOB
HEALTH_CHECKS_JOB = "quickbooks_health_checks"

quickbooks_sync_job = define_asset_job(
    name=QUICKBOOKS_SYNC,
    # The goals too: computed after the marts, before the serving copy is published; then
    # the alerts of what the published goal values show.
    selection=AssetSelection.groups(*SYNC_GROUPS, GOALS_GROUP, ALERTS_GROUP),
    executor_def=in_process_executor,
    description=(
        "Import one organization's QuickBooks company (the partition): raw tables with dlt, "
        "then the staging models, the marts and the QuickBooks Goals, then publish the "
        "serving copy for BI tools and send the goal alerts."
    ),
)

# A goal created or changed (web app, CLI, API, `goals apply`) submits one; the connection
# sensor does too, to flag goal values stale for an organization that can no longer sync.
goals_refresh_job = define_asset_job(
    name=GOALS_REFRESH,
    selection=AssetSelection.groups(GOALS_GROUP, SERVING_GROUP, ALERTS_GROUP),
    executor_def=in_process_executor,
    description=(
        "Compute one organization's QuickBooks Goals (the partition) from the imported data, "
        "or flag them stale when it is disconnected, then publish the serving copy and send "
        "the goal alerts."
    ),
)

# The checks the health sensors run (quickbooks/checks/check_runs.py): on the raw tables
# (freshness), the goal values (freshness) and the connection (token health). The job holds
# those checks and one small asset, `qbo/connection_status`, from which Dagster takes the job's
# partitions (a job of checks alone has none in Dagster 1.13). Not a raw table: the job would
# then carry the dlt multi-asset, and its snapshot, which the code server sends on every load.
# The goal values' other checks run with the goal step, which cannot be split.
quickbooks_health_checks_job = define_asset_job(
    name=HEALTH_CHECKS_JOB,
    selection=(
        AssetSelection.assets(CONNECTION_STATUS)
        | AssetSelection.checks_for_assets(RAW_ACCOUNT, CONNECTION_STATUS)
        | AssetSelection.checks(AssetCheckKey(GOAL_VALUES, "freshness"))
    ),
    executor_def=in_process_executor,
    description=(
        "Runs one organization's health checks (freshness of the raw tables and goal values, "
        "refresh-token health) without syncing: the health sensors launch it with no asset "
        "selected when an organization's state changed. To sync, run quickbooks_sync instead."
    ),
)
