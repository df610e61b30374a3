"""The goal form over real HTTP (new goal, edit, preview, archive, restore, confirm): what it
offers, what it stores in the goal store, what it refuses under which field, and how the
values follow through a real goals run. Figures: see test_goals_pages.py."""

from __future__ import annotations

import re

import duckdb
import httpx
import pytest

from qb_pipeline.connections.events import GOAL_CHANGED
from tests.web.conftest import ORG, connect, csrf_of, text_of
from tests.web.goal_data import INCOME_MONTHLY, run_goals, store_goal
from tests.web.test_goals_pages import ADMIN, EDITOR, GOALS, VIEWER, goals_web, row_text, store_of

__all__ = ["goals_web"]  # the fixture, used below

NEW = f"/orgs/{ORG}/new-goal"


def goal_form(client: httpx.Client, url: str = NEW, **fields: str) -> dict[str, str]:
    """A valid form for a quarterly accrual P&L goal on the Income line, `fields` changed."""
    page = client.get(url)
    assert page.status_code == 200, text_of(page.text)
    form = {
        "csrf_token": csrf_of(page.text),
        "dataset": "profit_and_loss",
        "name": "Quarterly income",
        "tracks_kind": "line",
        "line": "Income",
        "basis": "accrual",
        "grain": "quarter",
        "window": "period",
        "direction": "increase",
        "target_kind": "value",
        "target_value": "5000",
        "at_risk_pct": "10",
    }
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def edit_form(client: httpx.Client, goal_id: str, **fields: str) -> dict[str, str]:
    """The edit form as the page fills it in, with `fields` changed."""
    page = client.get(f"{GOALS}/{goal_id}/edit")
    assert page.status_code == 200, text_of(page.text)
    html = page.text
    form = dict(re.findall(r'<input type="(?:hidden|text|number|date)"[^>]*?name="([^"]+)"'
                           r'[^>]*?value="([^"]*)"', html))  # fmt: skip
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.findall(r'<option value="([^"]*)" selected>', body)
        form[name] = chosen[0] if chosen else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        form[name] = body
    for name, value in re.findall(
        r'<input type="radio"[^>]*name="([^"]+)" value="([^"]+)" checked', html
    ):
        form[name] = value
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def save(client: httpx.Client, form: dict[str, str], url: str = NEW) -> httpx.Response:
    return client.post(url, data={**form, "action": "save"})


def goal_events(web) -> list:
    return web.service.events_after(0, (GOAL_CHANGED,))


# -- what the form offers -------------------------------------------------------------


def test_form_offers_only_what_the_connected_company_has(goals_web):
    page = goals_web.signed_in(EDITOR).get(NEW)
    assert page.status_code == 200
    html = page.text
    datasets = re.findall(
        r'<option value="([a-z_]+)"', html.split('id="dataset"')[1].split("</select>")[0]
    )
    assert datasets == ["profit_and_loss", "balance_sheet"]  # imported; no cash flow
    accounts = html.split('id="account"')[1].split("</select>")[0]
    offered = re.findall(r'<option value="(\d+)"', accounts)
    # Active Revenue and Expense accounts only: not 70 (deleted), 45 (inactive) or 1 (bank).
    assert sorted(offered, key=int) == [
        "10", "11", "12", "13", "14", "20", "30", "31", "32", "40", "50", "60",
    ]  # fmt: skip
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
    # Formula items may read either imported dataset: both are offered, grouped.
    item_lines = html.split('name="item-0-line"')[1].split("</select>")[0]
    assert '<optgroup label="Profit and loss">' in item_lines
    assert '<optgroup label="Balance sheet">' in item_lines
    assert '<option value="TotalAssets">' in item_lines


def test_balance_sheet_form_offers_balance_sheet_accounts_and_only_the_period_window(goals_web):
    html = goals_web.signed_in(EDITOR).get(f"{NEW}?dataset=balance_sheet").text
    accounts = html.split('id="account"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\d+)"', accounts) == ["3", "1", "2", "80"]
    window = html.split('id="window"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([a-z_0-9]+)"', window) == ["period"]
    assert 'id="filter"' not in html


