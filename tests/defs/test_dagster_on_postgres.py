"""Dagster's instance on Postgres by configuration alone (QBP_DAGSTER_PG_URL): dagster.yaml
names the variable, never the password; the real daemon dequeues and runs real syncs whose
run and event records are in that database; the run queue's one-sync-per-company limit holds
there too."""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit

import psycopg2
import pytest
from dagster import DagsterRunStatus, RunsFilter

from qb_pipeline.config import DAGSTER_PG_URL_VARIABLE, ConfigError, load_settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.instance import dagster_home, open_instance, prepare_dagster_home
from qb_pipeline.sync.launcher import PARTITION_TAG, REALM_TAG
from tests.connections.conftest import add_team, connect_company
from tests.defs.test_daemon_lifecycle import (
    DAEMON_START_SECONDS,
    RUN_SECONDS,
    Daemon,
    daemon_env,
    wait_for,
)

SYNC = "quickbooks_sync"
SAME_COMPANY = ("acme", "twin")
DRIVER = "postgresql+psycopg2://"


def test_dagster_yaml_reads_the_url_from_the_environment_and_holds_no_password(
    make_env, monkeypatch, tmp_path
):
    url = "postgresql+psycopg2://dagster:s3cret-pw@127.0.0.1:5999/dagster"
    make_env("http://127.0.0.1:9")
    monkeypatch.setenv(DAGSTER_PG_URL_VARIABLE, url)
    settings = load_settings()

    text = (prepare_dagster_home(settings) / "dagster.yaml").read_text()

    assert "postgres_url:\n      env: QBP_DAGSTER_PG_URL" in text
    assert "s3cret-pw" not in text
    assert "tag_concurrency_limits" in text  # still the project's run queue
    prepare_dagster_home(settings)  # again: the file is kept as it is
    assert (dagster_home(settings) / "dagster.yaml").read_text() == text

    monkeypatch.delenv(DAGSTER_PG_URL_VARIABLE)
    with pytest.raises(ConfigError, match="QBP_DAGSTER_PG_URL, which is not set"):
        prepare_dagster_home(load_settings())
    # A bare postgresql:// would reach SQLAlchemy 2.1 as psycopg 3, which is not installed.
    monkeypatch.setenv(DAGSTER_PG_URL_VARIABLE, "postgresql://dagster:s3cret-pw@host/db")
    with pytest.raises(ConfigError, match=r"name the psycopg2 driver.*dagster:\*\*\*@") as error:
        load_settings()
    assert "s3cret-pw" not in str(error.value)


@pytest.mark.slow
def test_the_daemon_runs_syncs_on_a_postgres_instance_one_per_company(
    make_emulator, make_env, monkeypatch, postgres_url, tmp_path
):
    running = make_emulator(limits_enabled=False)
    make_env(running.url)
    monkeypatch.setenv(DAGSTER_PG_URL_VARIABLE, postgres_url.replace("postgresql://", DRIVER, 1))
    settings = load_settings()
    service = IntegrationService(settings)
    for org in SAME_COMPANY:
        add_team(service, org)
    realm = connect_company(service, SAME_COMPANY[0]).realm_id
    connect_company(service, SAME_COMPANY[1], realm)
    password = urlsplit(postgres_url).password
    assert password

    # The connection sensor requests a sync of each new connection: two syncs of one company.
    with open_instance(settings) as instance:
        daemon = Daemon(daemon_env(settings), tmp_path / "daemon.log")

        def finished_syncs():
            records = instance.get_run_records(RunsFilter(job_name=SYNC))
            done = {r.dagster_run.tags.get(PARTITION_TAG): r for r in records}
            if set(done) == set(SAME_COMPANY) and all(r.end_time for r in done.values()):
                return done
            return None

        try:
            syncs = wait_for(
                "a sync of each organization",
                finished_syncs,
                daemon,
                DAEMON_START_SECONDS + RUN_SECONDS,
            )
        finally:
            stopped = daemon.stop()
    assert stopped, daemon.tail()

    for org, record in syncs.items():
        assert record.dagster_run.status == DagsterRunStatus.SUCCESS, org
        assert record.dagster_run.tags[REALM_TAG] == realm
    first, second = sorted(syncs.values(), key=lambda r: r.start_time)
    assert first.end_time <= second.start_time, "two syncs of one company ran at the same time"

    # The records are in Postgres, none in SQLite files under DAGSTER_HOME.
    with psycopg2.connect(postgres_url) as con, con.cursor() as cur:
        cur.execute("SELECT run_id, status FROM runs WHERE pipeline_name = %s", [SYNC])
        in_postgres = dict(cur.fetchall())
        cur.execute(
            "SELECT run_id, count(*) FROM event_logs WHERE run_id = ANY(%s) GROUP BY run_id",
            [list(in_postgres)],
        )
        events = dict(cur.fetchall())
    assert in_postgres == {r.dagster_run.run_id: "SUCCESS" for r in syncs.values()}
    assert all(events[run_id] > 10 for run_id in in_postgres)
    home = dagster_home(settings)
    assert not list(itertools.chain(home.rglob("runs.db"), home.rglob("*.db")))
    assert password not in (home / "dagster.yaml").read_text()
    assert password not in (tmp_path / "daemon.log").read_text(errors="replace")
