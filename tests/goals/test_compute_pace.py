"""Pace of the period in progress, checked by hand against the company in tests/goals/company.py.

Products (account 13) is 100 * fiscal month in FY2026 and 200 * fiscal month in FY2027, with
the fiscal year from April; July 2026 was not imported. The data runs through 2026-08-10:
August 2026 (FY2027's fifth month, 1000 so far) is 10 days done with 21 to come, and August
2025 did 500 in the whole month.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from qb_pipeline.goals.compute import compute
from tests.goals.company import ORG
from tests.goals.conftest import account, goal

D = date
THROUGH = D(2026, 8, 10)
AUGUST = D(2026, 8, 1)
LAST_AUGUST = 500.0
TO_COME = 21 / 31  # the share of August still to come


def set_data_through(con: duckdb.DuckDBPyConnection, day: date | None) -> None:
    con.execute("ALTER TABLE marts.company ADD COLUMN IF NOT EXISTS data_through DATE")
    con.execute("UPDATE marts.company SET data_through = ?", [day])


def pace_rows(con: duckdb.DuckDBPyConnection, *goals, goal_id: str = "g") -> dict:
    compute(con, ORG, list(goals))
    rows = con.execute(
        "SELECT period_start, actual, projected, projection_method, status, pace_status,"
        " pace_as_of FROM marts.goal_values WHERE org_id = ? AND goal_id = ?"
        " ORDER BY period_start",
        [ORG, goal_id],
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


@pytest.fixture
def through(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    set_data_through(con, THROUGH)
    return con


def test_the_month_in_progress_is_projected_from_last_years_same_days(through):
    rows = pace_rows(through, goal(tracks=account("13"), target={"value": 1300}))

    actual, projected, method, status, pace, as_of = rows[AUGUST]
    assert actual == 1000
    assert method == "seasonal"
    assert projected == pytest.approx(1000 + LAST_AUGUST * TO_COME)  # 1338.71
    # So far 1000 of 1300 reads off track; on pace it reaches the target.
    assert (status, pace, as_of) == ("off_track", "on_track", THROUGH)


def test_only_the_period_in_progress_has_a_pace(through):
    rows = pace_rows(through, goal(tracks=account("13"), target={"value": 1300}))

    finished = {start: row for start, row in rows.items() if start != AUGUST}
    assert len(finished) == 16
    assert {row[1:3] + row[4:] for row in finished.values()} == {(None, None, None, None)}


def test_without_last_year_the_rate_per_elapsed_day_goes_on(through):
    through.execute("DELETE FROM marts.pnl_monthly WHERE month < DATE '2026-04-01'")

    rows = pace_rows(through, goal(tracks=account("13"), target={"value": 3100}))

    _actual, projected, method, status, pace, _as_of = rows[AUGUST]
    assert method == "linear"
    assert projected == 1000 + 1000 * 21 / 10  # 3100
    assert (status, pace) == ("off_track", "on_track")


def test_pace_status_is_the_actual_against_the_target_pro_rated_to_the_elapsed_days(through):
    through.execute("DELETE FROM marts.pnl_monthly WHERE month < DATE '2026-04-01'")
    # 10 of 31 days: 1000 so far is on pace for 3100 and no more; at risk within 10% of it.
    prorated = {
        target: pace_rows(through, goal(tracks=account("13"), target={"value": target}))[AUGUST][4]
        for target in (3100, 3101, 3444, 3445)
    }

    assert prorated == {3100: "on_track", 3101: "at_risk", 3444: "at_risk", 3445: "off_track"}


def test_a_decrease_goal_is_judged_on_its_projection_too(through):
    rows = pace_rows(
        through, goal(tracks=account("13"), direction="decrease", target={"value": 1200})
    )

    _actual, projected, _method, status, pace, _as_of = rows[AUGUST]
    assert projected == pytest.approx(1338.71, abs=0.01)
    assert (status, pace) == ("on_track", "off_track")  # 1000 so far, 1339 by the end


def test_a_fiscal_ytd_window_adds_the_rest_of_the_period_to_the_year_so_far(through):
    rows = pace_rows(through, goal(tracks=account("13"), window="fiscal_ytd"))

    actual, projected, method, status, pace, _as_of = rows[AUGUST]
    assert actual == 200 + 400 + 600 + 1000  # July 2026 was not imported
    assert projected == pytest.approx(actual + LAST_AUGUST * TO_COME)
    assert (method, status, pace) == ("seasonal", "no_target", "no_target")


def test_a_quarter_in_progress_adds_last_years_remaining_months(through):
    rows = pace_rows(through, goal(tracks=account("13"), grain="quarter"))

    # FY2027 Q2 is Jul..Sep 2026: August so far; a year earlier, the rest of August and
    # all of September (600).
    actual, projected, method, *_ = rows[D(2026, 7, 1)]
    assert actual == 1000
    assert projected == pytest.approx(1000 + LAST_AUGUST * TO_COME + 600)
    assert method == "seasonal"


def test_a_quarter_without_last_year_goes_on_at_its_rate_per_elapsed_day(through):
    through.execute("DELETE FROM marts.pnl_monthly WHERE month < DATE '2026-04-01'")

    rows = pace_rows(through, goal(tracks=account("13"), grain="quarter"))

    # Jul 1 .. Aug 10 is 41 days done, Aug 11 .. Sep 30 is 51 to come.
    _actual, projected, method, *_ = rows[D(2026, 7, 1)]
    assert (projected, method) == (pytest.approx(1000 + 1000 * 51 / 41), "linear")


def test_a_balance_is_not_projected_it_stands_as_it_is(through):
    rows = pace_rows(
        through,
        goal(dataset="balance_sheet", tracks=account("1"), target={"value": 25000}),
    )

    actual, projected, method, status, pace, _as_of = rows[AUGUST]
    assert actual == 10000 + 1000 * 16  # checking at the end of its 17th month
    assert (projected, method) == (actual, "balance")
    assert status == pace == "on_track"


def test_a_period_in_progress_without_a_target_or_data_says_so(through):
    no_target = pace_rows(through, goal(tracks=account("13")))[AUGUST]
    assert no_target[4] == "no_target"

    # A filter that matches nothing in August: the month is in progress but has no data.
    through.execute("DELETE FROM marts.pnl_monthly WHERE month = DATE '2026-08-01'")
    no_data = pace_rows(through, goal(tracks=account("13"), target={"value": 1}))
    assert no_data[AUGUST][2:] == (None, "no_data", "no_data", THROUGH)


def test_the_last_day_of_a_period_ends_its_pace(through):
    set_data_through(through, D(2026, 8, 31))

    rows = pace_rows(through, goal(tracks=account("13"), target={"value": 1300}))

    assert rows[AUGUST][1:] == (None, None, "off_track", None, None)


def test_a_warehouse_built_before_data_through_computes_without_a_pace(con):
    rows = pace_rows(con, goal(tracks=account("13"), target={"value": 1300}))

    assert rows[AUGUST] == (1000, None, None, "off_track", None, None)
