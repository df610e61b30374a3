"""What the `quickbooks` source's resources use, one job per module:

- `paging.py`: entity pages by time, cursors, the ids a table holds;
- `arrow_pages.py`, `row_tables.py`: pages and report rows as Arrow tables for dlt;
- `changes.py`: change data capture (CDC) and its checkpoints;
- `reads.py`: one sync's shared reads (the batch of small entities, CompanyInfo, Preferences,
  the server's clock, the reports sent ahead);
- `report_prefetch.py`: report requests sent ahead of the resource that reads them;
- `periods.py`, `report_plan.py`, `report_rows.py`: which report months to pull, and their rows;
- `dimension_reports.py`, `dimension_rows.py`: the P&L by class and by department.
"""
