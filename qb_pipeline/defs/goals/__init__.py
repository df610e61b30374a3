"""Dagster definitions for QuickBooks Goals: one asset per goal of goal_models/, computed per
organization in one pass (assets.py), with its asset checks (checks.py) and the
`goals_refresh` job (jobs.py). The goal assets also run in the `quickbooks_sync` job, after
the marts and before the serving copy is published.
"""

GOALS_GROUP = "goals"
