"""Goal targets from a QuickBooks budget, through real syncs on both backends.

The company with classes (contract-jan, fiscal year from January) is synced from the emulator
(the shared `backends` fixture); goals whose target is its "FY2026 Budget" (and its "FY2026
Budget by Class") are computed as the goal step does. Each period's target must equal the
sum of the BudgetDetail amounts read here directly from the emulator's API, for the goal's
accounts and the period's months: the expected side never reads the warehouse.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from qb_pipeline.goals.catalog import load_catalog
from qb_pipeline.goals.compute import preview
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.rules import rule_issues
from qb_pipeline.goals.validate import data_issues
from qb_pipeline.goals.workspace import goal_workspace
from tests.warehouse.synced_backends import BACKENDS

pytestmark = pytest.mark.slow

ORG = "contract-jan"
YEAR = "FY2026 Budget"
BY_CLASS = "FY2026 Budget by Class"
PERIODS = 10_000  # every period the preview has


def api_records(companies: Any, entity: str) -> list[dict]:
    with companies[ORG].client() as client:
        return [record for page in client.query_all(entity) for record in page]


def budget_by_month(
    companies: Any, name: str, accounts: set[str], class_id: str | None = None
) -> dict[date, Decimal]:
    """{month: the budget's amount for `accounts`} from the emulator's API."""
    [budget] = [b for b in api_records(companies, "Budget") if b["Name"] == name]
    sums: dict[date, Decimal] = defaultdict(Decimal)
    for line in budget["BudgetDetail"]:
        if line["AccountRef"]["value"] not in accounts:
            continue
        if class_id is not None and (line.get("ClassRef") or {}).get("value") != class_id:
            continue
        sums[date.fromisoformat(line["BudgetDate"])] += Decimal(str(line["Amount"]))
    return dict(sums)


def goal(goal_id: str, grain: str, tracks: dict, budget: str, **more: Any) -> GoalDefinition:
    return GoalDefinition.model_validate(
        {"id": goal_id, "name": goal_id, "organization": ORG, "dataset": "profit_and_loss",
         "tracks": tracks, "grain": grain, "target": {"budget": {"name": budget}}, **more}
    )  # fmt: skip


def computed_targets(backends: Any, backend: str, goals: list, realm_id: str) -> dict:
    """{(goal id, period start): target} as the goal step computes them, previewed (the
    same SELECT, nothing stored): the synced warehouses are shared with other test modules,
    whose goal values and history must not see these goals."""
    found = {}
    with goal_workspace(backends[backend].settings, ORG, wait_seconds=5) as con:
        (database,) = con.execute("SELECT current_database()").fetchone()
        for goal in goals:
            for row in preview(con, database, goal, realm_id, periods=PERIODS):
                found[(goal.id, row["period_start"])] = row["target"]
    return found


def quarter_of(month: date) -> date:
    return date(month.year, (month.month - 1) // 3 * 3 + 1, 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_budget_targets_are_the_budgets_amounts_by_month_quarter_and_year(
    backends, backend, companies
):
    accounts = api_records(companies, "Account")
    income = {a["Id"] for a in accounts if a["AccountType"] == "Income"}
    services = next(a["Id"] for a in accounts if a["Name"] == "Services")
    classes = sorted(c["Id"] for c in api_records(companies, "Class") if c["Active"])
    goals = [
        goal("income-month", "month", {"line": {"group": "Income"}}, YEAR),
        goal("income-quarter", "quarter", {"line": {"group": "Income"}}, YEAR),
        goal("income-year", "year", {"line": {"group": "Income"}}, YEAR),
        goal("services-month", "month", {"account": {"account_id": services}}, YEAR),
        goal(
            "class-income", "month", {"line": {"group": "Income"}}, BY_CLASS,
            filters={"class_id": classes[0]},
        ),
    ]  # fmt: skip
    targets = computed_targets(backends, backend, goals, companies[ORG].realm_id)

    by_month = budget_by_month(companies, YEAR, income)
    assert len(by_month) == 12
    # The goal's periods are the imported months (the sync's today is in November 2026):
    # December's budget has no period yet.
    reported = {p for g, p in targets if g == "income-month" and p in by_month}
    assert len(reported) >= 10
    for month in reported:
        assert targets[("income-month", month)] == pytest.approx(float(by_month[month]), abs=0.005)
    by_quarter: dict[date, Decimal] = defaultdict(Decimal)
    for month, amount in by_month.items():
        by_quarter[quarter_of(month)] += amount
    for quarter, amount in by_quarter.items():
        assert targets[("income-quarter", quarter)] == pytest.approx(float(amount), abs=0.005)
    assert targets[("income-year", date(2026, 1, 1))] == pytest.approx(
        float(sum(by_month.values())), abs=0.005
    )
    # Periods outside the budget's fiscal year have no target.
    assert targets[("income-year", date(2025, 1, 1))] is None
    assert targets[("income-month", date(2025, 12, 1))] is None

    for month, amount in budget_by_month(companies, YEAR, {services}).items():
        if month not in reported:
            continue
        assert targets[("services-month", month)] == pytest.approx(float(amount), abs=0.005)
    class_months = budget_by_month(companies, BY_CLASS, income, classes[0])
    assert class_months
    for month, amount in class_months.items():
        if month not in reported:
            continue
        assert targets[("class-income", month)] == pytest.approx(float(amount), abs=0.005)


def test_a_budget_target_on_a_balance_sheet_goal_or_a_formula_is_refused():
    sheet = GoalDefinition.model_validate(
        {"id": "cash", "name": "cash", "organization": ORG, "dataset": "balance_sheet",
         "tracks": {"line": {"group": "BankAccounts"}}, "grain": "month",
         "target": {"budget": {"name": YEAR}}}
    )  # fmt: skip
    [issue] = rule_issues(sheet)
    assert issue.field == "target.budget"
    assert "profit_and_loss goals only" in issue.message
    ratio = goal(
        "margin", "month",
        {"formula": {"expression": "a / b * 100",
                     "items": {"a": {"line": {"group": "GrossProfit"}},
                               "b": {"line": {"group": "Income"}}}}},
        YEAR,
    )  # fmt: skip
    assert [i.field for i in rule_issues(ratio)] == ["target.budget"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_budget_the_company_does_not_have_is_refused_naming_the_field_and_the_budgets(
    backends, backend, companies
):
    realm_id = companies[ORG].realm_id
    with goal_workspace(backends[backend].settings, ORG, wait_seconds=5) as con:
        catalog = load_catalog(con, ORG, realm_id)
    income = {"line": {"group": "Income"}}
    assert data_issues(goal("ok", "month", income, YEAR), catalog) == []
    [issue] = data_issues(goal("bad", "month", income, "FY2099 Budget"), catalog)
    assert issue.field == "target.budget.name"
    assert "'FY2099 Budget' is not a budget of contract-jan's connected company" in issue.message
    assert YEAR in issue.message
    assert BY_CLASS in issue.message
    by_id = GoalDefinition.model_validate(
        {
            **goal("by-id", "month", income, YEAR).model_dump(),
            "target": {"budget": {"budget_id": "999"}},
        }
    )
    [issue] = data_issues(by_id, catalog)
    assert issue.field == "target.budget.budget_id"
