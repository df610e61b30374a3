"""Goal values for every grain, window, basis and filter, checked by hand against the
company in tests/goals/company.py (fiscal year from April; July 2026 not imported)."""

from __future__ import annotations

from datetime import date

import pytest

from qb_pipeline.goals.compute import compute
from tests.goals.company import ORG, build_marts
from tests.goals.conftest import account, goal, line

D = date


def actuals(rows: dict) -> dict:
    return {start: actual for start, (actual, _target, _status) in rows.items()}


def test_monthly_period_values_are_each_months_own_amount(values):
    # Products is 100 * fiscal month in FY2026, 200 * fiscal month in FY2027.
    rows = actuals(values(goal(tracks=account("13"))))

    assert rows[D(2025, 4, 1)] == 100
    assert rows[D(2025, 5, 1)] == 200
    assert rows[D(2026, 3, 1)] == 1200
    assert rows[D(2026, 4, 1)] == 200
    assert rows[D(2026, 8, 1)] == 1000
    assert list(rows) == [
        D(2025, 4, 1), D(2025, 5, 1), D(2025, 6, 1), D(2025, 7, 1), D(2025, 8, 1),
        D(2025, 9, 1), D(2025, 10, 1), D(2025, 11, 1), D(2025, 12, 1), D(2026, 1, 1),
        D(2026, 2, 1), D(2026, 3, 1), D(2026, 4, 1), D(2026, 5, 1), D(2026, 6, 1),
        D(2026, 7, 1), D(2026, 8, 1),
    ]  # fmt: skip


def test_a_month_without_imported_data_has_no_data(values):
    rows = values(goal(tracks=account("13"), target={"value": 100}))

    assert rows[D(2026, 7, 1)] == (None, 100, "no_data")


def test_fiscal_ytd_restarts_in_april_not_january(values):
    rows = actuals(values(goal(tracks=account("13"), window="fiscal_ytd")))

    assert rows[D(2025, 6, 1)] == 100 + 200 + 300
    assert rows[D(2026, 1, 1)] == 100 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10)  # 5500
    assert rows[D(2026, 3, 1)] == 7800
    assert rows[D(2026, 4, 1)] == 200  # a new fiscal year
    assert rows[D(2026, 7, 1)] is None  # no data in the period itself
    assert rows[D(2026, 8, 1)] == 200 + 400 + 600 + 1000


def test_trailing_twelve_months_end_with_the_period(values):
    rows = actuals(values(goal(tracks=account("13"), window="trailing_12_months")))

    # Jul 2025..Jun 2026: 100 * (4 + ... + 12) + 200 * (1 + 2 + 3)
    assert rows[D(2026, 6, 1)] == 7200 + 1200
    # Only what was imported counts: Apr..Jun 2025.
    assert rows[D(2025, 6, 1)] == 600


def test_fiscal_quarters_start_in_april_july_october_and_january(values):
    rows = values(goal(tracks=account("13"), grain="quarter"))

    assert actuals(rows) == {
        D(2025, 4, 1): 100 + 200 + 300,
        D(2025, 7, 1): 400 + 500 + 600,
        D(2025, 10, 1): 700 + 800 + 900,
        D(2026, 1, 1): 1000 + 1100 + 1200,
        D(2026, 4, 1): 200 + 400 + 600,
        D(2026, 7, 1): 1000,  # July missing, August imported: what the quarter holds so far
    }


def test_quarter_period_ends_are_the_fiscal_quarter_ends(con):
    compute(con, ORG, [goal(tracks=account("13"), grain="quarter")])

    ends = con.execute(
        "SELECT period_start, period_end FROM marts.goal_values ORDER BY 1 LIMIT 2"
    ).fetchall()
    assert ends == [(D(2025, 4, 1), D(2025, 6, 30)), (D(2025, 7, 1), D(2025, 9, 30))]


def test_quarterly_fiscal_ytd_and_trailing_twelve_months(values):
    ytd = actuals(values(goal(tracks=account("13"), grain="quarter", window="fiscal_ytd")))
    ttm = actuals(values(goal(tracks=account("13"), grain="quarter", window="trailing_12_months")))

    assert ytd[D(2025, 10, 1)] == 100 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9)  # 4500
    assert ytd[D(2026, 4, 1)] == 1200
    assert ttm[D(2026, 4, 1)] == 8400


