"""Which report months a sync pulls, and how a range becomes requests."""

from __future__ import annotations

from datetime import date

import pytest

from qb_pipeline.sources.quickbooks.helpers.periods import (
    DateRange,
    PulledRange,
    fiscal_year_start,
    history_start,
    pulled_after,
    request_ranges,
    windows_to_pull,
)


@pytest.mark.parametrize(
    ("day", "first_month", "expected"),
    [
        (date(2026, 11, 15), 1, date(2026, 1, 1)),
        (date(2026, 11, 15), 7, date(2026, 7, 1)),
        (date(2026, 3, 31), 4, date(2025, 4, 1)),
        (date(2026, 4, 1), 4, date(2026, 4, 1)),
    ],
)
def test_fiscal_year_start_follows_the_first_month(day, first_month, expected):
    assert fiscal_year_start(day, first_month) == expected


def test_first_sync_pulls_three_fiscal_years_before_the_current_one():
    today = date(2026, 11, 15)
    assert history_start(today, 7, 3) == date(2023, 7, 1)
    assert windows_to_pull(today, 7, 3, None) == [DateRange(date(2023, 7, 1), today)]


def test_later_syncs_repull_the_current_fiscal_year():
    today = date(2026, 11, 20)
    previous = PulledRange(date(2023, 1, 1), date(2026, 11, 15))
    assert windows_to_pull(today, 1, 3, previous) == [DateRange(date(2026, 1, 1), today)]


def test_early_in_a_fiscal_year_the_last_60_days_reach_into_the_closed_year():
    today = date(2027, 1, 20)
    previous = PulledRange(date(2023, 1, 1), date(2027, 1, 19))
    assert windows_to_pull(today, 1, 3, previous) == [DateRange(date(2026, 11, 1), today)]


def test_after_a_long_pause_every_month_since_the_last_pull_is_pulled():
    today = date(2027, 3, 10)
    previous = PulledRange(date(2023, 1, 1), date(2026, 8, 15))
    assert windows_to_pull(today, 1, 3, previous) == [DateRange(date(2026, 8, 1), today)]


def test_a_longer_history_setting_pulls_the_missing_years_once():
    today = date(2026, 11, 20)
    previous = PulledRange(date(2023, 1, 1), date(2026, 11, 15))
    windows = windows_to_pull(today, 1, 5, previous)
    assert windows == [
        DateRange(date(2021, 1, 1), date(2022, 12, 31)),
        DateRange(date(2026, 1, 1), today),
    ]
    assert pulled_after(previous, windows, today) == PulledRange(date(2021, 1, 1), today)


def test_requests_cover_at_most_one_fiscal_year_each():
    window = DateRange(date(2023, 7, 1), date(2026, 11, 15))
    assert list(request_ranges(window, 7)) == [
        DateRange(date(2023, 7, 1), date(2024, 6, 30)),
        DateRange(date(2024, 7, 1), date(2025, 6, 30)),
        DateRange(date(2025, 7, 1), date(2026, 6, 30)),
        DateRange(date(2026, 7, 1), date(2026, 11, 15)),
    ]
    assert list(request_ranges(DateRange(date(2026, 11, 1), date(2027, 1, 20)), 1)) == [
        DateRange(date(2026, 11, 1), date(2026, 12, 31)),
        DateRange(date(2027, 1, 1), date(2027, 1, 20)),
    ]


def test_a_range_splits_in_halves_at_a_month_boundary_down_to_one_month():
    year = DateRange(date(2025, 1, 1), date(2025, 12, 31))
    assert year.halves() == (
        DateRange(date(2025, 1, 1), date(2025, 6, 30)),
        DateRange(date(2025, 7, 1), date(2025, 12, 31)),
    )
    assert DateRange(date(2025, 1, 1), date(2025, 3, 10)).halves() == (
        DateRange(date(2025, 1, 1), date(2025, 1, 31)),
        DateRange(date(2025, 2, 1), date(2025, 3, 10)),
    )
    with pytest.raises(ValueError, match="single month"):
        DateRange(date(2025, 2, 1), date(2025, 2, 28)).halves()


def test_month_periods_clip_the_last_month_to_the_range():
    assert DateRange(date(2026, 10, 1), date(2026, 11, 15)).month_periods() == [
        DateRange(date(2026, 10, 1), date(2026, 10, 31)),
        DateRange(date(2026, 11, 1), date(2026, 11, 15)),
    ]


def test_pulled_state_round_trips_and_tolerates_garbage():
    pulled = PulledRange(date(2023, 1, 1), date(2026, 11, 15))
    assert PulledRange.from_state(pulled.to_state()) == pulled
    assert PulledRange.from_state({"from": "nope"}) is None
    assert PulledRange.from_state(None) is None
