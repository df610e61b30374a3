"""Dagster definitions for importing QuickBooks: assets, resources, partitions, jobs, schedules."""