def test_choosing_another_dataset_keeps_what_was_typed(goals_web):
    client = goals_web.signed_in(EDITOR)
    form = goal_form(client, dataset="balance_sheet", name="Typed name", target_value="7")
    page = client.post(NEW, data={**form, "action": "choices"})
    assert page.status_code == 200
    assert 'value="Typed name"' in page.text
    assert 'value="7"' in page.text
    accounts = page.text.split('id="account"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\d+)"', accounts) == ["3", "1", "2", "80"]
    assert store_of(goals_web).find(ORG, "typed-name") is None


# -- preview ------------------------------------------------------------------------


def test_preview_shows_the_latest_periods_and_stores_nothing(goals_web):
    client = goals_web.signed_in(EDITOR)
    events = len(goal_events(goals_web))
    form = goal_form(client, grain="month", target_value="2000", name="Monthly income 2")

    page = client.post(NEW, data={**form, "action": "preview"})

    assert page.status_code == 200, text_of(page.text)
    table = text_of(page.text.split('id="preview-periods"')[1].split("</table>")[0])
    # The six latest months of data: Mar 2026 .. Aug 2026 with July missing. Income =
    # 1170 + 100 * fiscal month (FY2027: *2): Mar 2026 = 1170 + 1200, Apr 2026 = 1170 + 200.
    assert table.endswith(
        "Mar 2026 2,370.00 2,000.00 ✓ On track Apr 2026 1,370.00 2,000.00 ✗ Off track "
        "May 2026 1,570.00 2,000.00 ✗ Off track Jun 2026 1,770.00 2,000.00 ✗ Off track "
        "Jul 2026 — 2,000.00 ○ No data Aug 2026 2,170.00 2,000.00 ✓ On track"
    )
    assert "Nothing was saved." in text_of(page.text)
    assert 'value="Monthly income 2"' in page.text  # the form keeps what was typed
    assert store_of(goals_web).find(ORG, "monthly-income-2") is None
    assert len(goal_events(goals_web)) == events


def test_preview_of_a_refused_goal_shows_the_problem_under_its_field(goals_web):
    client = goals_web.signed_in(EDITOR)
    form = goal_form(client, tracks_kind="account", line="", account="999")
    page = client.post(NEW, data={**form, "action": "preview"})
    assert page.status_code == 400
    assert 'id="account-error"' in page.text
    assert 'id="preview"' not in page.text


def test_preview_works_without_javascript_as_the_forms_default_button(goals_web):
    html = goals_web.signed_in(EDITOR).get(NEW).text
    form = html.split('id="goal-form"')[1]
    first_button = re.search(r"<button[^>]*>", form).group(0)
    assert 'name="action" value="preview"' in first_button  # Enter previews, never saves


# -- creating -----------------------------------------------------------------------


def test_editor_creates_a_goal_it_is_stored_a_run_is_asked_for_and_it_shows_computing(
    goals_web, monkeypatch
):
    client = goals_web.signed_in(EDITOR)
    form = goal_form(
        client, tracks_kind="account", line="", account="13", name="Product sales",
        description="Products only",
    )  # fmt: skip

    response = save(client, form)

    assert response.status_code == 303, text_of(response.text)
    assert response.headers["location"] == f"{GOALS}/product-sales"
    stored = store_of(goals_web).get(ORG, "product-sales")
    assert (stored.version, stored.state, stored.created_by) == (1, "active", EDITOR)
    assert stored.realm_id == goals_web.service.status(ORG).realm_id
    assert stored.definition.tracks.account.account_id == "13"
    assert stored.definition.target.value == 5000
    [version] = store_of(goals_web).history(ORG, "product-sales")
    assert (version.source, version.change) == ("web", "created")
    event = goal_events(goals_web)[-1]
    assert event.detail["goal_id"] == "product-sales"

    page = client.get(response.headers["location"])
    text = text_of(page.text)
    assert "Created the goal “Product sales” (product-sales, version 1)." in text
    # Run submission is off in these tests: the daemon's sensor would take the change.
    assert (
        "The values will come with the Dagster daemon's next look for goal changes (the run "
        "could not be queued now: run submission is off (QBP_DAGSTER_URL=off))."
    ) in text
    assert "Computing the values of version 1…" in text
    assert "No values yet: computing." in text
    assert "account 13 Products" in text
    live = client.get(f"/orgs/{ORG}/live/goals/product-sales").json()
    assert (live["busy"], live["version"], live["computed_version"]) == (True, 1, None)
    assert "Computing…" in row_text(client.get(GOALS).text, "product-sales")

    run_goals(goals_web.settings, monkeypatch)  # the run the change asked for

    live = client.get(f"/orgs/{ORG}/live/goals/product-sales").json()
    assert (live["busy"], live["computed_version"]) == (False, 1)
    values = text_of(live["fragments"]["goal-values"])
    # Products = 100 * fiscal month * year factor: Jan-Mar 2026 (fm 10..12) = 3300.
    assert "Jan 2026 to Mar 2026 3,300.00 5,000.00 ✗ Off track" in values
    assert live["digest"] != page.text.split('data-live-digest="')[1].split('"')[0]
    assert "Values of version 1." in text_of(live["fragments"]["goal-state"])


