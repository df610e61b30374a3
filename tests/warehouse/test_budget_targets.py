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


def computed_rows(backends: Any, backend: str, org: str, goals: list, realm_id: str) -> dict:
    """{(goal id, period start): (target, target_source)} as the goal step computes them,
    previewed (the same SELECT, nothing stored): the synced warehouses are shared with other
    test modules, whose goal values and history must not see these goals."""
    found = {}
    with goal_workspace(backends[backend].settings, org, wait_seconds=5) as con:
        (database,) = con.execute("SELECT current_database()").fetchone()
        for goal in goals:
            for row in preview(con, database, goal, realm_id, periods=PERIODS):
                found[(goal.id, row["period_start"])] = (row["target"], row["target_source"])
    return found


def computed_targets(backends: Any, backend: str, goals: list, realm_id: str) -> dict:
    """{(goal id, period start): target} of the company with classes."""
    rows = computed_rows(backends, backend, ORG, goals, realm_id)
    return {key: target for key, (target, _source) in rows.items()}


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


# -- windows, a department, a fiscal year from July -------------------------------------


def records_of(companies: Any, org: str, entity: str) -> list[dict]:
    with companies[org].client() as client:
        return [record for page in client.query_all(entity) for record in page]


def budget_months(
    companies: Any, org: str, name: str, accounts: set[str], department: str | None = None
) -> dict[date, Decimal]:
    """{month: amount} of budget `name` for `accounts` (and `department`), from the API."""
    [budget] = [b for b in records_of(companies, org, "Budget") if b["Name"] == name]
    sums: dict[date, Decimal] = defaultdict(Decimal)
    for line in budget["BudgetDetail"]:
        ref = (line.get("DepartmentRef") or {}).get("value")
        if line["AccountRef"]["value"] in accounts and (department is None or ref == department):
            sums[date.fromisoformat(line["BudgetDate"])] += Decimal(str(line["Amount"]))
    return dict(sums)


def income_of(companies: Any, org: str) -> set[str]:
    return {a["Id"] for a in records_of(companies, org, "Account") if a["AccountType"] == "Income"}


def goal_of(org: str, goal_id: str, grain: str, target: dict, **more: Any) -> GoalDefinition:
    return GoalDefinition.model_validate(
        {"id": goal_id, "name": goal_id, "organization": org, "dataset": "profit_and_loss",
         "tracks": {"line": {"group": "Income"}}, "grain": grain, "target": target, **more}
    )  # fmt: skip


