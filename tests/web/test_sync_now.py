"""The integration page's "Sync now", its sync status, the last syncs and "Data available",
over real HTTP with a real control DB. The sync log entries here are written through the
service's `record_sync`, the very call the pipeline's steps make; a real sync through a real
Dagster webserver is in test_run_submission.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qb_pipeline.sandbox import free_port
from tests.web.conftest import ORG, connect, csrf_of, text_of
from tests.web.goal_data import import_company, run_goals
from tests.web.test_goals_pages import ADMIN, EDITOR, VIEWER

PAGE = f"/orgs/{ORG}/integrations"
SYNC = f"{PAGE}/sync"
LIVE = f"/orgs/{ORG}/live/integrations"


@pytest.fixture
def unreachable_dagster_web(start_web_app, make_emulator):
    """acme connected, the web app pointed at a Dagster webserver that is not running."""
    web = start_web_app(
        make_emulator(limits_enabled=False), dagster_url=f"http://127.0.0.1:{free_port()}"
    )
    connect(web.signed_in(ADMIN))
    return web


def sync_now(client) -> str:
    """Press "Sync now"; the text of the page the browser lands on."""
    page = client.get(PAGE)
    response = client.post(SYNC, data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303, text_of(response.text)
    assert response.headers["location"] == PAGE
    return text_of(client.get(PAGE).text)


def test_only_admins_get_sync_now_and_others_are_refused_and_audited(unreachable_dagster_web):
    web = unreachable_dagster_web
    admin_page = web.signed_in(ADMIN).get(PAGE).text
    assert f'action="{SYNC}"' in admin_page
    for email, role in ((EDITOR, "editor"), (VIEWER, "viewer")):
        client = web.signed_in(email)
        page = client.get(PAGE)
        assert f'action="{SYNC}"' not in page.text
        assert f"Only admins can sync now. Your role: {role}." in text_of(page.text)
        refused = client.post(SYNC, data={"csrf_token": csrf_of(page.text)})
        assert refused.status_code == 403
        assert f"{email} may not sync QuickBooks now for acme" in text_of(refused.text)
    assert web.service.sync_activity(ORG).request is None
    forbidden = [e for e in web.service.audit_log(ORG) if e.outcome == "forbidden"]
    assert [e.detail["attempted"] for e in forbidden] == ["sync QuickBooks now"] * 2


def test_sync_now_without_this_sessions_csrf_token_is_refused(unreachable_dagster_web):
    client = unreachable_dagster_web.signed_in(ADMIN)
    assert client.post(SYNC, data={"csrf_token": "forged"}).status_code == 403
    assert unreachable_dagster_web.service.sync_activity(ORG).request is None


def test_when_dagster_cannot_take_the_run_the_page_says_so_and_the_request_is_kept(
    unreachable_dagster_web,
):
    web = unreachable_dagster_web
    text = sync_now(web.signed_in(ADMIN))

    assert "The sync could not be queued: Dagster at http://127.0.0.1:" in text
    assert "did not take the run" in text
    assert "try again once Dagster runs, or run `qb-pipeline sync --org acme`" in text
    assert "Not queued : the sync admin@acme.test asked for at" in text
    activity = web.service.sync_activity(ORG)
    assert activity.state == "not_submitted"
    assert activity.request.run_id is None
    assert "did not take the run" in activity.request.problem
    assert web.service.audit_log(ORG)[0].action == "sync requested"
    assert web.service.audit_log(ORG)[0].outcome == "failed"
    # Nothing is under way, so the admin may try again.
    assert f'action="{SYNC}"' in web.signed_in(ADMIN).get(PAGE).text


def test_a_sync_that_is_running_refuses_another_and_the_page_follows_it(unreachable_dagster_web):
    web = unreachable_dagster_web
    realm = web.service.status(ORG).realm_id
    started = datetime.now(UTC).replace(microsecond=0)
    run = web.service.record_sync(ORG, realm, started, None, "running")
    client = web.signed_in(ADMIN)

    page = client.get(PAGE)
    assert "Running since" in text_of(page.text)
    assert "A sync is running; wait for it to finish." in text_of(page.text)
    assert 'data-live-busy="yes"' in page.text
    refused = client.post(SYNC, data={"csrf_token": csrf_of(page.text)})
    assert "Not synced: a sync of acme is running already since" in text_of(
        client.get(refused.headers["location"]).text
    )
    assert web.service.sync_activity(ORG).request is None
    before = client.get(LIVE).json()
    assert (before["busy"], before["state"]) == (True, "running")

    finished = started + timedelta(seconds=75)
    rows = {"account": 40, "invoice": 400, "invoice__line": 1200}
    web.service.record_sync(
        ORG, realm, started, finished, "succeeded", rows=rows, requests=233, run_id=run.id
    )

    after = client.get(LIVE).json()
    assert (after["busy"], after["state"]) == (False, "succeeded")
    assert after["digest"] != before["digest"]
    assert "Last sync succeeded at" in text_of(after["fragments"]["sync-activity"])
    recent = text_of(after["fragments"]["recent-syncs"])
    assert "1 min 15 s Succeeded 1,640 233" in recent


def test_the_last_syncs_are_listed_newest_first_with_duration_status_rows_and_requests(
    unreachable_dagster_web,
):
    web = unreachable_dagster_web
    realm = web.service.status(ORG).realm_id
    base = datetime(2026, 11, 14, 2, 0, tzinfo=UTC)
    web.service.record_sync(
        ORG, realm, base, base + timedelta(seconds=37), "succeeded", rows={"a": 5}, requests=11
    )
    later = base + timedelta(days=1)
    web.service.record_sync(
        ORG, realm, later, later + timedelta(seconds=4), "failed", "QuickBooks answered 503"
    )

    recent = text_of(web.signed_in(VIEWER).get(PAGE).text.split('id="recent-syncs"')[1])
    assert recent.startswith(
        "> The last syncs of Acme Outdoor Co., newest first Started Duration Status Rows Requests "
        "15 Nov 2026, 02:00 UTC 4 s Failed QuickBooks answered 503 — — "
        "14 Nov 2026, 02:00 UTC 37 s Succeeded 5 11"
    )
    text = text_of(web.signed_in(VIEWER).get(PAGE).text)
    assert "Last sync failed at 15 Nov 2026, 02:00 UTC : QuickBooks answered 503." in text


def test_a_disconnected_organization_cannot_sync_now(unreachable_dagster_web):
    web = unreachable_dagster_web
    web.service.disconnect(ORG, ADMIN)
    client = web.signed_in(ADMIN)
    page = client.get(PAGE)
    assert "QuickBooks is not connected." in text_of(page.text)
    response = client.post(SYNC, data={"csrf_token": csrf_of(page.text)})
    assert "Not synced: acme cannot sync now: QuickBooks is disconnected" in text_of(
        client.get(response.headers["location"]).text
    )
    assert web.service.sync_activity(ORG).request is None


def test_data_available_names_each_dataset_in_words_with_the_dates_it_covers(
    unreachable_dagster_web, monkeypatch
):
    web = unreachable_dagster_web
    realm = web.service.status(ORG).realm_id
    import_company(web.settings, realm)  # months 2025-04 .. 2026-08
    run_goals(web.settings, monkeypatch)  # publishes the serving copy
    web.service.record_datasets(
        ORG,
        realm,
        {"account": 18, "profit_and_loss": 300, "balance_sheet": 80, "customer": 3, "widget": 1},
    )

    page = web.signed_in(VIEWER).get(PAGE).text
    table = text_of(page.split('id="data-available"')[1].split("</table>")[0])
    rows = [text_of(page.split(f'id="dataset-{name}"')[1].split("</tr>")[0]) for name in (
        "account", "profit_and_loss", "balance_sheet", "customer", "widget",
    )]  # fmt: skip
    assert [row.split(" 18 ")[0] for row in rows[:1]] == ["> Chart of accounts"]
    assert rows[1].startswith("> Profit and Loss (monthly) since Apr 2025 300 ")
    assert rows[2].startswith("> Balance Sheet (month ends) since Apr 2025 80 ")
    assert rows[3].startswith("> Customers 3 ")
    assert rows[4].startswith("> Widget 1 ")
    # The chart of accounts first, then the reports, then the lists.
    assert (
        table.index("Chart of accounts") < table.index("Profit and Loss") < table.index("Customers")
    )
