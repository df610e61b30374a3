"""The pace status is watched like the status: a change is reported once, with its words."""

from __future__ import annotations

from datetime import date

from qb_pipeline.alerts.changes import detect, observe
from qb_pipeline.goals.compute import LatestValue


def latest(status: str, pace_status: str | None) -> LatestValue:
    return LatestValue(
        "revenue", date(2026, 12, 1), date(2026, 12, 31), 4000.0, 12000.0, status, "USD",
        False, None, projected=13100.0 if pace_status else None, pace_status=pace_status,
    )  # fmt: skip


def test_a_pace_status_change_is_reported_and_described():
    before = {"revenue": {"status": "off_track", "is_stale": False, "pace_status": "on_track"}}
    now = {"revenue": observe(latest("off_track", "off_track"), "Monthly revenue")}

    [change] = detect(before, now)

    assert (change.field, change.before, change.after) == ("pace_status", "on_track", "off_track")
    assert change.describe() == "Monthly revenue: pace status on track -> off track (Dec 2026)"


def test_the_same_pace_again_is_no_change():
    before = {"revenue": {"status": "off_track", "is_stale": False, "pace_status": "on_track"}}
    now = {"revenue": observe(latest("off_track", "on_track"), "Monthly revenue")}

    assert detect(before, now) == []


def test_an_observation_stored_before_pace_was_watched_records_it_silently():
    before = {"revenue": {"status": "off_track", "is_stale": False}}
    now = {"revenue": observe(latest("off_track", "at_risk"), "Monthly revenue")}

    assert detect(before, now) == []
    assert now["revenue"].fields["pace_status"] == "at_risk"
