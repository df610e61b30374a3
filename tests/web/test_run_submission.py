"""The web app submits runs to a real Dagster webserver's run queue: "Sync now" queues a
`quickbooks_sync` of the organization, saving a goal queues a `goals_refresh` tagged with
the change's event, and nothing is computed in the web process. Only the webserver runs
(no daemon), so the runs stay queued where the test can look at them; the sync itself is
then run in this process (`qb-pipeline sync`), and the integration page follows it from
queued to succeeded, with the last syncs and the data available in words."""

from __future__ import annotations

import time

import duckdb
import pytest
from dagster import DagsterRunStatus

from qb_pipeline.connections.events import GOAL_CHANGED
from qb_pipeline.defs.instance import open_instance
from qb_pipeline.sandbox import free_port
from tests.web.conftest import ORG, connect, csrf_of, text_of
from tests.web.dagster_processes import DagsterProcess
from tests.web.goal_data import sync
from tests.web.test_goals_pages import ADMIN, EDITOR

pytestmark = pytest.mark.slow

PAGE = f"/orgs/{ORG}/integrations"


@pytest.fixture
def queued_web(start_web_app, make_emulator, tmp_path):
    """acme connected; the web app submitting runs to a Dagster webserver on its QBP_HOME."""
    port = free_port()
    web = start_web_app(make_emulator(limits_enabled=False), dagster_url=f"http://127.0.0.1:{port}")
    connect(web.signed_in(ADMIN))
    dagster = DagsterProcess(web.settings, port, tmp_path / "webserver.log", with_daemon=False)
    try:
        dagster.wait_until_ready()
        yield web
    finally:
        stopped_cleanly = dagster.stop()
    assert stopped_cleanly, f"SIGTERM left processes of the webserver running:\n{dagster.tail()}"


def queued_runs(web, job: str) -> list:
    with open_instance(web.settings) as instance:
        records = instance.get_run_records()
    return [r.dagster_run for r in records if r.dagster_run.job_name == job]


def test_sync_now_and_a_saved_goal_queue_runs_in_dagster_and_the_page_follows_the_sync(
    queued_web, monkeypatch
):
    web = queued_web
    admin = web.signed_in(ADMIN)
    page = admin.get(PAGE)

    answer = admin.post(f"{PAGE}/sync", data={"csrf_token": csrf_of(page.text)})

    text = text_of(admin.get(answer.headers["location"]).text)
    [run] = queued_runs(web, "quickbooks_sync")
    assert run.status == DagsterRunStatus.QUEUED
    assert run.tags["dagster/partition"] == ORG
    assert run.tags["qbp/trigger"] == "sync_now"
    assert run.tags["qbp/requested_by"] == ADMIN
    assert f"Sync queued in Dagster (run {run.run_id})." in text
    assert "Queued : requested by admin@acme.test at" in text
    live = admin.get(f"/orgs/{ORG}/live/integrations").json()
    assert (live["busy"], live["state"]) == (True, "queued")
    again = admin.post(f"{PAGE}/sync", data={"csrf_token": csrf_of(page.text)})
    assert "Not synced: a sync of acme is queued already since" in text_of(
        admin.get(again.headers["location"]).text
    )
    assert len(queued_runs(web, "quickbooks_sync")) == 1

    # The run queue's sync, as the daemon would launch it (here: in this process).
    started = time.monotonic()
    sync(web.settings, monkeypatch)
    took = time.monotonic() - started

    live = admin.get(f"/orgs/{ORG}/live/integrations").json()
    assert (live["busy"], live["state"]) == (False, "succeeded")
    last = web.service.status(ORG).last_sync
    recent = text_of(live["fragments"]["recent-syncs"])
    assert f"Succeeded {sum(last.rows.values()):,} {last.requests:,}" in recent
    assert 0 < (last.finished_at - last.started_at).total_seconds() <= took + 1
    available = text_of(live["fragments"]["data-available"])
    realm = web.service.status(ORG).realm_id
    with duckdb.connect(str(web.settings.serving_path(ORG)), read_only=True) as con:
        first_month = con.execute(
            "SELECT min(month) FROM marts.pnl_monthly WHERE org_id = ? AND realm_id = ?",
            [ORG, realm],
        ).fetchone()[0]
        first, last_day = con.execute(
            "SELECT min(txn_date), max(txn_date) FROM qbo_raw.invoice"
            " WHERE org_id = ? AND realm_id = ?",
            [ORG, realm],
        ).fetchone()
    assert "Data Rows Updated Chart of accounts " in available  # the first row
    assert f"Profit and Loss (monthly) since {first_month:%b %Y}" in available
    assert f"Invoices ({first} to {last_day})" in available

    # Saving a goal queues a goals run for its change; the page says which.
    editor = web.signed_in(EDITOR)
    form = editor.get(f"/orgs/{ORG}/new-goal")
    saved = editor.post(
        f"/orgs/{ORG}/new-goal",
        data={
            "csrf_token": csrf_of(form.text),
            "action": "save",
            "name": "Monthly revenue",
            "dataset": "profit_and_loss",
            "tracks_kind": "line",
            "line": "Income",
            "basis": "accrual",
            "grain": "month",
            "window": "period",
            "direction": "increase",
            "target_kind": "value",
            "target_value": "10000",
            "at_risk_pct": "10",
        },
    )
    assert saved.status_code == 303, text_of(saved.text)
    [goals_run] = queued_runs(web, "goals_refresh")
    event = web.service.events_after(0, (GOAL_CHANGED,))[-1]
    assert goals_run.status == DagsterRunStatus.QUEUED
    assert goals_run.tags["qbp/goal_event"] == str(event.id)
    assert goals_run.tags["dagster/partition"] == ORG
    assert (goals_run.tags["qbp/trigger"], goals_run.tags["qbp/requested_by"]) == ("web", EDITOR)
    goal_page = text_of(editor.get(saved.headers["location"]).text)
    assert f"A goals run was queued in Dagster (run {goals_run.run_id})" in goal_page
    assert "Computing the values of version 1…" in goal_page