def running_sums(by_month: dict[date, Decimal]) -> dict[date, Decimal]:
    total, out = Decimal(0), {}
    for month in sorted(by_month):
        total += by_month[month]
        out[month] = total
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_budget_targets_over_the_fiscal_year_to_date_and_the_trailing_twelve_months(
    backends, backend, companies
):
    income = income_of(companies, ORG)
    fy2026 = budget_months(companies, ORG, YEAR, income)
    fy2025 = budget_months(companies, ORG, "FY2025 Budget", income)
    by_name = {"budget": {"name": YEAR}}
    goals = [
        goal_of(ORG, "ytd-month", "month", by_name, window="fiscal_ytd"),
        goal_of(ORG, "ytd-quarter", "quarter", by_name, window="fiscal_ytd"),
        goal_of(ORG, "ttm-2025", "month", {"budget": {"name": "FY2025 Budget"}},
                window="trailing_12_months"),
        goal_of(ORG, "fixed", "month", {"value": 100}),
        goal_of(ORG, "none", "month", None),
    ]  # fmt: skip
    rows = computed_rows(backends, backend, ORG, goals, companies[ORG].realm_id)

    to_date = running_sums(fy2026)
    months = [m for m in to_date if ("ytd-month", m) in rows]
    assert len(months) >= 10
    for month in months:
        target, source = rows[("ytd-month", month)]
        assert target == pytest.approx(float(to_date[month]), abs=0.005), month
        assert source == f"budget:{YEAR}"
    for quarter_start in (date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1)):
        quarter_end = date(quarter_start.year, quarter_start.month + 2, 1)
        target, _ = rows[("ytd-quarter", quarter_start)]
        assert target == pytest.approx(float(to_date[quarter_end]), abs=0.005)
    # Twelve trailing months lie inside FY2025 only in its last month: there the target is
    # the whole budget; every other window reaches outside it and has none.
    ttm = {p: t for (g, p), (t, _s) in rows.items() if g == "ttm-2025"}
    assert ttm.pop(date(2025, 12, 1)) == pytest.approx(float(sum(fy2025.values())), abs=0.005)
    assert set(ttm.values()) == {None}
    assert {s for (g, _p), (_t, s) in rows.items() if g == "ttm-2025"} == {"budget:FY2025 Budget"}
    assert {s for (g, _p), (_t, s) in rows.items() if g == "fixed"} == {"fixed"}
    assert {s for (g, _p), (_t, s) in rows.items() if g == "none"} == {None}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_department_filter_reads_that_locations_budget_lines_only(backends, backend, companies):
    income = income_of(companies, ORG)
    [by_location] = [
        b for b in records_of(companies, ORG, "Budget") if b["Name"] == "FY2026 Budget by Location"
    ]
    departments = sorted(
        {d["DepartmentRef"]["value"] for d in by_location["BudgetDetail"] if d.get("DepartmentRef")}
    )
    assert len(departments) >= 2
    goals = [
        goal_of(ORG, f"dept-{d}", "month", {"budget": {"budget_id": by_location["Id"]}},
                filters={"department_id": d})
        for d in departments
    ] + [
        # The company-wide budget has no line of any location: no target.
        goal_of(ORG, "dept-plain", "month", {"budget": {"name": YEAR}},
                filters={"department_id": departments[0]}),
    ]  # fmt: skip
    rows = computed_rows(backends, backend, ORG, goals, companies[ORG].realm_id)

    for department in departments:
        expected = budget_months(companies, ORG, by_location["Name"], income, department)
        assert expected
        checked = [m for m in expected if (f"dept-{department}", m) in rows]
        assert len(checked) >= 10
        for month in checked:
            target, source = rows[(f"dept-{department}", month)]
            assert target == pytest.approx(float(expected[month]), abs=0.005)
            # Named by id, the source shows the budget's imported name.
            assert source == "budget:FY2026 Budget by Location"
    plain = [t for (g, _p), (t, _s) in rows.items() if g == "dept-plain"]
    assert plain
    assert set(plain) == {None}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_fiscal_year_from_july_bounds_budget_quarters_years_and_year_to_date(
    backends, backend, companies
):
    org = "contract-jul"
    income = income_of(companies, org)
    budgets = {b["Name"]: b for b in records_of(companies, org, "Budget")}
    # The fiscal year July 2026 - June 2027 ends in 2027: its budget is FY2027.
    assert (budgets["FY2027 Budget"]["StartDate"], budgets["FY2027 Budget"]["EndDate"]) == (
        "2026-07-01",
        "2027-06-30",
    )
    fy2027 = budget_months(companies, org, "FY2027 Budget", income)
    fy2026 = budget_months(companies, org, "FY2026 Budget", income)
    assert min(fy2027) == date(2026, 7, 1)
    assert max(fy2027) == date(2027, 6, 1)
    goals = [
        goal_of(org, "jul-quarter", "quarter", {"budget": {"name": "FY2027 Budget"}}),
        goal_of(org, "jul-year-2026", "year", {"budget": {"name": "FY2026 Budget"}}),
        goal_of(org, "jul-ytd", "month", {"budget": {"name": "FY2027 Budget"}},
                window="fiscal_ytd"),
    ]  # fmt: skip
    rows = computed_rows(backends, backend, org, goals, companies[org].realm_id)

    first_quarter = sum(fy2027[date(2026, m, 1)] for m in (7, 8, 9))
    assert rows[("jul-quarter", date(2026, 7, 1))][0] == pytest.approx(
        float(first_quarter), abs=0.005
    )
    second_quarter = sum(fy2027[date(2026, m, 1)] for m in (10, 11, 12))
    assert rows[("jul-quarter", date(2026, 10, 1))][0] == pytest.approx(
        float(second_quarter), abs=0.005
    )
    # The quarter before is FY2026's last: outside FY2027 Budget.
    assert rows[("jul-quarter", date(2026, 4, 1))][0] is None
    assert rows[("jul-year-2026", date(2025, 7, 1))][0] == pytest.approx(
        float(sum(fy2026.values())), abs=0.005
    )
    assert rows[("jul-year-2026", date(2024, 7, 1))][0] is None
    to_date = running_sums(fy2027)
    for month in (date(2026, 7, 1), date(2026, 9, 1), date(2026, 11, 1)):
        assert rows[("jul-ytd", month)][0] == pytest.approx(float(to_date[month]), abs=0.005)
    # June 2026 is FY2026's last month: its year to date reaches outside FY2027 Budget.
    assert rows[("jul-ytd", date(2026, 6, 1))][0] is None