def test_editor_creates_a_class_filtered_goal_with_subaccounts_and_an_id_of_their_choice(
    goals_web,
):
    client = goals_web.signed_in(EDITOR)
    form = goal_form(
        client, tracks_kind="account", line="", account="10", with_subaccounts="on",
        filter="class:C1", name="Retail services", goal_id="retail-svc",
    )  # fmt: skip
    assert save(client, form).headers["location"] == f"{GOALS}/retail-svc"
    definition = store_of(goals_web).get(ORG, "retail-svc").definition
    assert definition.tracks.account.include_subaccounts is True
    assert definition.filters.class_id == "C1"


def test_editor_creates_a_formula_goal_and_its_ratio_is_computed(goals_web, monkeypatch):
    client = goals_web.signed_in(EDITOR)
    form = goal_form(
        client, name="Gross margin", grain="month", tracks_kind="formula", line="",
        expression="gross_profit / income * 100", target_value="85",
        **{"item-0-name": "gross_profit", "item-0-line": "GrossProfit",
           "item-1-name": "income", "item-1-line": "Income"},
    )  # fmt: skip
    assert save(client, form).status_code == 303

    formula = store_of(goals_web).get(ORG, "gross-margin").definition.tracks.formula
    assert formula.expression == "gross_profit / income * 100"
    assert {n: i.line.group for n, i in formula.items.items()} == {
        "gross_profit": "GrossProfit",
        "income": "Income",
    }
    run_goals(goals_web.settings, monkeypatch)
    table = text_of(client.get(f"{GOALS}/gross-margin").text.split('id="periods"')[1])
    # August 2026: (2170 - 300) / 2170 * 100 = 86.18 %.
    assert "Aug 2026 86.18 85.00 ✓ On track" in table


def test_a_formula_item_may_read_another_dataset(goals_web):
    client = goals_web.signed_in(EDITOR)
    form = goal_form(
        client, name="Return on assets", tracks_kind="formula", line="",
        expression="net_income / assets * 100", target_kind="none",
        **{"item-0-name": "net_income", "item-0-line": "NetIncome",
           "item-1-name": "assets", "item-1-line": "TotalAssets",
           "item-1-dataset": "balance_sheet"},
    )  # fmt: skip
    assert save(client, form).status_code == 303, "saved"
    items = store_of(goals_web).get(ORG, "return-on-assets").definition.tracks.formula.items
    assert items["assets"].dataset == "balance_sheet"
    assert store_of(goals_web).get(ORG, "return-on-assets").definition.target is None


