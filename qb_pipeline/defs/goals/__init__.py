"""Dagster definitions for QuickBooks Goals: the goal assets partitioned by organization
(assets.py), their per-organization checks (checks.py) and the sensor that asks for a goals run
when goals change (sensors.py). The `goals_refresh` job is in defs/jobs.py, beside the other
jobs, because the QuickBooks sensors start it too. The goal assets also run in the
`quickbooks_sync` job, after the marts and before the serving copy is published.
"""

from qb_pipeline.defs.keys import GOALS_GROUP

__all__ = ["GOALS_GROUP"]
