"""The goals pages and the "New QuickBooks Goal" form, over real HTTP: a real web app, a real
control DB, a real OAuth connection to a private emulator, and goal values computed by
goals.compute over imported marts and published to the serving copy (tests/web/goal_data.py).

Hand-checked figures (tests/goals/company.py): Income of a month is 1170 + 100 * fiscal
month * year factor, so August 2026 (fiscal month 5 of the second year) is 1170 + 1000 =
2170 against a target of 1500: on track. Months 2025-04 .. 2026-08 are 17 periods; July 2026
has no data.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import yaml

from qb_pipeline.goals.loader import load_goals
from tests.web.conftest import ORG, WebApp, connect, csrf_of, text_of
from tests.web.goal_data import goal_files, import_and_compute, write_seed_goals

ADMIN, EDITOR, VIEWER = "admin@acme.test", "editor@acme.test", "viewer@acme.test"
GOALS = f"/orgs/{ORG}/goals"
NEW = f"{GOALS}/new"
PERIODS = 17  # 2025-04 .. 2026-08


@pytest.fixture
def goals_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The goal files' folder, named by QBP_GOALS_DIR as for the CLI and Dagster."""
    folder = tmp_path / "goal_models"
    monkeypatch.setenv("QBP_GOALS_DIR", str(folder))
    write_seed_goals(folder)
    return folder


@pytest.fixture
def goals_web(goals_dir: Path, connectable_web: WebApp) -> WebApp:
    """acme connected to an emulator company, its data imported, its goals computed."""
    web = connectable_web
    assert web.server.config.app.state.goals_dir == goals_dir
    connect(web.signed_in(ADMIN))
    import_and_compute(web.settings, web.service.status(ORG).realm_id, goals_dir)
    return web


def new_goal_form(client: httpx.Client, **fields: str) -> dict[str, str]:
    """A valid form for an accrual P&L goal on the Income line, with `fields` changed."""
    page = client.get(NEW)
    assert page.status_code == 200, text_of(page.text)
    form = {
        "csrf_token": csrf_of(page.text),
        "dataset": "profit_and_loss",
        "name": "Quarterly product sales",
        "line": "Income",
        "account": "",
        "basis": "accrual",
        "grain": "quarter",
        "window": "period",
        "direction": "increase",
        "target": "5000",
        "at_risk_pct": "10",
    }
    form.update(fields)
    return form


def post_form(client: httpx.Client, form: dict[str, str]) -> httpx.Response:
    return client.post(NEW, data={k: v for k, v in form.items() if v is not None})


# -- the goals page -----------------------------------------------------------------


def test_viewer_sees_every_goal_with_its_latest_value_target_and_status(goals_web):
    page = goals_web.signed_in(VIEWER).get(GOALS)

    assert page.status_code == 200
    row = text_of(page.text.split('id="goal-income-monthly"')[1].split("</tr>")[0])
    assert row == (
        "> Monthly income income-monthly Profit and loss: Income line Aug 2026 2,170.00 "
        "1,500.00 ✓ On track Current"
    )
    assert f'href="{GOALS}/income-monthly"' in page.text
    assert f'href="{GOALS}/checking-balance"' in page.text
    assert "Checking balance" in text_of(page.text)


def test_viewer_may_not_create_goals(goals_web, goals_dir):
    client = goals_web.signed_in(VIEWER)
    page = client.get(GOALS)
    assert 'disabled aria-describedby="create-reason">New QuickBooks Goal</button>' in page.text
    assert "Only editors and admins can create goals. Your role: viewer." in text_of(page.text)
    before = goal_files(goals_dir)

    form_page = client.get(NEW)
    assert form_page.status_code == 403
    assert "Only editors and admins can create goals. Your role in 'acme': viewer." in text_of(
        form_page.text
    )
    # A forged POST with the session's own CSRF token: refused by the role check.
    forged = {"csrf_token": csrf_of(page.text), "name": "Sneaky", "line": "Income"}
    refused = client.post(NEW, data={**forged, "target": "1", "dataset": "profit_and_loss"})
    assert refused.status_code == 403
    assert (
        "viewer@acme.test may not create goals for acme: that needs the editor role, "
        "and viewer@acme.test is a viewer" in text_of(refused.text)
    )
    assert goal_files(goals_dir) == before


