"""`qb-pipeline settings`: anyone in the organization can read the sync settings; only admins
change them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from qb_pipeline.cli import main
from tests.connections.conftest import ADMIN, EDITOR, VIEWER
from tests.defs.conftest import ORG


def run(*args: str):
    return CliRunner().invoke(main, ["settings", "--org", ORG, *args])


def test_without_changes_the_settings_are_shown(service):
    result = run()

    assert result.exit_code == 0, result.output
    assert "Automatic sync:      on" in result.output
    assert "Frequency:           nightly at 02:00 (UTC)" in result.output
    assert "History:             3 years plus the current one" in result.output
    assert "Next automatic sync: " in result.output


def test_an_admin_changes_the_settings(service):
    result = run(
        "--as", ADMIN, "--frequency", "hourly", "--time", "06:45", "--timezone",
        "Europe/Paris", "--history-years", "5", "--auto-sync", "on",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Settings of acme updated." in result.output
    assert "hourly at 45 minutes past the hour (Europe/Paris)" in result.output
    assert f"by {ADMIN}" in result.output
    stored = service.settings(ORG)
    assert (stored.frequency, stored.local_time, stored.timezone, stored.history_years) == (
        "hourly",
        "06:45",
        "Europe/Paris",
        5,
    )


def test_turning_automatic_sync_off_leaves_no_next_sync(service):
    result = run("--as", ADMIN, "--auto-sync", "off")

    assert result.exit_code == 0, result.output
    assert "Automatic sync:      off" in result.output
    assert "Next automatic sync: none" in result.output
    assert service.settings(ORG).auto_sync is False


@pytest.mark.parametrize("who", [EDITOR, VIEWER])
def test_others_are_refused_and_nothing_changes(service, who):
    result = run("--as", who, "--frequency", "manual")

    assert result.exit_code == 1
    assert "may not change the QuickBooks integration settings" in result.output
    assert service.settings(ORG).frequency == "nightly"


def test_a_change_without_acting_user_is_refused(service):
    result = run("--frequency", "manual")

    assert result.exit_code == 2
    assert "changing settings needs --as EMAIL" in result.output
    assert service.settings(ORG).frequency == "nightly"


def test_a_wrong_value_names_the_field_and_what_is_allowed(service):
    result = run("--as", ADMIN, "--time", "25:99")

    assert result.exit_code == 1
    assert "local_time '25:99' must be a time as HH:MM" in result.output