def test_per_period_and_growth_targets_and_a_band_are_stored_as_typed(goals_web):
    client = goals_web.signed_in(EDITOR)
    per_period = goal_form(
        client, name="Per period", target_kind="per_period",
        per_period="2026-04-01: 25000\n2026-07-01 = 26000\n",
    )  # fmt: skip
    assert save(client, per_period).status_code == 303
    target = store_of(goals_web).get(ORG, "per-period").definition.target
    assert {str(k): v for k, v in target.per_period.items()} == {
        "2026-04-01": 25000.0,
        "2026-07-01": 26000.0,
    }
    growth = goal_form(
        client, name="Growth", target_kind="growth", growth_base="number",
        growth_base_value="4000", growth_base_period="2026-04-01", growth_rate_pct="3",
    )  # fmt: skip
    assert save(client, growth).status_code == 303
    grown = store_of(goals_web).get(ORG, "growth").definition.target.growth
    assert (grown.base, str(grown.base_period), grown.rate_pct) == (4000.0, "2026-04-01", 3.0)
    yearly = goal_form(
        client, name="Yearly growth", target_kind="growth",
        growth_base="same_period_last_year", growth_rate_pct="5",
    )  # fmt: skip
    assert save(client, yearly).status_code == 303
    assert store_of(goals_web).get(ORG, "yearly-growth").definition.target.growth.base == (
        "same_period_last_year"
    )
    band = goal_form(
        client, name="Steady", direction="maintain", band_low="1000", band_high="3000",
        at_risk_pct="5", target_kind="none",
    )  # fmt: skip
    assert save(client, band).status_code == 303
    steady = store_of(goals_web).get(ORG, "steady").definition
    assert (steady.band.low, steady.band.high, steady.at_risk_threshold_pct) == (1000, 3000, 5)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"tracks_kind": "account", "line": "", "account": "999"},
            "account",
            "Account: '999' is not an account of acme's connected company; active "
            "profit_and_loss accounts: 10 Services, 11 Services:Consulting,",
        ),
        ({"target_value": ""}, "target_value", "Target value: enter a number"),
        ({"target_value": "12k"}, "target_value", "Target value: '12k' is not a number"),
        ({"name": " "}, "name", "Name: enter a name for the goal"),
        ({"line": ""}, "line", "Report line: choose the report line to track"),
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
        ({"grain": "week"}, "grain", "Period: 'week' is not allowed"),
        ({"goal_id": "Bad Id"}, "goal_id", "Id: 'Bad Id' is not a valid goal id"),
        ({"at_risk_pct": "150"}, "at_risk_pct", "must be between 0 and 100"),
        ({"band_low": "5"}, "band", "Band: enter both the low and the high end"),
        (
            {"target_kind": "per_period", "per_period": "2026-04-01: lots"},
            "per_period",
            "Targets per period: line 1 ('2026-04-01: lots') is not 'YYYY-MM-DD: amount'",
        ),
        (
            {"target_kind": "per_period", "per_period": "April: 5"},
            "per_period",
            "Targets per period: 'April' is not a date; use YYYY-MM-DD",
        ),
        (
            {"direction": "maintain", "band_low": "1", "band_high": "2"},
            "target_kind",
            "Target: is not used with band",
        ),
        (
            {"target_kind": "per_period", "per_period": "2026-05-01: 5"},
            "per_period",
            "Targets per period: ",
        ),
        (
            {
                "tracks_kind": "formula",
                "expression": "a * b",
                "item-0-name": "a",
                "item-0-line": "Income",
                "item-1-name": "b",
                "item-1-line": "COGS",
            },
            "expression",
            "Formula: 'a * b'",
        ),
        (
            {
                "tracks_kind": "formula",
                "expression": "a / b",
                "item-0-name": "a",
                "item-0-line": "Income",
                "item-1-name": "b",
                "item-1-line": "TotalAssets",
            },
            "item-1-line",
            "Item 2 line: 'TotalAssets' is not a profit_and_loss line",
        ),
        (
            {
                "tracks_kind": "formula",
                "expression": "a / 2",
                "item-0-name": "Bad Name",
                "item-0-line": "Income",
            },
            "item-0-name",
            "Item 1 name: 'Bad Name' is not a valid item name",
        ),
    ],
)
def test_a_bad_value_shows_the_form_again_with_the_field_named_and_stores_nothing(
    goals_web, changes, field, message
):
    client = goals_web.signed_in(EDITOR)
    before = [g.goal_id for g in store_of(goals_web).list(ORG)]
    events = len(goal_events(goals_web))
    form = goal_form(client, **changes)

    response = save(client, form)

    assert response.status_code == 400
    text = text_of(response.text)
    assert "The goal was not saved. Nothing was stored." in text
    assert message in text
    assert f'id="{field}-error"' in response.text
    assert 'value="Quarterly income"' in response.text or field == "name"  # kept as typed
    assert [g.goal_id for g in store_of(goals_web).list(ORG)] == before
    assert len(goal_events(goals_web)) == events