def test_a_non_member_is_told_so(goals_web):
    goals_web.service.create_org("birch", "Birch Bakery")
    page = goals_web.signed_in(VIEWER).get("/orgs/birch/goals")
    assert page.status_code == 403
    assert "is not a member of the organization 'birch'" in text_of(page.text)


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


def test_values_outlive_their_goal_file_and_other_organizations_goals_stay_out(
    goals_web, goals_dir
):
    (goals_dir / "seed" / "acme-goals.yaml").unlink()
    (goals_dir / ORG).mkdir()
    (goals_dir / ORG / "broken.yaml").write_text("id: [unclosed\n")
    (goals_dir / "beta").mkdir()
    (goals_dir / "beta" / "broken.yaml").write_text("id: [unclosed\n")
    (goals_dir / "beta" / "theirs.yaml").write_text(
        "id: their-income\nname: Their income\norganization: beta\n"
        "dataset: profit_and_loss\ntracks: {line: {group: Income}}\ngrain: month\n"
    )
    client = goals_web.signed_in(VIEWER)

    listing = client.get(GOALS)
    row = text_of(listing.text.split('id="goal-income-monthly"')[1].split("</tr>")[0])
    assert "goal file missing or invalid Aug 2026 2,170.00 1,500.00 ✓ On track" in row
    assert "Their income" not in listing.text
    # Only acme's own folder counts: beta's broken file is none of acme's business.
    problems = text_of(listing.text.split('id="file-problems"')[1].split("</p>")[0])
    assert problems == (
        ">1 problem(s) in the goal files of acme keep some goals out; qb-pipeline goals "
        "validate names each one."
    )

    page = client.get(f"{GOALS}/income-monthly")
    assert page.status_code == 200
    assert "The goal file of this goal is missing or invalid" in text_of(page.text)
    assert len(re.findall(r'<circle class="point', page.text)) == PERIODS
    assert client.get("/orgs/beta/goals/their-income").status_code == 403


# -- one goal's page ----------------------------------------------------------------


def test_goal_page_draws_one_point_per_period_and_lists_the_periods(goals_web):
    page = goals_web.signed_in(VIEWER).get(f"{GOALS}/income-monthly")

    assert page.status_code == 200
    [svg] = re.findall(r"<svg .*?</svg>", page.text, flags=re.S)
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


def test_goal_page_has_no_script_and_no_inline_style_for_the_csp(goals_web):
    page = goals_web.signed_in(VIEWER).get(f"{GOALS}/income-monthly")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "<script" not in page.text
    assert " style=" not in page.text
    assert "<svg " in page.text


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


def test_stale_values_show_the_flag_the_reason_and_since_when(goals_web, goals_dir):
    disconnected = goals_web.service.disconnect(ORG, ADMIN)
    realm = disconnected.realm_id
    import_and_compute(
        goals_web.settings, realm, goals_dir, "disconnected", disconnected.disconnected_at
    )
    client = goals_web.signed_in(VIEWER)

    listing = client.get(GOALS)
    row = text_of(listing.text.split('id="goal-income-monthly"')[1].split("</tr>")[0])
    assert "Aug 2026 2,170.00 1,500.00 ✓ On track Stale: Disconnected since" in row
    since = disconnected.disconnected_at.isoformat()
    assert f'datetime="{since}"' in listing.text.split('id="goal-income-monthly"')[1]

    page = client.get(f"{GOALS}/income-monthly")
    stale = text_of(page.text.split('id="stale"')[1].split("</p>")[0])
    assert stale.startswith("> Stale: Disconnected since")
    assert "they are kept, not recomputed" in stale
    # The values themselves are the last known ones.
    assert len(re.findall(r'<circle class="point', page.text)) == PERIODS


# -- the new-goal form --------------------------------------------------------------


