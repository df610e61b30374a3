"""The goals pages over real HTTP: a real web app, a real control DB with the goal store, a
real OAuth connection to a private emulator, and goal values computed by a real
`goals_refresh` run over imported marts and published to the serving copy
(tests/web/goal_data.py).

Hand-checked figures (tests/goals/company.py): Income of a month is 1170 + 100 * fiscal
month * year factor, so August 2026 (fiscal month 5 of the second year) is 1170 + 1000 =
2170 against a target of 1500: on track. Months 2025-04 .. 2026-08 are 17 periods; July 2026
has no data.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from qb_pipeline.goals.store import GoalStore
from tests.web.conftest import ORG, WebApp, connect, csrf_of, text_of
from tests.web.goal_data import (
    CHECKING_BALANCE,
    INCOME_MONTHLY,
    import_company,
    run_goals,
    store_goal,
)

ADMIN, EDITOR, VIEWER = "admin@acme.test", "editor@acme.test", "viewer@acme.test"
GOALS = f"/orgs/{ORG}/goals"
PERIODS = 17  # 2025-04 .. 2026-08


@pytest.fixture
def goals_web(connectable_web: WebApp, monkeypatch: pytest.MonkeyPatch) -> WebApp:
    """acme connected to an emulator company, its data imported, two goals stored and
    computed by a goals run."""
    web = connectable_web
    connect(web.signed_in(ADMIN))
    realm = web.service.status(ORG).realm_id
    import_company(web.settings, realm)
    store_goal(web.settings, realm, INCOME_MONTHLY)
    store_goal(web.settings, realm, CHECKING_BALANCE)
    run_goals(web.settings, monkeypatch)
    return web


def store_of(web: WebApp) -> GoalStore:
    return GoalStore(web.settings.control_db_path)


def row_text(html: str, goal_id: str) -> str:
    return text_of(html.split(f'id="goal-{goal_id}"')[1].split("</tr>")[0])


# -- the goals list -----------------------------------------------------------------


def test_viewer_sees_every_goal_with_its_latest_value_target_and_status(goals_web):
    page = goals_web.signed_in(VIEWER).get(GOALS)

    assert page.status_code == 200
    assert row_text(page.text, "income-monthly") == (
        "> Monthly income income-monthly Profit and loss: Income line Aug 2026 2,170.00 "
        "1,500.00 ✓ On track ✓ On track Current"  # status, then pace (August is in progress)
    )
    assert f'href="{GOALS}/income-monthly"' in page.text
    assert f'href="{GOALS}/checking-balance"' in page.text
    assert "Current (2)" in text_of(page.text)
    assert "Archived (0)" in text_of(page.text)


def test_viewer_may_not_create_change_or_archive_goals_and_nothing_is_stored(goals_web):
    client = goals_web.signed_in(VIEWER)
    page = client.get(GOALS)
    assert 'disabled aria-describedby="create-reason">New QuickBooks Goal</button>' in page.text
    assert "Only editors and admins can change goals. Your role: viewer." in text_of(page.text)
    goal_page = client.get(f"{GOALS}/income-monthly")
    assert "/edit" not in goal_page.text
    assert "/archive" not in goal_page.text
    before = store_of(goals_web).get(ORG, "income-monthly")
    token = csrf_of(page.text)

    assert client.get(f"/orgs/{ORG}/new-goal").status_code == 403
    assert client.get(f"{GOALS}/income-monthly/edit").status_code == 403
    forged = {"csrf_token": token, "name": "Sneaky", "tracks_kind": "line", "line": "Income"}
    for url in (f"/orgs/{ORG}/new-goal", f"{GOALS}/income-monthly/edit"):
        refused = client.post(url, data={**forged, "action": "save", "target_value": "1"})
        assert refused.status_code == 403
        assert (
            "viewer@acme.test may not change goals for acme: that needs the editor role, "
            "and viewer@acme.test is a viewer" in text_of(refused.text)
        )
    archive = client.post(f"{GOALS}/income-monthly/archive", data={"csrf_token": token})
    assert archive.status_code == 403
    assert [g.goal_id for g in store_of(goals_web).list(ORG)] == [
        "checking-balance",
        "income-monthly",
    ]
    assert store_of(goals_web).get(ORG, "income-monthly") == before
    refusals = [e for e in goals_web.service.audit_log(ORG) if e.outcome == "forbidden"]
    assert len(refusals) == 3
    assert {e.detail["attempted"] for e in refusals} == {"change goals"}


def test_a_non_member_gets_the_same_answer_for_an_organization_that_exists_and_one_that_does_not(
    goals_web,
):
    goals_web.service.create_org("birch", "Birch Bakery")
    client = goals_web.signed_in(VIEWER)
    for slug in ("birch", "nope"):
        for path in ("goals", "goals/x", "new-goal", "live/goals"):
            page = client.get(f"/orgs/{slug}/{path}")
            assert page.status_code == 403, path
            assert f"is not a member of the organization '{slug}'" in text_of(page.text)


def test_goals_leads_to_the_first_organizations_goals(goals_web):
    response = goals_web.signed_in(VIEWER).get("/goals")
    assert response.status_code == 303
    assert response.headers["location"] == GOALS


def test_goals_and_integrations_link_to_each_other(goals_web):
    client = goals_web.signed_in(VIEWER)
    assert f'href="{GOALS}"' in client.get(f"/orgs/{ORG}/integrations").text
    goals_page = client.get(GOALS).text
    assert f'href="/orgs/{ORG}/integrations"' in goals_page
    assert 'href="/goals">Goals</a>' in goals_page  # the site's navigation


# -- one goal's page ----------------------------------------------------------------


def test_goal_page_draws_one_point_per_period_and_lists_the_periods(goals_web):
    page = goals_web.signed_in(VIEWER).get(f"{GOALS}/income-monthly")

    assert page.status_code == 200
    svg = re.findall(r'<svg [^>]*class="chart".*?</svg>', page.text, flags=re.S)[0]
    points = re.findall(r'<circle class="point status-([a-z_]+)"', svg)
    assert len(points) == PERIODS
    assert points.count("no_data") == 1  # July 2026
    assert points[-1] == "on_track"
    assert "<title>Aug 2026: actual 2,170.00, target 1,500.00, on track</title>" in svg
    assert "<title>Jul 2026: actual —, target 1,500.00, no data</title>" in svg
    assert len(re.findall(r'<line class="target"', svg)) == PERIODS
    table = text_of(page.text.split('id="periods"')[1].split("</table>")[0])
    # April 2025: 1170 + 100 + 250 (the sponsorship account, deleted later) = 1520.
    assert "Apr 2025 1,520.00 1,500.00 ✓ On track" in table
    assert "Aug 2026 2,170.00 1,500.00 ✓ On track" in table
    assert "Jul 2026 — 1,500.00 ○ No data" in table


def test_goal_page_shows_the_pace_of_the_period_in_progress_only(goals_web):
    page = goals_web.signed_in(VIEWER).get(f"{GOALS}/income-monthly")

    # Data through 2026-08-10: 2170 so far, plus the rest (21 of 31 days) of August 2025's 1670.
    svg = re.findall(r'<svg [^>]*class="chart".*?</svg>', page.text, flags=re.S)[0]
    assert re.findall(r'<polygon class="projected status-([a-z_]+)"', svg) == ["on_track"]
    assert "<title>Aug 2026: projected 3,301.29 by the period end, pace on track</title>" in svg
    assert len(re.findall(r'<line class="projection"', svg)) == 1
    table = text_of(page.text.split('id="periods"')[1].split("</table>")[0])
    assert (
        "Aug 2026 2,170.00 1,500.00 ✓ On track 3,301.29 ✓ On track Seasonal, as of 2026-08-10"
        in (table)
    )
    assert "Jun 2026 1,770.00 1,500.00 ✓ On track — Jul 2026" in table  # no pace once over
    assert "Projected (◇ coloured by pace)" in text_of(page.text)


def test_goal_page_shows_the_definition_in_words_and_as_yaml_and_its_history(goals_web):
    text = text_of(goals_web.signed_in(VIEWER).get(f"{GOALS}/income-monthly").text)

    assert "Tracks Income line" in text
    assert "Target 1,500.00" in text
    assert "Period Month; each value covers the period itself" in text
    assert "Active Values of version 1." in text
    yaml_text = text.split("As YAML (the shape of a goal file)")[1]
    assert yaml_text.lstrip().startswith(
        "id: income-monthly name: Monthly income organization: acme dataset: profit_and_loss"
    )
    history = text.split("Definition history")[1]
    assert f"{EDITOR} web Created" in history
    assert "Changed" not in history  # one version


def test_goal_page_uses_only_the_static_script_and_no_inline_style_for_the_csp(goals_web):
    page = goals_web.signed_in(VIEWER).get(f"{GOALS}/income-monthly")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/live.js" defer>']
    assert " style=" not in page.text
    assert "<svg " in page.text
    script = goals_web.client().get("/static/live.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


def test_balance_goal_reads_the_quarter_end_balance(goals_web):
    page = goals_web.signed_in(VIEWER).get(f"{GOALS}/checking-balance")
    table = text_of(page.text.split('id="periods"')[1].split("</table>")[0])
    # Checking holds 10000 + 1000 * (months since April 2025) at each month end.
    assert "Apr 2025 to Jun 2025 12,000.00 20,000.00" in table
    assert "Jan 2026 to Mar 2026 21,000.00 20,000.00 ✓ On track" in table
    assert "account 1 Business Checking" in text_of(page.text)


def test_unknown_goal_is_not_found(goals_web):
    page = goals_web.signed_in(VIEWER).get(f"{GOALS}/no-such-goal")
    assert page.status_code == 404
    assert "has no goal 'no-such-goal'" in text_of(page.text)


def test_stale_values_show_the_flag_the_reason_and_since_when(goals_web, monkeypatch):
    disconnected = goals_web.service.disconnect(ORG, ADMIN)
    run_goals(goals_web.settings, monkeypatch)  # what the connection sensor asks for
    client = goals_web.signed_in(VIEWER)

    listing = client.get(GOALS)
    assert "Aug 2026 2,170.00 1,500.00 ✓ On track ✓ On track Stale: Disconnected" in row_text(
        listing.text, "income-monthly"
    )
    page = client.get(f"{GOALS}/income-monthly")
    stale = text_of(page.text.split('id="stale"')[1].split("</p>")[0])
    assert stale.startswith("> Stale: Disconnected since")
    assert "they are kept, not recomputed" in stale
    since = disconnected.disconnected_at.isoformat()
    assert f'datetime="{since}"' in page.text.split('id="stale"')[1]
    assert len(re.findall(r'<circle class="point', page.text)) >= PERIODS


def test_before_the_first_import_the_pages_say_why_there_is_nothing(connectable_web):
    web = connectable_web
    connect(web.signed_in(ADMIN))
    client = web.signed_in(EDITOR)

    listing = text_of(client.get(GOALS).text)
    assert "No goals yet. Create one with “New QuickBooks Goal”." in listing
    assert (
        "No goal values to show: nothing has been imported yet (the first sync publishes it)."
        in listing
    )
    form = client.get(f"/orgs/{ORG}/new-goal")
    assert (
        "Nothing to set a goal on yet: nothing has been imported yet (the first sync "
        "publishes it). Goals can be created once the first sync of Acme Outdoor Co. has "
        "finished (`qb-pipeline sync --org acme`)."
    ) in text_of(form.text)


# -- another organization's bad goal ------------------------------------------------


def test_a_goal_that_cannot_be_read_breaks_neither_its_organization_nor_another(goals_web):
    goals_web.service.create_org("birch", "Birch Bakery")
    goals_web.service.add_user(VIEWER, "birch", "viewer")
    with sqlite3.connect(goals_web.settings.control_db_path) as conn:
        conn.execute(
            "INSERT INTO goals (org_id, goal_id, state, version, definition, created_at,"
            " updated_at) SELECT id, 'broken', 'active', 1, '{\"id\": \"broken\"}',"
            " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00' FROM organizations"
            " WHERE slug = 'birch'"
        )
    client = goals_web.signed_in(VIEWER)

    assert client.get(GOALS).status_code == 200
    assert client.get(f"{GOALS}/income-monthly").status_code == 200
    assert client.get(f"/api/v1/orgs/{ORG}/goals").status_code == 200
    theirs = client.get("/orgs/birch/goals")
    assert theirs.status_code == 200
    assert "The goals of Birch Bakery cannot be read now" in text_of(theirs.text)
    broken = client.get("/orgs/birch/goals/broken")
    assert broken.status_code == 500
    assert "The goal 'broken' of Birch Bakery cannot be read now" in text_of(broken.text)
    api = client.get("/api/v1/orgs/birch/goals")
    assert api.status_code == 500
    assert api.json()["error"]["message"] == (
        "the server failed to answer; its log has the details"
    )