def test_fiscal_years_run_april_to_march(con, values):
    rows = actuals(values(goal(tracks=account("13"), grain="year")))
    ttm = actuals(values(goal(tracks=account("13"), grain="year", window="trailing_12_months")))
    ytd = actuals(values(goal(tracks=account("13"), grain="year", window="fiscal_ytd")))

    assert rows == {D(2025, 4, 1): 7800, D(2026, 4, 1): 200 * (1 + 2 + 3 + 5)}
    assert ttm == rows == ytd
    ends = con.execute("SELECT DISTINCT period_end FROM marts.goal_values ORDER BY 1").fetchall()
    assert ends == [(D(2026, 3, 31),), (D(2027, 3, 31),)]


def test_calendar_fiscal_year_when_the_company_starts_in_january(tmp_path):
    import duckdb

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        build_marts(con, fiscal_year_start="January")
        compute(con, ORG, [goal(tracks=account("13"), grain="quarter", window="fiscal_ytd")])
        rows = dict(con.execute("SELECT period_start, actual FROM marts.goal_values").fetchall())

    # Jan-Mar 2026 is Q1 of a calendar fiscal year: 1000 + 1100 + 1200.
    assert rows[D(2026, 1, 1)] == 3300
    # Oct-Dec 2025 year to date: Apr..Dec 2025 (the data starts in April).
    assert rows[D(2025, 10, 1)] == 4500


def test_without_a_known_fiscal_year_start_january_is_assumed(tmp_path):
    import duckdb

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        build_marts(con, fiscal_year_start=None)
        result = compute(con, ORG, [goal(tracks=account("13"), grain="year")])
        rows = dict(con.execute("SELECT period_start, actual FROM marts.goal_values").fetchall())

    assert result.fiscal_year_start_month == 1
    # Calendar 2025 holds Apr..Dec 2025; calendar 2026: Jan..Mar 1000 + 1100 + 1200, then
    # the new fiscal year's 200 + 400 + 600 (Apr..Jun) and 1000 (Aug).
    assert rows == {D(2025, 1, 1): 100 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9), D(2026, 1, 1): 5500}


def test_explicit_fiscal_year_start_month_wins(con):
    result = compute(
        con, ORG, [goal(tracks=account("13"), grain="year")], fiscal_year_start_month=7
    )
    starts = [
        r[0]
        for r in con.execute("SELECT period_start FROM marts.goal_values ORDER BY 1").fetchall()
    ]

    assert result.fiscal_year_start_month == 7
    assert starts == [D(2024, 7, 1), D(2025, 7, 1), D(2026, 7, 1)]


def test_cash_basis_reads_cash_figures(values):
    rows = actuals(values(goal(tracks=account("13"), basis="cash", grain="quarter")))

    # Cash arrives a month after the sale: Apr 0 (nothing received), May 100, Jun 200.
    assert rows[D(2025, 4, 1)] == 300
    assert rows[D(2025, 7, 1)] == 300 + 400 + 500


def test_account_with_subaccounts_adds_every_depth(values):
    own = actuals(values(goal(tracks=account("10"))))
    tree = actuals(values(goal(tracks=account("10", subaccounts=True))))
    utilities = actuals(values(goal(tracks=account("30", subaccounts=True), grain="quarter")))

    assert own[D(2025, 5, 1)] == 1000
    assert tree[D(2025, 5, 1)] == 1000 + 200 + 50  # Services, Consulting, Senior Consulting
    assert utilities[D(2025, 4, 1)] == 3 * (20 + 100 + 40)


@pytest.mark.parametrize(
    ("group", "may_2025"),
    [
        ("Income", 1000 + 200 + 50 + 200 - 80 + 250),  # 1620
        ("COGS", 300),
        ("GrossProfit", 1620 - 300),
        ("Expenses", 20 + 100 + 40 + 1000),
        ("NetOperatingIncome", 1620 - 300 - 1160),
        ("OtherIncome", 10),
        ("OtherExpenses", 5),
        ("NetOtherIncome", 10 - 5),
        ("NetIncome", 1620 - 300 - 1160 + 10 - 5),
    ],
)
def test_profit_and_loss_lines(values, group, may_2025):
    rows = actuals(values(goal(tracks=line(group))))

    assert rows[D(2025, 5, 1)] == may_2025


