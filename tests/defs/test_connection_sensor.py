"""The connection sensor turns each change of an organization's QuickBooks connection into one
run: a sync after a connect or reconnect, a stale-flagging goal run after a disconnect or a lost
authorization; and nothing when nothing changed. Evaluated for real: built contexts over the
Dagster instance under QBP_HOME and the control DB, organizations connected through the
emulator's consent pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from dagster import DagsterRun, DagsterRunStatus, SensorResult, build_sensor_context

from qb_pipeline.connections import IntegrationService, ReauthorizationRequired
from qb_pipeline.defs.quickbooks.connection_sensor import (
    SENSOR_NAME,
    Seen,
    build_connection_sensor,
    detect,
)
from qb_pipeline.defs.quickbooks.partitions import ORGANIZATIONS, ensure_partition
from qb_pipeline.defs.quickbooks.resources import QuickBooksIntegration
from qb_pipeline.defs.quickbooks.schedules import build_sync_sensor
from qb_pipeline.defs.quickbooks.sensor_interval import sensor_interval_seconds
from qb_pipeline.defs.quickbooks.sync_log import utcnow
from tests.connections.conftest import ADMIN, add_team, connect_company
from tests.defs.conftest import ORG

FORCE_REFRESH = timedelta(hours=2)  # more than an access token lives: the next call refreshes


class Ticks:
    """Successive evaluations of the connection sensor, each given the previous one's cursor."""

    def __init__(self, instance) -> None:
        self.instance = instance
        self.sensor = build_connection_sensor()
        self.cursor: str | None = None

    def __call__(self) -> SensorResult:
        context = build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={"quickbooks": QuickBooksIntegration()},
        )
        result = self.sensor(context)
        self.cursor = result.cursor
        return result


def requested(result: SensorResult) -> list[tuple[str, str, str]]:
    """(job, partition, change) of each run request."""
    return [
        (r.job_name, r.partition_key, r.tags["qbp/connection_change"]) for r in result.run_requests
    ]


def added_partitions(result: SensorResult) -> list[str]:
    return [
        key
        for request in result.dynamic_partitions_requests
        if request.partitions_def_name == ORGANIZATIONS
        for key in request.partition_keys
    ]


@pytest.fixture
def ticks(instance) -> Ticks:
    return Ticks(instance)


def test_a_new_connection_adds_the_partition_and_requests_one_first_sync(service, ticks):
    assert requested(ticks()) == []  # not connected yet

    connected = connect_company(service, ORG)
    result = ticks()

    assert requested(result) == [("quickbooks_sync", ORG, "connected")]
    (request,) = result.run_requests
    assert request.run_key == f"{ORG}:connected:{connected.connected_at.isoformat()}:1"
    assert request.tags["qbp/trigger"] == "connection"
    assert added_partitions(result) == [ORG]
    assert requested(ticks()) == []  # handled once


def test_a_tick_with_nothing_new_requests_nothing(connected, ticks):
    ticks()
    cursor = ticks.cursor

    result = ticks()

    assert result.run_requests == []
    assert result.dynamic_partitions_requests == []
    assert json.loads(result.cursor) == json.loads(cursor)


def test_a_disconnect_requests_one_goal_run_that_flags_the_goals_stale(connected, ticks):
    ticks()

    disconnected = connected.disconnect(ORG, ADMIN)
    result = ticks()

    assert requested(result) == [("goals_refresh", ORG, "disconnected")]
    assert result.run_requests[0].run_key == (
        f"{ORG}:disconnected:{disconnected.disconnected_at.isoformat()}:2"
    )
    assert requested(ticks()) == []


