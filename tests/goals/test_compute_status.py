"""Targets and status rules, checked by hand (see goal_models/README.md, "Status").

Products (account 13) is 200 in May 2025; Discounts given (account 14) is -80 every month.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.goals.conftest import account, goal

MAY = date(2025, 5, 1)


def status_in_may(values, **fields) -> tuple:
    return values(goal(tracks=account(fields.pop("account", "13")), **fields))[MAY]


@pytest.mark.parametrize(
    ("target", "threshold", "status"),
    [
        (150, 10, "on_track"),
        (200, 10, "on_track"),  # reaching the target is on track
        (210, 10, "at_risk"),  # 200 >= 210 - 21
        (250, 20, "at_risk"),  # exactly on the at-risk edge: 250 - 50 = 200
        (250, 10, "off_track"),  # 200 < 250 - 25
    ],
)
def test_increase(values, target, threshold, status):
    row = status_in_may(values, target={"value": target}, at_risk_threshold_pct=threshold)

    assert row == (200, target, status)


@pytest.mark.parametrize(
    ("target", "threshold", "status"),
    [
        (250, 10, "on_track"),
        (200, 10, "on_track"),
        (190, 10, "at_risk"),  # 200 <= 190 + 19
        (150, 10, "off_track"),  # 200 > 150 + 15
    ],
)
def test_decrease(values, target, threshold, status):
    row = status_in_may(
        values, target={"value": target}, direction="decrease", at_risk_threshold_pct=threshold
    )

    assert row == (200, target, status)


@pytest.mark.parametrize(
    ("low", "high", "status"),
    [
        (150, 250, "on_track"),
        (200, 200, "on_track"),  # the band's edges are inside
        (210, 300, "at_risk"),  # below by 10, within 10% of 210
        (100, 185, "at_risk"),  # above by 15, within 10% of 185 (18.5)
        (100, 150, "off_track"),  # above 150 + 15
        (250, 400, "off_track"),  # below 250 - 25
    ],
)
def test_maintain_within_a_band(values, low, high, status):
    row = status_in_may(values, direction="maintain", band={"low": low, "high": high})

    assert row == (200, (low + high) / 2, status)  # the band's middle is the shown target


@pytest.mark.parametrize(
    ("target", "tolerance", "status"),
    [
        (210, 5, "on_track"),  # band 199.5 .. 220.5
        (220, 5, "at_risk"),  # band 209 .. 231; 200 >= 209 - 20.9
        (300, 5, "off_track"),  # band 285 .. 315
    ],
)
def test_maintain_within_a_tolerance_of_the_target(values, target, tolerance, status):
    row = status_in_may(
        values, direction="maintain", target={"value": target}, tolerance_pct=tolerance
    )

    assert row == (200, target, status)


@pytest.mark.parametrize(
    ("direction", "target", "status"),
    [
        ("increase", -100, "on_track"),  # -80 >= -100
        ("increase", -75, "at_risk"),  # margin 10% of |-75| = 7.5: -80 >= -82.5
        ("increase", -70, "off_track"),  # -80 < -77
        ("decrease", -75, "on_track"),  # -80 <= -75
        ("decrease", -85, "at_risk"),  # -80 <= -85 + 8.5
        ("decrease", -90, "off_track"),  # -80 > -81
    ],
)
def test_negative_targets_use_the_absolute_value_for_the_margin(values, direction, target, status):
    row = status_in_may(values, account="14", target={"value": target}, direction=direction)

    assert row == (-80, target, status)


def test_negative_band(values):
    inside = status_in_may(
        values, account="14", direction="maintain", band={"low": -90, "high": -70}
    )
    near = status_in_may(values, account="14", direction="maintain", band={"low": -77, "high": -50})

    assert inside == (-80, -80, "on_track")
    assert near == (-80, -63.5, "at_risk")  # below -77 by 3, within 7.7


def test_no_target_when_none_is_set(values):
    assert status_in_may(values) == (200, None, "no_target")


def test_per_period_targets_apply_to_their_period_only(values):
    rows = values(
        goal(tracks=account("13"), target={"per_period": {"2025-04-01": 90, "2025-05-01": 250}})
    )

    assert rows[date(2025, 4, 1)] == (100, 90, "on_track")
    assert rows[MAY] == (200, 250, "off_track")
    assert rows[date(2025, 6, 1)] == (300, None, "no_target")


def test_a_target_for_a_period_not_imported_yet_shows_as_no_data(values):
    rows = values(goal(tracks=account("13"), target={"per_period": {"2026-10-01": 500}}))

    assert rows[date(2026, 10, 1)] == (None, 500, "no_data")
    assert date(2026, 9, 1) not in rows  # later periods without a target are not listed


def test_no_data_comes_before_no_target(values):
    rows = values(goal(tracks=account("13")))

    assert rows[date(2026, 7, 1)] == (None, None, "no_data")


def test_growth_on_the_previous_period(values):
    rows = values(
        goal(tracks=account("13"), target={"growth": {"base": "previous_period", "rate_pct": 10}})
    )

    assert rows[date(2025, 4, 1)] == (100, None, "no_target")  # no previous period
    assert rows[MAY] == (200, 110, "on_track")
    assert rows[date(2026, 8, 1)] == (1000, None, "no_target")  # July has no actual


def test_growth_on_the_same_period_last_year(values):
    rows = values(
        goal(
            tracks=account("13"),
            target={"growth": {"base": "same_period_last_year", "rate_pct": 50}},
        )
    )

    assert rows[MAY] == (200, None, "no_target")
    assert rows[date(2026, 4, 1)] == (200, 150, "on_track")  # 100 * 1.5
    assert rows[date(2026, 5, 1)] == (400, 300, "on_track")


def test_growth_compounds_from_a_base_value(values):
    rows = values(
        goal(
            tracks=account("13"),
            target={"growth": {"base": 100, "base_period": "2025-05-01", "rate_pct": 50}},
        )
    )

    assert rows[date(2025, 4, 1)] == (100, None, "no_target")  # before the base period
    assert rows[MAY] == (200, 100, "on_track")
    assert rows[date(2025, 6, 1)] == (300, 150, "on_track")
    assert rows[date(2025, 7, 1)] == (400, 225, "on_track")


def test_growth_from_a_negative_base_moves_up(values):
    rows = values(
        goal(
            tracks=account("14"),
            target={"growth": {"base": -100, "base_period": "2025-04-01", "rate_pct": 10}},
        )
    )

    assert rows[date(2025, 4, 1)] == (-80, -100, "on_track")
    assert rows[MAY] == (-80, pytest.approx(-90), "on_track")  # -100 + 10% of 100
    assert rows[date(2025, 6, 1)] == (-80, pytest.approx(-79), "at_risk")  # -100 + 21


def test_quarterly_growth_counts_quarters(values):
    rows = values(
        goal(
            tracks=account("13"),
            grain="quarter",
            target={"growth": {"base": 600, "base_period": "2025-04-01", "rate_pct": 100}},
        )
    )

    assert rows[date(2025, 4, 1)] == (600, 600, "on_track")
    assert rows[date(2025, 7, 1)] == (1500, 1200, "on_track")
    assert rows[date(2025, 10, 1)] == (2400, 2400, "on_track")