def test_net_income_for_a_fiscal_quarter(values):
    rows = actuals(values(goal(tracks=line("NetIncome"), grain="quarter")))

    # Income 1520 + 1620 + 1720 = 4860, less 3 * 1455.
    assert rows[D(2025, 4, 1)] == 4860 - 3 * 1455


def test_class_filter_reads_the_by_dimension_mart(values):
    retail = actuals(values(goal(tracks=line("Income"), filters={"class_id": "C1"})))
    online = actuals(
        values(goal(tracks=account("13"), filters={"class_id": "C2"}, grain="quarter"))
    )

    assert retail[D(2025, 5, 1)] == 0.6 * 200 + 1000
    assert online[D(2025, 4, 1)] == pytest.approx(0.4 * 600)


def test_department_filter(values):
    income = actuals(values(goal(tracks=line("Income"), filters={"department_id": "D1"})))
    operating = actuals(
        values(goal(tracks=line("NetOperatingIncome"), filters={"department_id": "D1"}))
    )

    assert income[D(2025, 5, 1)] == 1000  # Services only
    assert operating[D(2025, 5, 1)] == 1000 - 1000  # less Rent


def test_a_class_without_rows_in_an_imported_month_reads_zero(values):
    events = values(goal(tracks=line("Income"), filters={"class_id": "C3"}))

    assert events[D(2025, 4, 1)][0] == 100
    assert events[D(2025, 5, 1)][0] == 0
    assert events[D(2026, 7, 1)][2] == "no_data"


def test_balance_sheet_account_takes_the_balance_at_period_end(values):
    monthly = actuals(values(goal(dataset="balance_sheet", tracks=account("1"))))
    quarterly = actuals(values(goal(dataset="balance_sheet", tracks=account("1"), grain="quarter")))
    yearly = actuals(values(goal(dataset="balance_sheet", tracks=account("1"), grain="year")))

    assert monthly[D(2025, 6, 1)] == 12000
    assert monthly[D(2026, 7, 1)] is None
    assert quarterly[D(2025, 4, 1)] == 12000  # June's balance, never a sum of months
    assert quarterly[D(2026, 7, 1)] == 26000  # the latest imported month end (August)
    assert yearly == {D(2025, 4, 1): 21000, D(2026, 4, 1): 26000}


def test_balance_sheet_cash_basis(values):
    rows = actuals(values(goal(dataset="balance_sheet", tracks=account("1"), basis="cash")))

    assert rows[D(2025, 6, 1)] == 11000


@pytest.mark.parametrize(
    ("group", "june_2025"),
    [
        ("TotalAssets", 12000 + 5000),
        ("CurrentAssets", 17000),
        ("BankAccounts", 12000),
        ("AR", 5000),
        ("CreditCards", 500),
        ("CurrentLiabilities", 500),
        ("Liabilities", 500),
        ("Equity", 2000 + 145),  # the "Net Income" row belongs to Equity
        ("TotalLiabilitiesAndEquity", 500 + 2145),
    ],
)
def test_balance_sheet_lines(values, group, june_2025):
    rows = actuals(values(goal(dataset="balance_sheet", tracks=line(group))))

    assert rows[D(2025, 6, 1)] == june_2025


def test_a_deleted_account_keeps_its_history(values):
    rows = values(goal(tracks=account("70"), grain="month"))
    year = actuals(values(goal(tracks=account("70"), grain="year")))

    assert rows[D(2025, 4, 1)][0] == 250
    assert rows[D(2025, 6, 1)][0] == 250
    assert rows[D(2025, 7, 1)][0] == 0  # deleted: nothing posted any more
    assert year[D(2025, 4, 1)] == 750


def test_organizations_never_mix(con, values):
    rows = actuals(values(goal(tracks=account("13"))))
    beta = con.execute("SELECT count(*) FROM marts.goal_values WHERE org_id = 'beta'").fetchall()

    assert rows[D(2025, 5, 1)] == 200  # not beta's 99999
    assert beta == [(0,)]


def test_realm_filter_reads_only_that_company(con):
    compute(con, ORG, [goal(tracks=account("13"))], realm_id="another-company")

    assert con.execute("SELECT count(*) FROM marts.goal_values").fetchall() == [(0,)]