def test_a_lost_authorization_requests_one_goal_run(make_emulator, make_env, instance):
    running = make_emulator(limits_enabled=False)
    service = IntegrationService(make_env(running.url))
    add_team(service, ORG)
    connect_company(service, ORG)
    ticks = Ticks(instance)
    ticks()
    # QuickBooks stops accepting the refresh token: the next refresh gets invalid_grant.
    httpx.post(f"{running.url}/_emulator/oauth/revoke-refresh-tokens").raise_for_status()
    with pytest.raises(ReauthorizationRequired):
        service.access_token(ORG, min_valid=FORCE_REFRESH)

    result = ticks()

    assert requested(result) == [("goals_refresh", ORG, "reauthorization_required")]
    assert requested(ticks()) == []


def test_a_reconnect_requests_a_sync_again_under_a_new_run_key(connected, ticks):
    first = ticks().run_requests
    connected.disconnect(ORG, ADMIN)
    ticks()

    connect_company(connected, ORG)
    result = ticks()

    assert requested(result) == [("quickbooks_sync", ORG, "reconnected")]
    assert result.run_requests[0].run_key != first[0].run_key
    assert requested(ticks()) == []


def test_a_disconnect_and_reconnect_between_two_ticks_is_a_reconnect(connected, ticks):
    ticks()
    connected.disconnect(ORG, ADMIN)
    connect_company(connected, ORG)

    assert requested(ticks()) == [("quickbooks_sync", ORG, "reconnected")]


def test_every_change_of_a_lifecycle_is_requested_exactly_once(make_emulator, make_env, instance):
    running = make_emulator(limits_enabled=False)
    service = IntegrationService(make_env(running.url))
    add_team(service, ORG)
    ticks = Ticks(instance)
    seen: list[tuple[str, str, str]] = []
    run_keys: list[str] = []

    def tick_twice() -> None:
        for _ in range(2):
            result = ticks()
            seen.extend(requested(result))
            run_keys.extend(r.run_key for r in result.run_requests)

    tick_twice()
    connect_company(service, ORG)
    tick_twice()
    service.disconnect(ORG, ADMIN)
    tick_twice()
    connect_company(service, ORG)
    tick_twice()
    httpx.post(f"{running.url}/_emulator/oauth/revoke-refresh-tokens").raise_for_status()
    with pytest.raises(ReauthorizationRequired):
        service.access_token(ORG, min_valid=FORCE_REFRESH)
    tick_twice()
    connect_company(service, ORG)
    tick_twice()

    assert seen == [
        ("quickbooks_sync", ORG, "connected"),
        ("goals_refresh", ORG, "disconnected"),
        ("quickbooks_sync", ORG, "reconnected"),
        ("goals_refresh", ORG, "reauthorization_required"),
        ("quickbooks_sync", ORG, "reconnected"),
    ]
    assert len(set(run_keys)) == len(run_keys)


def test_no_sync_is_requested_while_the_organizations_sync_runs_then_one_is(
    service, instance, ticks
):
    ensure_partition(instance, ORG)
    running = DagsterRun(
        job_name="quickbooks_sync",
        run_id="1" * 8 + "-0000-4000-8000-" + "0" * 12,
        status=DagsterRunStatus.STARTED,
        tags={"dagster/partition": ORG},
    )
    instance.add_run(running)
    connect_company(service, ORG)

    assert requested(ticks()) == []

    instance.report_run_canceled(instance.get_run_by_id(running.run_id))
    assert requested(ticks()) == [("quickbooks_sync", ORG, "connected")]
    assert requested(ticks()) == []


def test_a_connection_a_sync_already_covered_gets_no_second_sync(connected, ticks):
    # `qb-pipeline sync` ran right after connecting, before the sensor looked.
    status = connected.status(ORG)
    started = utcnow()
    connected.record_sync(ORG, status.realm_id, started, started, "succeeded", requests=3)

    assert requested(ticks()) == []
    assert requested(ticks()) == []


def test_an_organization_first_seen_disconnected_gets_its_goals_flagged_once(service, ticks):
    connect_company(service, ORG)
    service.disconnect(ORG, ADMIN)  # before the sensor ever looked

    result = ticks()

    assert requested(result) == [("goals_refresh", ORG, "disconnected")]
    assert added_partitions(result) == [ORG]
    assert requested(ticks()) == []