def test_a_dataset_not_imported_is_refused_with_what_is_imported(goals_web):
    client = goals_web.signed_in(EDITOR)
    page = client.get(f"{NEW}?dataset=cash_flow")
    assert (
        "Dataset: 'cash_flow' has not been imported for acme yet; imported: balance_sheet, "
        "profit_and_loss"
    ) in text_of(page.text)

    response = save(client, goal_form(client, dataset="cash_flow", line="CashIncrease"))

    assert response.status_code == 400
    assert "Dataset: 'cash_flow' has not been imported for acme yet" in text_of(response.text)
    assert store_of(goals_web).find(ORG, "quarterly-income") is None


def test_an_id_that_is_taken_is_refused(goals_web):
    client = goals_web.signed_in(EDITOR)
    response = save(client, goal_form(client, goal_id="income-monthly"))
    assert response.status_code == 409
    assert "acme already has a goal 'income-monthly'; choose another id" in text_of(response.text)
    assert store_of(goals_web).get(ORG, "income-monthly").definition.grain == "month"


def test_a_disconnected_organization_refuses_creation_with_the_reason(goals_web):
    client = goals_web.signed_in(EDITOR)
    form = goal_form(client)  # filled in while still connected
    goals_web.service.disconnect(ORG, ADMIN)

    page = client.get(NEW)
    assert (
        "Acme Outdoor Co. has no QuickBooks connection (disconnected), so its goals cannot "
        "be created or changed."
    ) in text_of(page.text)
    assert 'id="goal-form"' not in page.text

    response = save(client, form)
    assert response.status_code == 400
    assert "acme has no QuickBooks connection (disconnected)" in text_of(response.text)
    assert store_of(goals_web).find(ORG, "quarterly-income") is None


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_form_without_this_sessions_csrf_token_is_refused_and_stores_nothing(goals_web, token):
    client = goals_web.signed_in(EDITOR)
    form = goal_form(client, csrf_token=token)
    response = save(client, form)
    assert response.status_code == 403
    assert "This form was not sent from this site or has expired" in text_of(response.text)
    assert store_of(goals_web).find(ORG, "quarterly-income") is None
    archive = client.post(f"{GOALS}/income-monthly/archive", data={"csrf_token": token or ""})
    assert archive.status_code == 403
    assert store_of(goals_web).get(ORG, "income-monthly").is_active


# -- editing ------------------------------------------------------------------------


def test_editing_the_target_changes_the_statuses_and_the_history_says_what_changed(
    goals_web, monkeypatch
):
    client = goals_web.signed_in(EDITOR)
    form = edit_form(client, "income-monthly", target_value="2300")
    assert form["version"] == "1"
    assert form["name"] == "Monthly income"

    response = save(client, form, f"{GOALS}/income-monthly/edit")

    assert response.status_code == 303, text_of(response.text)
    stored = store_of(goals_web).get(ORG, "income-monthly")
    assert (stored.version, stored.definition.target.value) == (2, 2300)
    assert stored.definition.model_dump(exclude={"target"}) == store_of(goals_web).history(
        ORG, "income-monthly"
    )[0].definition.model_dump(exclude={"target"})  # nothing else changed
    page = client.get(f"{GOALS}/income-monthly")
    assert "Computing the values of version 2…" in text_of(page.text)
    assert "(the values shown are of version 1)" in text_of(page.text)
    history = text_of(page.text.split('id="versions"')[1])
    assert f"2 {stored.updated_at:%-d %b %Y}" in history  # newest first
    assert f"{EDITOR} web Changed: target.value: 1500 → 2300" in history

    run_goals(goals_web.settings, monkeypatch)

    page = client.get(f"{GOALS}/income-monthly")
    table = text_of(page.text.split('id="periods"')[1].split("</table>")[0])
    # 2170 against 2300, 10 % margin (2070): at risk; June 2026 (1770) off track.
    assert "Aug 2026 2,170.00 2,300.00 ! At risk" in table
    assert "Jun 2026 1,770.00 2,300.00 ✗ Off track" in table
    # The current period's history: the same actual, the target moved from 1500 to 2300.
    history_table = text_of(page.text.split('id="history"')[1].split("</table>")[0])
    assert re.search(
        r"2,170\.00 1,500\.00 ✓ On track .* 2,170\.00 2,300\.00 ! At risk", history_table
    )
    history_svg = page.text.split('class="chart history-chart"')[1].split("</svg>")[0]
    assert len(re.findall(r"<circle ", history_svg)) == 2


