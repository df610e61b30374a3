"""Dagster definitions for alerts: the alert step (assets.py), downstream of the serving
copy in both jobs that compute goals (`quickbooks_sync`, `goals_refresh`, defs/jobs.py)."""
