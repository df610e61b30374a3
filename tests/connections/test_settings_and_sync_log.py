"""Integration settings (admins change them) and the sync log the pipeline writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qb_pipeline.connections import IntegrationService, InvalidInput, PermissionDenied
from tests.connections.conftest import ADMIN, EDITOR, VIEWER, add_team


@pytest.fixture
def team(make_settings) -> IntegrationService:
    service = IntegrationService(make_settings())
    add_team(service)
    return service


def test_an_admin_changes_the_settings_and_the_change_is_audited(team):
    changed = team.update_settings(
        "acme",
        ADMIN,
        frequency="hourly",
        local_time="23:30",
        timezone="Europe/Paris",
        history_years=5,
        auto_sync=False,
    )

    assert (changed.frequency, changed.local_time, changed.timezone) == (
        "hourly",
        "23:30",
        "Europe/Paris",
    )
    assert (changed.history_years, changed.auto_sync, changed.updated_by) == (5, False, ADMIN)
    assert team.status("acme").settings == changed
    entry = team.audit_log("acme")[0]
    assert (entry.action, entry.actor) == ("settings changed", ADMIN)
    assert entry.detail["changes"]["frequency"] == {"from": "nightly", "to": "hourly"}


@pytest.mark.parametrize("who", [EDITOR, VIEWER])
def test_only_admins_change_the_settings(team, who):
    with pytest.raises(PermissionDenied, match="may not change the QuickBooks integration"):
        team.update_settings("acme", who, frequency="hourly")

    assert team.settings("acme").frequency == "nightly"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"frequency": "weekly"}, "frequency 'weekly' is not one of nightly, hourly, manual"),
        ({"local_time": "25:00"}, "local_time '25:00' must be a time as HH:MM"),
        ({"timezone": "Mars/Olympus"}, "timezone 'Mars/Olympus' is not an IANA time zone"),
        ({"history_years": 0}, "history_years 0 must be a whole number from 1 to 20"),
        ({"auto_sync": "maybe"}, "auto_sync must be true or false"),
        ({"colour": "blue"}, "unknown integration setting colour"),
    ],
)
def test_invalid_settings_name_the_field_and_what_is_allowed(team, change, message):
    with pytest.raises(InvalidInput) as raised:
        team.update_settings("acme", ADMIN, **change)

    assert message in str(raised.value)
    assert team.settings("acme").updated_at is None


def test_a_sync_run_is_started_then_finished_and_shown_as_the_last_sync(team):
    started = datetime(2026, 11, 15, 2, 0, tzinfo=UTC)
    run = team.record_sync("acme", "123", started, None, "running")

    finished = team.record_sync(
        "acme",
        "123",
        started,
        started + timedelta(minutes=2),
        "succeeded",
        message="3 datasets",
        rows={"Account": 40, "Invoice": 900},
        requests=25,
        run_id=run.id,
    )

    assert finished.id == run.id
    assert team.status("acme").last_sync == finished
    assert finished.to_dict()["rows"] == {"Account": 40, "Invoice": 900}


def test_an_unknown_sync_status_is_refused(team):
    with pytest.raises(InvalidInput, match="sync status 'ok' is not one of running"):
        team.record_sync("acme", None, datetime.now(UTC), None, "ok")


def test_naive_datetimes_are_refused(team):
    with pytest.raises(ValueError, match="timezone-aware"):
        team.record_sync("acme", None, datetime(2026, 1, 1), None, "running")