def test_an_edit_of_a_version_that_changed_meanwhile_is_refused_and_keeps_the_typing(goals_web):
    client = goals_web.signed_in(EDITOR)
    form = edit_form(client, "income-monthly", target_value="1800")
    other = goals_web.signed_in(ADMIN)
    assert save(other, edit_form(other, "income-monthly", target_value="1600"),
                f"{GOALS}/income-monthly/edit").status_code == 303  # fmt: skip

    response = save(client, form, f"{GOALS}/income-monthly/edit")

    assert response.status_code == 409
    assert (
        "goal 'income-monthly' was changed meanwhile (version 2 by admin@acme.test; you "
        "edited version 1); reload it and make your change again"
    ) in text_of(response.text)
    assert 'value="1800"' in response.text
    assert store_of(goals_web).get(ORG, "income-monthly").definition.target.value == 1600


def test_saving_an_unchanged_goal_stores_no_new_version(goals_web):
    client = goals_web.signed_in(EDITOR)
    response = save(client, edit_form(client, "income-monthly"), f"{GOALS}/income-monthly/edit")
    assert response.status_code == 303
    assert store_of(goals_web).get(ORG, "income-monthly").version == 1
    assert "Nothing to save" in text_of(client.get(response.headers["location"]).text)


def test_edit_form_offers_the_goals_own_values_even_when_no_longer_imported(goals_web):
    realm = goals_web.service.status(ORG).realm_id
    store_goal(
        goals_web.settings, realm,
        {**INCOME_MONTHLY, "id": "sponsorships", "name": "Sponsorships",
         "tracks": {"account": {"account_id": "14"}}},
    )  # fmt: skip
    with_account = edit_form(goals_web.signed_in(EDITOR), "sponsorships")
    assert with_account["tracks_kind"] == "account"
    assert with_account["account"] == "14"


# -- archive, restore ---------------------------------------------------------------


def test_archiving_removes_the_goal_from_the_list_keeps_its_values_and_restore_brings_it_back(
    goals_web, monkeypatch
):
    client = goals_web.signed_in(EDITOR)
    page = client.get(f"{GOALS}/income-monthly")
    archived = client.post(
        f"{GOALS}/income-monthly/archive",
        data={"csrf_token": csrf_of(page.text), "version": "1"},
    )
    assert archived.status_code == 303
    assert archived.headers["location"] == GOALS
    listing = client.get(GOALS)
    assert 'id="goal-income-monthly"' not in listing.text
    assert "Archived “Monthly income”" in text_of(listing.text)
    assert store_of(goals_web).get(ORG, "income-monthly").state == "archived"

    run_goals(goals_web.settings, monkeypatch)  # archived goals keep their values

    shelf = client.get(f"{GOALS}?state=archived")
    assert "Archived (1)" in text_of(shelf.text)
    assert "Aug 2026 2,170.00 1,500.00" in row_text(shelf.text, "income-monthly")
    goal_page = client.get(f"{GOALS}/income-monthly")
    assert "Archived No longer computed; its values and history are kept." in text_of(
        goal_page.text
    )
    assert 'id="history"' in goal_page.text
    assert "/edit" not in goal_page.text

    restored = client.post(
        f"{GOALS}/income-monthly/restore",
        data={"csrf_token": csrf_of(shelf.text), "version": "2"},
    )
    assert restored.status_code == 303
    assert store_of(goals_web).get(ORG, "income-monthly").state == "active"
    assert 'id="goal-income-monthly"' in client.get(GOALS).text
    changes = [v.change for v in store_of(goals_web).history(ORG, "income-monthly")]
    assert changes == ["created", "archived", "restored"]


def test_archiving_with_an_old_version_is_refused(goals_web):
    client = goals_web.signed_in(EDITOR)
    page = client.get(f"{GOALS}/income-monthly")
    response = client.post(
        f"{GOALS}/income-monthly/archive", data={"csrf_token": csrf_of(page.text), "version": "7"}
    )
    assert response.status_code == 303
    assert "Not done: goal 'income-monthly' was changed meanwhile" in text_of(
        client.get(response.headers["location"]).text
    )
    assert store_of(goals_web).get(ORG, "income-monthly").is_active


