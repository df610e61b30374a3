"""Asset keys and groups that several folders of `defs/` share, defined once.

`defs/quickbooks` (the import, the marts, the serving copy) and `defs/goals` (goal values)
depend on each other's assets by key only, through this module, so neither imports the
other's definitions.
"""

from __future__ import annotations

from dagster import AssetKey

RAW_GROUP = "quickbooks_raw"
STAGING_GROUP = "quickbooks_staging"
MARTS_GROUP = "marts"
GOALS_GROUP = "goals"
SERVING_GROUP = "serving"
# Alerts (defs/alerts): after the serving copy, in every job that computes goals.
ALERTS_GROUP = "alerts"
# The groups of the QuickBooks import, in the order a sync materializes them.
SYNC_GROUPS = (RAW_GROUP, STAGING_GROUP, MARTS_GROUP, SERVING_GROUP)

# The goal assets (defs/goals): every goal value of an organization, and their history.
GOAL_VALUES = AssetKey(["marts", "goal_values"])
GOAL_VALUE_HISTORY = AssetKey(["marts", "goal_value_history"])
GOAL_CATALOG = AssetKey(["marts", "goals"])
GOAL_ASSETS = (GOAL_VALUES, GOAL_VALUE_HISTORY, GOAL_CATALOG)

# The marts goals read (defs/quickbooks builds them from warehouse/sql/marts).
ACCOUNTS_MART = AssetKey(["marts", "accounts"])
COMPANY_MART = AssetKey(["marts", "company"])
PNL_MART = AssetKey(["marts", "pnl_monthly"])
PNL_BY_DIMENSION_MART = AssetKey(["marts", "pnl_monthly_by_dimension"])
BALANCE_SHEET_MART = AssetKey(["marts", "balance_sheet_monthly"])
CASH_FLOW_MART = AssetKey(["marts", "cash_flow_monthly"])
MARTS_GOALS_READ = (
    ACCOUNTS_MART,
    COMPANY_MART,
    PNL_MART,
    PNL_BY_DIMENSION_MART,
    BALANCE_SHEET_MART,
    CASH_FLOW_MART,
)

# The raw table every sync reads in full (so new after each import): freshness is judged on it.
RAW_ACCOUNT = AssetKey(["qbo_raw", "account"])
# The last model of a sync, written from the control DB: the connection as BI tools see it.
CONNECTION_STATUS = AssetKey(["qbo", "connection_status"])
SERVING_WAREHOUSE = AssetKey(["serving", "warehouse"])
# The alert step: a digest of the goal changes a run published, sent to the subscribers.
GOAL_ALERTS = AssetKey(["alerts", "goal_digest"])
