"""Running a sync: everything between the dlt source and the Dagster definitions.

- `pipeline.py`: the dlt pipeline of one organization's company (its own state, the
  warehouse, parquet loads, orphaned child rows removed after each load);
- `passes.py`: a sync in two passes, the entities then the reports, whose requests go out
  while the entities load;
- `client.py`: the QuickBooks client of an organization, with the connection's tokens and
  the shared per-realm limiter;
- `no_space.py`: a full disk told in one line;
- `dagster_log.py`: the source's and client's progress copied into a step's Dagster log;
- `runner.py` and `progress.py`: `qb-pipeline sync`, the job run in this process and its
  progress shown in a shell;
- `launcher.py`: runs submitted to a Dagster deployment's run queue (a goal changed, "Sync
  now"); `dagster_dev.py`: `dagster dev` in the background for the demo and benchmarks.

Nothing is re-exported here: importing `qb_pipeline.sync.launcher` (the web app does) must
not import Dagster or dlt.
"""