def test_a_disconnected_organization_leaves_the_nightly_schedule_until_it_reconnects(
    connected, instance
):
    connected.update_settings(ORG, ADMIN, local_time="02:00", timezone="UTC")
    due = datetime(2026, 11, 16, 2, 0, 30, tzinfo=UTC)
    cursor = json.dumps({"evaluated_at": (due - timedelta(minutes=1)).isoformat()})
    schedule = build_sync_sensor(clock=lambda: due)

    def nightly() -> list[str]:
        context = build_sensor_context(
            instance=instance, cursor=cursor, resources={"quickbooks": QuickBooksIntegration()}
        )
        return [request.partition_key for request in schedule(context).run_requests]

    assert nightly() == [ORG]
    connected.disconnect(ORG, ADMIN)
    assert nightly() == []
    connect_company(connected, ORG)
    assert nightly() == [ORG]


def test_the_code_location_runs_the_sensor_on_both_jobs():
    from qb_pipeline.defs import defs

    sensor = defs.resolve_sensor_def(SENSOR_NAME)

    assert {job.name for job in sensor.jobs} == {"quickbooks_sync", "goals_refresh"}
    assert sensor.default_status.value == "RUNNING"
    assert sensor.minimum_interval_seconds == sensor_interval_seconds()


def test_the_sensor_interval_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("QBP_SENSOR_INTERVAL_SECONDS", "5")
    assert build_connection_sensor().minimum_interval_seconds == 5
    monkeypatch.delenv("QBP_SENSOR_INTERVAL_SECONDS")
    assert build_connection_sensor().minimum_interval_seconds == 30


@pytest.mark.parametrize("value", ["0", "-3", "soon", "1.5"])
def test_a_bad_sensor_interval_is_an_error_naming_the_variable(value):
    with pytest.raises(ValueError, match="QBP_SENSOR_INTERVAL_SECONDS") as raised:
        sensor_interval_seconds({"QBP_SENSOR_INTERVAL_SECONDS": value})

    assert str(raised.value) == (
        f"QBP_SENSOR_INTERVAL_SECONDS must be a whole number of seconds, at least 1; got {value!r}"
    )


T1, T2, T3 = "2026-11-16T01:00:00+00:00", "2026-11-16T02:00:00+00:00", "2026-11-16T03:00:00+00:00"


@pytest.mark.parametrize(
    ("before", "now", "kind"),
    [
        (None, Seen("not_connected", None, None), None),
        (None, Seen("connected", T1, None), "connected"),
        (Seen("not_connected", None, None), Seen("connected", T1, None), "connected"),
        (Seen("connected", T1, None), Seen("connected", T1, None), None),
        (Seen("connected", T1, None), Seen("disconnected", T1, T2), "disconnected"),
        (Seen("disconnected", T1, T2), Seen("disconnected", T1, T2), None),
        (Seen("disconnected", T1, T2), Seen("connected", T3, None), "reconnected"),
        (Seen("connected", T1, None), Seen("connected", T3, None), "reconnected"),
        (Seen("disconnected", T1, T2), Seen("disconnected", T3, T3), "disconnected"),
        (
            Seen("connected", T1, None),
            Seen("reauthorization_required", T1, None),
            "reauthorization_required",
        ),
        (
            Seen("reauthorization_required", T1, None),
            Seen("reauthorization_required", T1, None),
            None,
        ),
        (
            Seen("reauthorization_required", T1, None),
            Seen("reauthorization_required", T3, None),
            "reauthorization_required",
        ),
        (Seen("reauthorization_required", T1, None), Seen("disconnected", T1, T2), "disconnected"),
        (Seen("reauthorization_required", T1, None), Seen("connected", T3, None), "reconnected"),
        (Seen("connected", T1, None), Seen("error", T1, None), None),
    ],
)
def test_each_transition_of_a_connection_is_the_change_it_names(before, now, kind):
    change = detect(ORG, before, now)

    assert (change.kind if change else None) == kind
