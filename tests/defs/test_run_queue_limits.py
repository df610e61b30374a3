"""The real daemon's run queue: two organizations connected to the same QuickBooks company
never sync at the same time (`qbp/realm`, limit 1 per company), while an organization of
another company syncs beside them (each organization writes its own warehouse)."""

from __future__ import annotations

import pytest
from dagster import DagsterRunStatus, RunsFilter

from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.instance import open_instance
from qb_pipeline.sync.launcher import REALM_TAG
from tests.connections.conftest import add_team, companies, connect_company
from tests.defs.test_daemon_lifecycle import (
    DAEMON_START_SECONDS,
    RUN_SECONDS,
    Daemon,
    daemon_env,
    wait_for,
)

SYNC = "quickbooks_sync"
SAME_COMPANY = ("acme", "twin")
OTHER_COMPANY = "globex"


def overlap(a, b) -> bool:
    return a.start_time < b.end_time and b.start_time < a.end_time


@pytest.mark.slow
def test_syncs_of_one_company_never_overlap_and_other_companies_run_beside_them(
    make_emulator, make_env, tmp_path
):
    running = make_emulator(limits_enabled=False)
    settings = make_env(running.url)
    service = IntegrationService(settings)
    realms = [company["realmId"] for company in companies(running.url)]
    for org in (*SAME_COMPANY, OTHER_COMPANY):
        add_team(service, org)
    for org in SAME_COMPANY:
        connect_company(service, org, realms[0])
    connect_company(service, OTHER_COMPANY, realms[1])
    env = daemon_env(settings)
    orgs = (*SAME_COMPANY, OTHER_COMPANY)
    with open_instance(settings) as instance:
        daemon = Daemon(env, tmp_path / "daemon.log")

        def finished_syncs():
            records = instance.get_run_records(RunsFilter(job_name=SYNC))
            done = {r.dagster_run.tags.get("dagster/partition"): r for r in records}
            if set(done) == set(orgs) and all(r.end_time for r in done.values()):
                return done
            return None

        try:
            syncs = wait_for(
                "a sync of every organization",
                finished_syncs,
                daemon,
                DAEMON_START_SECONDS + RUN_SECONDS,
            )
        finally:
            stopped = daemon.stop()
    assert stopped, daemon.tail()

    for org, record in syncs.items():
        assert record.dagster_run.status == DagsterRunStatus.SUCCESS, org
        expected = realms[1] if org == OTHER_COMPANY else realms[0]
        assert record.dagster_run.tags[REALM_TAG] == expected
    first, second = (syncs[org] for org in SAME_COMPANY)
    assert not overlap(first, second), "two syncs of one company ran at the same time"
    assert overlap(syncs[OTHER_COMPANY], first) or overlap(syncs[OTHER_COMPANY], second), (
        "the other company's sync waited for this company's syncs"
    )
