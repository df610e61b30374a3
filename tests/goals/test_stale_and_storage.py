"""What compute stores: goals.goal_values and the BI view, fresh or stale."""

from __future__ import annotations

from datetime import UTC, date, datetime

from qb_pipeline.goals.compute import compute
from tests.goals.company import ORG
from tests.goals.conftest import account, goal

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
MAY = date(2025, 5, 1)

CONTRACT_COLUMNS = [
    "org_id", "realm_id", "goal_id", "goal_name", "period_start", "period_end", "actual",
    "target", "status", "currency", "is_stale", "stale_reason", "stale_since", "computed_at",
]  # fmt: skip
# Added since, after the contract's columns (docs/decisions.md).
LATER_COLUMNS = ["target_source", "projected", "projection_method", "pace_status", "pace_as_of"]


def rows_of(con, goal_id: str = "g") -> list[tuple]:
    return con.execute(
        "SELECT period_start, actual, target, status, is_stale, stale_reason, stale_since, "
        "computed_at FROM marts.goal_values WHERE org_id = ? AND goal_id = ? "
        "ORDER BY period_start",
        [ORG, goal_id],
    ).fetchall()


def may(con) -> tuple:
    return next(r for r in rows_of(con) if r[0] == MAY)


def test_the_bi_view_has_the_contract_columns(con):
    compute(con, ORG, [goal(tracks=account("13"), name="Product sales")])

    columns = [r[0] for r in con.execute("DESCRIBE marts.goal_values").fetchall()]
    first = con.execute(
        "SELECT org_id, goal_id, goal_name, period_start, period_end FROM marts.goal_values "
        "ORDER BY period_start LIMIT 1"
    ).fetchall()
    # The contract's columns first, then those added since (docs/decisions.md).
    assert columns == [*CONTRACT_COLUMNS, *LATER_COLUMNS]
    assert first == [(ORG, "g", "Product sales", date(2025, 4, 1), date(2025, 4, 30))]


def test_one_row_per_goal_and_period(con):
    goals = [goal(id=f"g{n}", tracks=account("13"), grain=grain) for n, grain in
             enumerate(["month", "quarter", "year"])]  # fmt: skip
    compute(con, ORG, goals)

    counts = con.execute(
        "SELECT goal_id, count(*), count(DISTINCT period_start) FROM goals.goal_values "
        "GROUP BY goal_id ORDER BY goal_id"
    ).fetchall()
    assert counts == [("g0", 17, 17), ("g1", 6, 6), ("g2", 2, 2)]


def test_recomputing_replaces_values_and_drops_removed_goals(con):
    compute(
        con, ORG, [goal(id="kept", tracks=account("13")), goal(id="gone", tracks=account("10"))]
    )
    compute(con, ORG, [goal(id="kept", tracks=account("13"))])

    goal_ids = con.execute("SELECT DISTINCT goal_id FROM goals.goal_values").fetchall()
    assert goal_ids == [("kept",)]
    assert con.execute("SELECT count(*) FROM goals.goal_values").fetchall() == [(17,)]


def test_stale_keeps_the_last_known_values_and_says_why_and_since_when(con):
    products = goal(tracks=account("13"), target={"value": 150})
    compute(con, ORG, [products], computed_at=T0)
    # New data arrives in the marts, but the organization is disconnected.
    con.execute("UPDATE marts.pnl_monthly SET amount = amount * 10 WHERE account_id = '13'")

    result = compute(con, ORG, [products], stale_reason="disconnected", since=T1)

    assert result.stale
    assert result.rows == 0
    assert may(con)[:4] == (MAY, 200, 150, "on_track")  # not recomputed
    assert may(con)[4:] == (True, "disconnected", T1, T0)
    assert len(rows_of(con)) == 17  # nothing vanished
    assert result.latest["g"].is_stale
    assert result.latest["g"].stale_reason == "disconnected"


def test_staying_stale_keeps_the_first_since(con):
    products = goal(tracks=account("13"))
    compute(con, ORG, [products], computed_at=T0)
    compute(con, ORG, [products], stale_reason="disconnected", since=T1)
    compute(con, ORG, [products], stale_reason="reauthorization_required", since=T2)

    assert may(con)[4:7] == (True, "reauthorization_required", T1)


def test_a_fresh_computation_clears_the_stale_flag(con):
    products = goal(tracks=account("13"))
    compute(con, ORG, [products], computed_at=T0)
    compute(con, ORG, [products], stale_reason="disconnected", since=T1)
    con.execute("UPDATE marts.pnl_monthly SET amount = amount * 10 WHERE account_id = '13'")

    compute(con, ORG, [products], computed_at=T2)

    assert may(con)[1] == 2000
    assert may(con)[4:] == (False, None, None, T2)


def test_stale_only_touches_its_organization(con):
    compute(con, ORG, [goal(tracks=account("13"))])
    compute(con, "beta", [goal(organization="beta", tracks=account("13"))])

    compute(con, "beta", [], stale_reason="disconnected", since=T1)

    flags = con.execute(
        "SELECT org_id, bool_and(is_stale) FROM goals.goal_values GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert flags == [("acme", False), ("beta", True)]


def test_latest_values_are_returned_for_materialization_metadata(con):
    result = compute(con, ORG, [goal(tracks=account("13"), target={"value": 900})])

    latest = result.latest["g"]
    assert (latest.period_start, latest.actual, latest.target, latest.status) == (
        date(2026, 8, 1),
        1000,
        900,
        "on_track",
    )


def test_goals_of_another_organization_are_refused(con):
    import pytest

    with pytest.raises(ValueError, match="beta"):
        compute(con, ORG, [goal(organization="beta", tracks=account("13"))])


def test_a_duplicate_id_is_computed_once(con):
    result = compute(con, ORG, [goal(tracks=account("13")), goal(tracks=account("10"))])

    assert result.skipped == {"g": "another goal of the organization has the same id"}
    assert may(con)[1] == 200
