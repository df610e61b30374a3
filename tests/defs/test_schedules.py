"""The sync sensor asks for one run per connected organization whose automatic sync is due,
following each organization's settings, and none for the others."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from dagster import build_sensor_context

from qb_pipeline.connections import IntegrationSettings
from qb_pipeline.connections.sync_slots import latest_slot, next_slot
from qb_pipeline.defs.partitions import ORGANIZATIONS
from qb_pipeline.defs.quickbooks.schedules import build_sync_sensor
from qb_pipeline.defs.resources import QuickBooksIntegration
from tests.connections.conftest import ADMIN, add_team, companies, connect_company


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def plan(**values: object) -> IntegrationSettings:
    return IntegrationSettings(**values)


# -- the slots ------------------------------------------------------------------------------


def test_a_nightly_sync_is_due_at_its_local_time_in_its_timezone():
    paris = plan(frequency="nightly", local_time="02:00", timezone="Europe/Paris")

    # Paris is UTC+1 in November: 02:00 there is 01:00 UTC.
    assert latest_slot(paris, at("2026-11-16 01:00")) == at("2026-11-16 01:00")
    assert latest_slot(paris, at("2026-11-16 00:59")) == at("2026-11-15 01:00")
    assert next_slot(paris, at("2026-11-16 01:00")) == at("2026-11-17 01:00")
    # Summer time: UTC+2.
    assert latest_slot(paris, at("2026-07-01 12:00")) == at("2026-07-01 00:00")


def test_a_nightly_time_skipped_by_summer_time_runs_an_hour_later_that_day():
    paris = plan(frequency="nightly", local_time="02:30", timezone="Europe/Paris")

    # 2026-03-29 02:30 does not exist in Paris; it runs at 03:30 local (01:30 UTC).
    assert latest_slot(paris, at("2026-03-29 12:00")) == at("2026-03-29 01:30")


def test_an_hourly_sync_is_due_at_the_minutes_of_its_time_every_hour():
    hourly = plan(frequency="hourly", local_time="09:15", timezone="Asia/Kolkata")

    # Kolkata is UTC+05:30: :15 local is :45 UTC.
    assert latest_slot(hourly, at("2026-11-16 10:44")) == at("2026-11-16 09:45")
    assert latest_slot(hourly, at("2026-11-16 10:45")) == at("2026-11-16 10:45")
    assert next_slot(hourly, at("2026-11-16 10:45")) == at("2026-11-16 11:45")


@pytest.mark.parametrize(
    "settings",
    [plan(auto_sync=False), plan(frequency="manual"), plan(auto_sync=False, frequency="hourly")],
)
def test_manual_or_automatic_sync_off_is_never_due(settings):
    assert latest_slot(settings, at("2026-11-16 03:00")) is None
    assert next_slot(settings, at("2026-11-16 03:00")) is None


# -- the sensor -----------------------------------------------------------------------------


@pytest.fixture
def organizations(emulator, service):
    """Six organizations; the first two are connected with automatic sync due at 01:00 and
    01:15 UTC on 2026-11-16, the others are off, manual, disconnected or never connected."""
    realms = [company["realmId"] for company in companies(emulator.url)]
    for slug in ("paris", "hourly", "paused", "manual", "gone", "never"):
        add_team(service, slug)
    service.update_settings("paris", ADMIN, local_time="02:00", timezone="Europe/Paris")
    service.update_settings("hourly", ADMIN, frequency="hourly", local_time="07:15")
    service.update_settings("paused", ADMIN, auto_sync=False, local_time="01:10")
    service.update_settings("manual", ADMIN, frequency="manual", local_time="01:10")
    service.update_settings("gone", ADMIN, local_time="01:10")
    service.update_settings("never", ADMIN, local_time="01:10")
    for slug, realm in zip(
        ("paris", "hourly", "paused", "manual", "gone"), realms * 2, strict=False
    ):
        connect_company(service, slug, realm)
    service.disconnect("gone", ADMIN)
    return service


def evaluate(instance, now: str, since: str | None):
    sensor = build_sync_sensor(clock=lambda: at(now))
    cursor = json.dumps({"evaluated_at": at(since).isoformat()}) if since else None
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"quickbooks": QuickBooksIntegration()}
    )
    return sensor(context)


def test_one_run_per_connected_organization_whose_sync_is_due(organizations, instance):
    result = evaluate(instance, now="2026-11-16 01:20", since="2026-11-16 00:58")

    requested = {request.partition_key: request.run_key for request in result.run_requests}
    assert requested == {
        "paris": "paris:2026-11-16T01:00Z",
        "hourly": "hourly:2026-11-16T01:15Z",
    }
    assert json.loads(result.cursor) == {"evaluated_at": at("2026-11-16 01:20").isoformat()}


def test_the_sensor_adds_a_partition_for_every_organization(organizations, instance):
    result = evaluate(instance, now="2026-11-16 01:20", since="2026-11-16 00:58")

    (added,) = result.dynamic_partitions_requests
    assert added.partitions_def_name == ORGANIZATIONS
    assert set(added.partition_keys) == {
        "acme",
        "paris",
        "hourly",
        "paused",
        "manual",
        "gone",
        "never",
    }


def test_a_slot_already_seen_is_not_requested_again(organizations, instance):
    result = evaluate(instance, now="2026-11-16 01:25", since="2026-11-16 01:20")

    assert result.run_requests == []


def test_the_next_hour_brings_only_the_hourly_organization(organizations, instance):
    result = evaluate(instance, now="2026-11-16 02:16", since="2026-11-16 01:25")

    assert [(r.partition_key, r.run_key) for r in result.run_requests] == [
        ("hourly", "hourly:2026-11-16T02:15Z")
    ]


def test_after_a_pause_one_run_catches_up_the_latest_missed_slot(organizations, instance):
    # The daemon was down from 00:00 until 05:20: hourly missed 01:15 .. 05:15.
    result = evaluate(instance, now="2026-11-16 05:20", since="2026-11-16 00:00")

    requested = {request.partition_key: request.run_key for request in result.run_requests}
    assert requested == {
        "paris": "paris:2026-11-16T01:00Z",
        "hourly": "hourly:2026-11-16T05:15Z",
    }


def test_an_organization_whose_previous_sync_is_still_running_waits_for_the_next_slot(
    organizations, instance
):
    from dagster import DagsterRun, DagsterRunStatus

    instance.add_run(
        DagsterRun(
            job_name="quickbooks_sync",
            run_id="0" * 8 + "-0000-4000-8000-" + "0" * 12,
            status=DagsterRunStatus.STARTED,
            tags={"dagster/partition": "paris"},
        )
    )

    result = evaluate(instance, now="2026-11-16 01:20", since="2026-11-16 00:58")

    assert [request.partition_key for request in result.run_requests] == ["hourly"]
