"""The code location: every definition of qb-goals in one `dg.Definitions`.

Loaded by workspace.yaml (`dagster dev -w workspace.yaml`) and by `dg` (pyproject's
[tool.dg.project]). Policies that hold for every asset are applied here once.
"""

from __future__ import annotations

from qb_pipeline.defs.collection import collection_paused_then_frozen

# Everything the code location creates at load lives as long as the process (collection.py).
with collection_paused_then_frozen():
    import dagster as dg

    from qb_pipeline.defs.alerts.assets import alert_assets
    from qb_pipeline.defs.goals.assets import goal_assets
    from qb_pipeline.defs.goals.sensors import goal_changes_sensor
    from qb_pipeline.defs.jobs import (
        goals_refresh_job,
        quickbooks_health_checks_job,
        quickbooks_sync_job,
    )
    from qb_pipeline.defs.quickbooks.assets import quickbooks_assets
    from qb_pipeline.defs.quickbooks.checks.freshness import quickbooks_freshness_checks
    from qb_pipeline.defs.quickbooks.checks.token_health import quickbooks_token_health_check
    from qb_pipeline.defs.quickbooks.schedules import quickbooks_sync_schedule
    from qb_pipeline.defs.quickbooks.sensors.abandoned_runs import quickbooks_abandoned_runs
    from qb_pipeline.defs.quickbooks.sensors.connection import quickbooks_connection_changes
    from qb_pipeline.defs.quickbooks.sensors.failures import quickbooks_sync_failures
    from qb_pipeline.defs.quickbooks.sensors.freshness import quickbooks_freshness_sensor
    from qb_pipeline.defs.quickbooks.sensors.token_health import quickbooks_token_health_sensor
    from qb_pipeline.defs.resources import default_resources

    defs = dg.Definitions(
        assets=[*quickbooks_assets, *goal_assets, *alert_assets],
        # Per-organization health: freshness of the raw tables and goal values, token expiry.
        asset_checks=[quickbooks_freshness_checks, quickbooks_token_health_check],
        jobs=[quickbooks_sync_job, goals_refresh_job, quickbooks_health_checks_job],
        sensors=[
            quickbooks_sync_schedule,
            quickbooks_connection_changes,
            quickbooks_sync_failures,
            quickbooks_abandoned_runs,
            quickbooks_freshness_sensor,
            quickbooks_token_health_sensor,
            goal_changes_sensor,
        ],
        resources=default_resources(),
        # Steps of this project write one DuckDB file one at a time; a process per step would
        # only add a re-import of the code location (~1.7 s) to each.
        executor=dg.in_process_executor,
    )
    # Built here rather than at the code server's first request, which asks for every job's
    # snapshot anyway: the asset graph, the jobs and their snapshots (Dagster caches them) are
    # made while collection is paused, and a definition error surfaces at import.
    # (A comprehension, so no loop variable is left in the module for loaders to find.)
    _job_snapshots = [job.get_job_snapshot() for job in defs.get_repository_def().get_all_jobs()]
