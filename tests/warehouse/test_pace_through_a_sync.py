"""The pace of the month in progress, through real syncs on both backends, tied out against
the emulator's own ProfitAndLoss reports.

The company with a January fiscal year (contract-jan, the shared `backends` fixture) was
synced on the emulator's date. The expected side never reads the warehouse: the month so
far and last year's whole month are asked of the API, and the seasonal projection is the
month so far plus last year's month for the share of its days still to come.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from qb_pipeline.goals.compute import preview
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.workspace import goal_workspace
from tests.warehouse.synced_backends import BACKENDS

pytestmark = pytest.mark.slow

ORG = "contract-jan"
ALL_PERIODS = 10_000


def income_total(companies: Any, start: date, end: date) -> Decimal:
    """The Income section's total of the accrual ProfitAndLoss for [start, end]."""
    with companies[ORG].client() as client:
        report = client.report(
            "ProfitAndLoss",
            {
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "accounting_method": "Accrual",
            },
        )
    [income] = [row for row in report["Rows"]["Row"] if row.get("group") == "Income"]
    return Decimal(income["Summary"]["ColData"][1]["value"])


def company_today(companies: Any) -> date:
    """The emulator's date for the company, from a report header's Time."""
    with companies[ORG].client() as client:
        header = client.report("ProfitAndLoss", {"start_date": "2026-01-01"})["Header"]
    return datetime.fromisoformat(header["Time"]).date()


def income_goal(grain: str = "month") -> GoalDefinition:
    return GoalDefinition.model_validate(
        {"id": f"income-{grain}", "name": "Income", "organization": ORG,
         "dataset": "profit_and_loss", "tracks": {"line": {"group": "Income"}},
         "grain": grain, "target": {"value": 1}}
    )  # fmt: skip


def previewed(backends: Any, backend: str, goal: GoalDefinition, realm_id: str) -> dict:
    """{period_start: row} as the goal step computes them (previewed: nothing stored in the
    warehouses other test modules share)."""
    with goal_workspace(backends[backend].settings, ORG, wait_seconds=5) as con:
        (database,) = con.execute("SELECT current_database()").fetchone()
        rows = preview(con, database, goal, realm_id, periods=ALL_PERIODS)
    return {row["period_start"]: row for row in rows}


@pytest.mark.parametrize("backend", BACKENDS)
def test_data_through_is_the_companys_date_at_the_sync(backends, backend, companies):
    [(through,)] = backends[backend].query(
        ORG, "SELECT data_through FROM marts.company WHERE org_id = 'contract-jan'"
    )
    assert through == company_today(companies)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_month_in_progress_is_projected_from_the_same_month_last_year(
    backends, backend, companies
):
    today = company_today(companies)
    month = today.replace(day=1)
    days = calendar.monthrange(today.year, today.month)[1]
    if today.day == days:
        pytest.fail("the emulator's date is a month end: no month is in progress")
    year_ago = month.replace(year=month.year - 1)
    so_far = income_total(companies, month, today)
    last_year = income_total(
        companies,
        year_ago,
        year_ago.replace(day=calendar.monthrange(year_ago.year, year_ago.month)[1]),
    )
    expected = float(so_far) + float(last_year) * (days - today.day) / days

    rows = previewed(backends, backend, income_goal(), companies[ORG].realm_id)

    current = rows[month]
    assert current["actual"] == pytest.approx(float(so_far), abs=0.005)
    assert current["projected"] == pytest.approx(expected, abs=0.01)
    assert current["projection_method"] == "seasonal"
    assert current["pace_as_of"] == today
    assert current["pace_status"] == ("on_track" if expected >= 1 else "off_track")
    finished = [row for start, row in rows.items() if start != month]
    assert finished
    assert all(row["projected"] is None for row in finished)
    assert all(row["pace_status"] is None for row in finished)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_year_in_progress_adds_last_years_remaining_months(backends, backend, companies):
    today = company_today(companies)
    month = today.replace(day=1)
    days = calendar.monthrange(today.year, today.month)[1]
    year_start = date(today.year, 1, 1)
    so_far = income_total(companies, year_start, today)
    # A year earlier: the rest of this month (by its share of days) and every later month.
    ago = month.replace(year=month.year - 1)
    ago_month = income_total(
        companies, ago, ago.replace(day=calendar.monthrange(ago.year, ago.month)[1])
    )
    ago_rest = (
        income_total(companies, date(ago.year, ago.month + 1, 1), date(ago.year, 12, 31))
        if ago.month < 12
        else Decimal(0)
    )
    expected = float(so_far) + float(ago_month) * (days - today.day) / days + float(ago_rest)

    rows = previewed(backends, backend, income_goal("year"), companies[ORG].realm_id)

    current = rows[year_start]
    assert current["actual"] == pytest.approx(float(so_far), abs=0.005)
    assert current["projected"] == pytest.approx(expected, abs=0.01)
    assert current["projection_method"] == "seasonal"