# -- file-managed goals, goals to review --------------------------------------------


def test_a_file_managed_goal_is_read_only_here_and_says_which_file_manages_it(goals_web):
    realm = goals_web.service.status(ORG).realm_id
    store_goal(
        goals_web.settings, realm, {**INCOME_MONTHLY, "id": "from-file", "name": "From file"},
        source="file", managed_by="goal_models/acme/revenue.yaml",
    )  # fmt: skip
    client = goals_web.signed_in(EDITOR)

    page = client.get(f"{GOALS}/from-file")
    assert (
        "Managed by the goal file goal_models/acme/revenue.yaml : it cannot be changed here. "
        "Change the file and run qb-pipeline goals apply ."
    ) in text_of(page.text)
    assert f"{GOALS}/from-file/edit" not in page.text
    assert "/archive" not in page.text
    assert "managed by goal_models/acme/revenue.yaml" in row_text(
        client.get(GOALS).text, "from-file"
    )
    edit = client.get(f"{GOALS}/from-file/edit")
    assert edit.status_code == 409
    archive = client.post(f"{GOALS}/from-file/archive", data={"csrf_token": csrf_of(page.text)})
    assert "Not done: goal 'from-file' is managed by the goal file" in text_of(
        client.get(archive.headers["location"]).text
    )
    assert store_of(goals_web).get(ORG, "from-file").is_active


def test_after_a_reconnect_to_another_company_account_goals_wait_for_a_review(
    goals_web, monkeypatch
):
    first = goals_web.service.status(ORG).realm_id
    other = next(c["realmId"] for c in goals_web.companies() if c["realmId"] != first)
    store_goal(
        goals_web.settings, first,
        {**INCOME_MONTHLY, "id": "products", "name": "Products",
         "tracks": {"account": {"account_id": "13"}}},
    )  # fmt: skip
    goals_web.service.disconnect(ORG, ADMIN)
    connect(goals_web.signed_in(ADMIN), other)
    # The new company's chart of accounts, as its first sync would import it: its account
    # 1 is another account than the old company's Business Checking; it has no account 13.
    goals_web.settings.warehouse_path(ORG).parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(goals_web.settings.warehouse_path(ORG))) as con:
        con.execute(
            "INSERT INTO marts.accounts (org_id, realm_id, account_id, name,"
            " fully_qualified_name, account_type, classification, active)"
            " VALUES (?, ?, '1', 'Petty Cash', 'Petty Cash', 'Bank', 'Asset', true)",
            [ORG, other],
        )
    run_goals(goals_web.settings, monkeypatch)  # reconciles the goals with the new company

    store = store_of(goals_web)
    assert store.get(ORG, "income-monthly").state == "active"  # a line: carries on
    assert store.get(ORG, "income-monthly").realm_id == other
    review = store.get(ORG, "checking-balance")
    assert review.state == "needs_review"
    assert store.get(ORG, "products").state == "needs_review"
    client = goals_web.signed_in(EDITOR)
    assert "Needs review" in row_text(client.get(GOALS).text, "checking-balance")
    page = client.get(f"{GOALS}/checking-balance")
    text = text_of(page.text)
    assert "Needs review: the organization is now connected to another QuickBooks company" in text
    assert "tracks.account.account_id account 1 Petty Cash" in text
    products = text_of(client.get(f"{GOALS}/products").text)
    assert "tracks.account.account_id account 13 no such account" in products

    confirmed = client.post(
        f"{GOALS}/checking-balance/confirm",
        data={"csrf_token": csrf_of(page.text), "version": str(review.version)},
    )
    assert confirmed.status_code == 303
    after = store.get(ORG, "checking-balance")
    assert (after.state, after.realm_id) == ("active", other)
    assert "Confirmed “Checking balance”." in text_of(client.get(f"{GOALS}/checking-balance").text)


def test_viewers_cannot_confirm_or_restore(goals_web):
    client = goals_web.signed_in(VIEWER)
    token = csrf_of(client.get(GOALS).text)
    for action in ("confirm", "restore"):
        response = client.post(f"{GOALS}/income-monthly/{action}", data={"csrf_token": token})
        assert response.status_code == 403
    assert store_of(goals_web).get(ORG, "income-monthly").version == 1
