"""Budget targets in the web app and the JSON API, over real HTTP, after a real sync.

acme is connected (real OAuth) to the emulator's January company, which has QuickBooks
budgets (FY2023..FY2026, and FY2026 by class and by location), and synced by the real
pipeline (`qb-pipeline sync`): the form's budget choices are what the import holds
(marts.budgets). Goals are saved through the form and the API; their values come from a real
`goals_refresh` run. The expected budget names and amounts are read from the emulator's own
records, never from the warehouse.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from qb_pipeline.defs import defs
from qb_pipeline.defs.instance import open_instance
from qb_pipeline.defs.keys import GOAL_VALUES
from qb_pipeline.defs.partitions import ensure_partition
from tests.web.conftest import ORG, WebApp, connect, text_of
from tests.web.goal_data import export_settings, sync
from tests.web.test_api import api, error_of
from tests.web.test_goal_form import goal_form, save
from tests.web.test_goals_pages import ADMIN, EDITOR, GOALS, store_of

pytestmark = pytest.mark.slow

API = f"/api/v1/orgs/{ORG}"
NEW = f"/orgs/{ORG}/new-goal"
YEAR = "FY2026 Budget"


def emulated_company(web: WebApp):
    [company] = [
        c for c in web.emulator.state.backend.list_companies() if c.fiscal_year_start_month == 1
    ]
    return company


def budget_by_month(web: WebApp, name: str, accounts: set[str]) -> dict[date, Decimal]:
    """{month: the budget's amount for `accounts`}, from the emulator's own records."""
    [budget] = [b for b in emulated_company(web).store["Budget"].values() if b["Name"] == name]
    sums: dict[date, Decimal] = defaultdict(Decimal)
    for line in budget["BudgetDetail"]:
        if line["AccountRef"]["value"] in accounts:
            sums[date.fromisoformat(line["BudgetDate"])] += Decimal(str(line["Amount"]))
    return dict(sums)


def income_accounts(web: WebApp) -> set[str]:
    accounts = emulated_company(web).store["Account"].values()
    return {a["Id"] for a in accounts if a["AccountType"] == "Income"}


@pytest.fixture
def budget_web(connectable_web: WebApp, monkeypatch: pytest.MonkeyPatch) -> WebApp:
    """acme connected to the January company and synced by the real pipeline."""
    web = connectable_web
    [january] = [c for c in web.companies() if c["fiscalYearStartMonth"] == "January"]
    connect(web.signed_in(ADMIN), realm_id=january["realmId"])
    sync(web.settings, monkeypatch)
    return web


def run_goals_recorded(web: WebApp, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A real `goals_refresh` run on the instance under QBP_HOME (so its materialization is
    recorded, as the daemon's would be); returns the goal values' metadata."""
    export_settings(web.settings, monkeypatch)
    config = {"home": str(web.settings.home), "lock_wait_seconds": 5.0}
    with open_instance(web.settings) as instance:
        ensure_partition(instance, ORG)
        result = defs.resolve_job_def("goals_refresh").execute_in_process(
            run_config={
                "resources": {"quickbooks": {"config": config}},
                "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
            },
            instance=instance,
            partition_key=ORG,
            raise_on_error=False,
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        event = instance.get_latest_materialization_event(GOAL_VALUES)
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_the_form_offers_the_imported_budgets_refuses_an_unknown_one_and_shows_the_source(
    budget_web, monkeypatch
):
    web = budget_web
    client = web.signed_in(EDITOR)
    html = client.get(NEW).text
    assert '<input type="radio" id="target_kind-budget" name="target_kind" value="budget"' in html
    select = html.split('id="budget"')[1].split("</select>")[0]
    offered = re.findall(r'<option value="([^"]+)"', select)
    names = {b["Name"] for b in emulated_company(web).store["Budget"].values()}
    assert set(offered) == names
    assert {YEAR, "FY2026 Budget by Class", "FY2026 Budget by Location"} <= names
    assert offered[0].startswith("FY2026")  # newest fiscal year first

    # An unknown budget (a stale page, a crafted post): the field, the value, the choices.
    refused = save(client, goal_form(client, name="Budget income", grain="month",
                                     target_kind="budget", budget="FY2099 Budget"))  # fmt: skip
    assert refused.status_code == 400  # refused, shown again
    text = text_of(refused.text)
    assert "Budget: 'FY2099 Budget' is not a budget of acme's connected company; budgets:" in text
    assert YEAR in text.split("'FY2099 Budget' is not a budget")[1]
    assert 'id="budget" name="budget" aria-invalid="true"' in refused.text
    missing = save(client, goal_form(client, name="Budget income", target_kind="budget"))
    assert "Budget: choose the QuickBooks budget whose amounts are the targets" in text_of(
        missing.text
    )
    # A budget on a formula is refused under the same field.
    formula = save(
        client,
        goal_form(client, name="Margin", tracks_kind="formula", target_kind="budget",
                  budget=YEAR, expression="gp / inc * 100",
                  **{"item-0-name": "gp", "item-0-line": "GrossProfit",
                     "item-1-name": "inc", "item-1-line": "Income"}),
    )  # fmt: skip
    assert "Budget: applies to a goal on an account or a line, not to a formula" in text_of(
        formula.text
    )
    assert store_of(web).list(ORG) == []

    saved = save(client, goal_form(client, name="Budget income", grain="month",
                                   target_kind="budget", budget=YEAR))  # fmt: skip
    assert saved.status_code == 303, text_of(saved.text)
    [stored] = store_of(web).list(ORG)
    assert stored.definition.target.budget.name == YEAR
    assert stored.definition.target.value is None
    edit = client.get(f"{GOALS}/{stored.goal_id}/edit").text
    assert f'<option value="{YEAR}" selected>' in edit
    assert 'id="target_kind-budget" name="target_kind" value="budget" checked' in edit

    run_goals_recorded(web, monkeypatch)
    page = client.get(f"{GOALS}/{stored.goal_id}")
    text = text_of(page.text)
    assert f"Target: budget {YEAR}" in text
    assert f"Target budget {YEAR}: its amounts of what the goal tracks" in text
    # October 2026's target on the page is the budget's Income for October.
    october = budget_by_month(web, YEAR, income_accounts(web))[date(2026, 10, 1)]
    row = text_of(page.text.split(">Oct 2026</th>")[1].split("</tr>")[0])
    assert f"{october:,.2f}" in row


def test_the_api_creates_and_changes_budget_goals_names_bad_budgets_and_returns_the_source(
    budget_web, monkeypatch
):
    web = budget_web
    client = api(web, EDITOR)
    body = {
        "name": "Income to budget",
        "dataset": "profit_and_loss",
        "grain": "quarter",
        "tracks": {"line": {"group": "Income"}},
        "target": {"budget": {"name": YEAR}},
    }
    created = client.post(f"{API}/goals", json=body)
    assert created.status_code == 201, created.text
    goal_id = created.json()["goal"]["id"]
    assert created.json()["goal"]["definition"]["target"] == {"budget": {"name": YEAR}}

    unknown = client.post(f"{API}/goals", json={**body, "target": {"budget": {"name": "Nope"}}})
    assert unknown.status_code == 422
    [(field, reason)] = error_of(unknown)[1]
    assert field == "target.budget.name"
    assert reason.startswith("'Nope' is not a budget of acme's connected company; budgets: ")
    assert YEAR in reason
    both = client.post(
        f"{API}/goals", json={**body, "target": {"budget": {"name": YEAR, "budget_id": "1"}}}
    )
    assert both.status_code == 422
    assert [f for f, _ in error_of(both)[1]] == ["target.budget"]
    sheet = client.post(
        f"{API}/goals",
        json={**body, "dataset": "balance_sheet", "tracks": {"line": {"group": "BankAccounts"}}},
    )
    assert sheet.status_code == 422
    assert ("target.budget", "applies to profit_and_loss goals only (a budget holds P&L "
            "amounts); this goal's dataset is 'balance_sheet'") in error_of(sheet)[1]  # fmt: skip

    # By id: the goal's department filter and the budget by location.
    [by_location] = [
        b for b in emulated_company(web).store["Budget"].values()
        if b["Name"] == "FY2026 Budget by Location"
    ]  # fmt: skip
    department = next(
        line["DepartmentRef"]["value"] for line in by_location["BudgetDetail"]
        if line.get("DepartmentRef")
    )  # fmt: skip
    changed = client.patch(
        f"{API}/goals/{goal_id}",
        json={"target": {"budget": {"budget_id": by_location["Id"]}},
              "filters": {"department_id": department}, "grain": "month"},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    wrong_id = client.patch(
        f"{API}/goals/{goal_id}", json={"target": {"budget": {"budget_id": "999"}}}
    )
    assert wrong_id.status_code == 422
    [(field, reason)] = error_of(wrong_id)[1]
    assert (field, reason.split(";")[0]) == (
        "target.budget.budget_id",
        "'999' is not a budget of acme's connected company",
    )

    metadata = run_goals_recorded(web, monkeypatch)
    assert metadata["goal/budgets"] == {"FY2026 Budget by Location": [goal_id]}

    goal = client.get(f"{API}/goals/{goal_id}").json()["goal"]
    assert goal["definition"]["target"] == {"budget": {"budget_id": by_location["Id"]}}
    assert goal["definition"]["filters"] == {"department_id": department}
    assert goal["computing"] is False
    assert goal["latest"]["target_source"] == "budget:FY2026 Budget by Location"
    periods = client.get(f"{API}/goal_values", params={"goal_id": goal_id}).json()["values"]
    assert {p["target_source"] for p in periods} == {"budget:FY2026 Budget by Location"}
    expected: dict[date, Decimal] = defaultdict(Decimal)
    income = income_accounts(web)
    for line in by_location["BudgetDetail"]:
        ref = line.get("DepartmentRef") or {}
        if line["AccountRef"]["value"] in income and ref.get("value") == department:
            expected[date.fromisoformat(line["BudgetDate"])] += Decimal(str(line["Amount"]))
    targets = {date.fromisoformat(p["period_start"]): p["target"] for p in periods}
    checked = [m for m in expected if m in targets]
    assert len(checked) >= 10  # Jan..Nov 2026 are imported periods
    for month in checked:
        assert targets[month] == pytest.approx(float(expected[month]), abs=0.005)
    assert targets[date(2025, 12, 1)] is None  # outside the budget's fiscal year

    # Back to a fixed target: the source follows.
    client.patch(f"{API}/goals/{goal_id}", json={"target": {"value": 1000}})
    assert run_goals_recorded(web, monkeypatch)["goal/budgets"] == {}
    periods = client.get(f"{API}/goal_values", params={"goal_id": goal_id}).json()["values"]
    assert {p["target_source"] for p in periods} == {"fixed"}
