"""qb-goals: QuickBooks Online goal tracking on Dagster + dlt + DuckDB."""