def test_form_offers_only_what_the_connected_company_has(goals_web):
    page = goals_web.signed_in(EDITOR).get(NEW)
    assert page.status_code == 200
    html = page.text
    # Datasets imported: P&L (first, the usual goal) and balance sheet; no cash flow.
    datasets = re.findall(
        r'<option value="([a-z_]+)"', html.split('id="dataset-choice"')[1].split("</select>")[0]
    )
    assert datasets == ["profit_and_loss", "balance_sheet"]
    accounts = html.split('id="account"')[1].split("</select>")[0]
    offered = re.findall(r'<option value="(\d+)"', accounts)
    # Active Revenue and Expense accounts only: not 70 (deleted), 45 (inactive) or 1 (bank).
    assert sorted(offered, key=int) == [
        "10",
        "11",
        "12",
        "13",
        "14",
        "20",
        "30",
        "31",
        "32",
        "40",
        "50",
        "60",
    ]
    assert ">Services:Consulting (11)</option>" in accounts
    lines = re.findall(
        r'<option value="([A-Za-z]+)"', html.split('id="line"')[1].split("</select>")[0]
    )
    assert lines == [
        "Income", "COGS", "GrossProfit", "Expenses", "NetOperatingIncome", "OtherIncome",
        "OtherExpenses", "NetOtherIncome", "NetIncome",
    ]  # fmt: skip
    filters = html.split('id="filter"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([a-z]+:[A-Z0-9]+)"', filters) == [
        "class:C1", "class:C2", "class:C3", "department:D1",
    ]  # fmt: skip
    assert ">Retail (C1)</option>" in filters


def test_balance_sheet_form_offers_balance_sheet_accounts_and_only_the_period_window(goals_web):
    html = goals_web.signed_in(EDITOR).get(f"{NEW}?dataset=balance_sheet").text
    accounts = html.split('id="account"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\d+)"', accounts) == ["3", "1", "2", "80"]
    window = html.split('id="window"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([a-z_0-9]+)"', window) == ["period"]
    assert 'id="filter"' not in html


def test_editor_creates_a_goal_on_an_account_and_its_file_appears(goals_web, goals_dir):
    client = goals_web.signed_in(EDITOR)
    form = new_goal_form(client, line="", account="13", name="Product sales", target="5000")

    response = post_form(client, form)

    assert response.status_code == 303, text_of(response.text)
    assert response.headers["location"] == f"{GOALS}/product-sales"
    path = goals_dir / ORG / "product-sales.yaml"
    data = yaml.safe_load(path.read_text())
    assert data["tracks"] == {"account": {"account_id": "13", "include_subaccounts": False}}
    assert (data["grain"], data["target"], data["created_by"]) == (
        "quarter",
        {"value": 5000.0},
        EDITOR,
    )
    [sourced] = load_goals([path]).goals
    assert sourced.goal.organization == ORG

    page = client.get(response.headers["location"])
    text = text_of(page.text)
    assert (
        f"Created the goal “Product sales” (product-sales) in goal_models/{ORG}/product-sales.yaml."
        in text
    )
    assert (
        "Its values appear after the next goal run: reload the Dagster code location so it "
        "reads the new file (Reload in the Dagster UI, or restart dagster dev), then launch "
        "the goals_refresh job for the partition acme; or wait for the next sync, which "
        "computes the goals after importing."
    ) in text
    assert "account 13 Products" in text
    assert "No values yet." in text

    listing = text_of(client.get(GOALS).text)
    assert "Product sales product-sales Profit and loss: account 13 Not computed yet" in listing


