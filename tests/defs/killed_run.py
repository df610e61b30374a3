"""A `qb-pipeline sync`-like process that created its run and was killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORG = "acme"

# A process that creates its sync run as `qb-pipeline sync` does (tags naming this process,
# status NOT_STARTED), optionally opens its sync-log entry, says so, and waits to be killed.
RUN_MAKER = textwrap.dedent(
    """
    import sys, time, uuid
    from dagster import DagsterInstance, DagsterRun, DagsterRunStatus
    from qb_pipeline.config import load_settings
    from qb_pipeline.connections import IntegrationService
    from qb_pipeline.defs.instance import prepare_dagster_home, process_tags
    settings = load_settings()
    tags = {"dagster/partition": sys.argv[1], **process_tags()}
    if sys.argv[3] == "entry":
        service = IntegrationService(settings)
        realm = service.status(sys.argv[1]).realm_id
        from datetime import UTC, datetime
        entry = service.record_sync(sys.argv[1], realm, datetime.now(UTC), None, "running")
        tags["qbp/sync_run_id"] = str(entry.id)
    with DagsterInstance.from_config(str(prepare_dagster_home(settings))) as instance:
        run = instance.add_run(DagsterRun(job_name="quickbooks_sync", run_id=str(uuid.uuid4()),
                                          status=DagsterRunStatus[sys.argv[2]], tags=tags))
    print(run.run_id, flush=True)
    time.sleep(600)
    """
)


def killed_run(
    status: str = "NOT_STARTED",
    entry: bool = False,
    org: str = ORG,
    env: dict[str, str] | None = None,
) -> str:
    """The id of a run of `org` whose process was SIGKILLed after creating it (and its sync-log
    entry, with `entry`). `env` names QBP_HOME and the key (default: this process's)."""
    maker = subprocess.Popen(
        [sys.executable, "-c", RUN_MAKER, org, status, "entry" if entry else "none"],
        cwd=ROOT,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    run_id = maker.stdout.readline().strip()
    maker.send_signal(signal.SIGKILL)
    maker.wait()
    assert run_id, "the run maker did not create its run"
    return run_id
