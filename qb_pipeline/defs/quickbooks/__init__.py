"""Dagster definitions for importing QuickBooks, one organization per partition.

- assets/: the raw tables loaded with dlt (raw.py, named by translator.py), the staging and
  marts SQL models (sql_models.py), and the sync's last steps: the connection status and the
  published serving copy (sync_finish.py);
- checks/: per-organization health checks, freshness and refresh-token health, and the
  check-only runs the sensors launch for them (check_runs.py);
- sensors/: connection changes, failed syncs, abandoned runs, freshness and token health;
- schedules.py: the nightly sync of every connected organization.

Shared keys, partitions, resources and jobs are one level up (defs/).
"""