def test_editor_creates_a_class_filtered_goal_with_subaccounts(goals_web, goals_dir):
    client = goals_web.signed_in(EDITOR)
    form = new_goal_form(
        client,
        line="",
        account="10",
        with_subaccounts="on",
        filter="class:C1",
        name="Retail services",
    )
    assert post_form(client, form).status_code == 303
    data = yaml.safe_load((goals_dir / ORG / "retail-services.yaml").read_text())
    assert data["tracks"]["account"] == {"account_id": "10", "include_subaccounts": True}
    assert data["filters"] == {"class_id": "C1"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"line": "", "account": "999"},
            "account",
            "Account: '999' is not an account of acme's connected company; active "
            "profit_and_loss accounts: 10 Services, 11 Services:Consulting,",
        ),
        ({"target": ""}, "target", "Target: enter a number, such as 12000 or 1250.50"),
        (
            {"target": "12k"},
            "target",
            "Target: '12k' is not a number; write it like 12000 or 1250.50",
        ),
        ({"name": " "}, "name", "Name: enter a name for the goal"),
        (
            {"line": "", "account": ""},
            "tracks",
            "Report line or account: choose a report line or an account to track",
        ),
        (
            {"account": "13"},
            "tracks",
            "Report line or account: choose a report line or an account, not both",
        ),
        (
            {"line": "TotalAssets"},
            "line",
            "Report line: 'TotalAssets' is not a profit_and_loss line",
        ),
        (
            {"direction": "maintain"},
            "direction",
            "Direction: 'maintain' needs band {low, high} or tolerance_pct (around the target)",
        ),
        ({"grain": "week"}, "grain", "Period: "),
    ],
)
def test_a_bad_value_shows_the_form_again_with_the_field_named_and_writes_nothing(
    goals_web, goals_dir, changes, field, message
):
    client = goals_web.signed_in(EDITOR)
    before = goal_files(goals_dir)
    form = new_goal_form(client, **changes)

    response = post_form(client, form)

    assert response.status_code == 400
    text = text_of(response.text)
    assert "The goal was not created. Nothing was written." in text
    assert message in text
    assert f'id="{field}-error"' in response.text
    # What was typed is kept.
    assert 'value="Quarterly product sales"' in response.text or field == "name"
    assert goal_files(goals_dir) == before


def test_a_dataset_not_imported_is_refused_with_what_is_imported(goals_web, goals_dir):
    client = goals_web.signed_in(EDITOR)
    page = client.get(f"{NEW}?dataset=cash_flow")
    assert (
        "Dataset: 'cash_flow' has not been imported for acme yet; imported: balance_sheet, "
        "profit_and_loss"
    ) in text_of(page.text)
    before = goal_files(goals_dir)

    response = post_form(client, new_goal_form(client, dataset="cash_flow", line="CashIncrease"))

    assert response.status_code == 400
    assert (
        "The goal was not created. Nothing was written. Dataset: 'cash_flow' has not been "
        "imported for acme yet; imported: balance_sheet, profit_and_loss"
    ) in text_of(response.text)
    assert goal_files(goals_dir) == before


def test_a_disconnected_organization_refuses_creation_with_the_reason(goals_web, goals_dir):
    client = goals_web.signed_in(EDITOR)
    form = new_goal_form(client)  # filled in while still connected
    goals_web.service.disconnect(ORG, ADMIN)
    before = goal_files(goals_dir)

    page = client.get(NEW)
    assert (
        "Acme Outdoor Co. has no QuickBooks connection (disconnected), so no goal can be "
        "created. An admin connects QuickBooks on the Integrations page."
    ) in text_of(page.text)
    assert 'id="new-goal"' not in page.text

    response = post_form(client, form)
    assert response.status_code == 400
    assert (
        "acme has no QuickBooks connection (disconnected); an admin connects it with "
        "`qb-pipeline connect --org acme --as EMAIL`"
    ) in text_of(response.text)
    assert goal_files(goals_dir) == before


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_form_without_this_sessions_csrf_token_is_refused_and_writes_nothing(
    goals_web, goals_dir, token
):
    client = goals_web.signed_in(EDITOR)
    form = new_goal_form(client, csrf_token=token)
    before = goal_files(goals_dir)

    response = post_form(client, form)

    assert response.status_code == 403
    assert "This form was not sent from this site or has expired" in text_of(response.text)
    assert goal_files(goals_dir) == before


def test_before_the_first_import_the_pages_say_why_there_is_nothing(goals_dir, connectable_web):
    web = connectable_web
    connect(web.signed_in(ADMIN))
    client = web.signed_in(EDITOR)

    listing = text_of(client.get(GOALS).text)
    assert (
        "No goal values to show: nothing has been imported yet (the first sync publishes it)."
        in listing
    )
    assert "Monthly income income-monthly Profit and loss: Income line Not computed yet" in listing

    form = text_of(client.get(NEW).text)
    assert (
        "Nothing to set a goal on yet: nothing has been imported yet (the first sync "
        "publishes it). Goals can be created once the first sync of Acme Outdoor Co. has "
        "finished (`qb-pipeline sync --org acme`)."
    ) in form
