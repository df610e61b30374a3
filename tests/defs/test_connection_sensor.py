"""The connection sensor turns each change of an organization's QuickBooks connection into one
run: a sync after a connect or reconnect, a stale-flagging goal run after a disconnect or a lost
authorization; and nothing when nothing changed. Changes come from the control DB's event log,
so no clock decides what changed. Evaluated for real: built contexts over the Dagster instance
under QBP_HOME and the control DB, organizations connected through the emulator's consent
pages."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from dagster import DagsterRun, DagsterRunStatus, SensorResult, build_sensor_context

from qb_pipeline.connections import IntegrationService, ReauthorizationRequired
from qb_pipeline.connections.events import Event
from qb_pipeline.connections.sync_log import utcnow
from qb_pipeline.defs.abandoned_runs import HOST_TAG, PID_TAG
from qb_pipeline.defs.partitions import ORGANIZATIONS, ensure_partition
from qb_pipeline.defs.quickbooks.schedules import build_sync_sensor
from qb_pipeline.defs.quickbooks.sensors.connection import (
    SENSOR_NAME,
    build_connection_sensor,
    plan,
)
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.defs.sensor_kit import sensor_interval_seconds
from tests.connections.conftest import ADMIN, add_team, connect_company
from tests.defs.conftest import ORG
from tests.defs.killed_run import killed_run

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

    connect_company(service, ORG)
    event_id = service.last_event_id()
    result = ticks()

    assert requested(result) == [("quickbooks_sync", ORG, "connected")]
    (request,) = result.run_requests
    assert request.run_key == f"{ORG}:connected:{event_id}"
    assert request.tags["qbp/event_id"] == str(event_id)
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

    connected.disconnect(ORG, ADMIN)
    result = ticks()

    assert requested(result) == [("goals_refresh", ORG, "disconnected")]
    assert result.run_requests[0].run_key == f"{ORG}:disconnected:{connected.last_event_id()}"
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


def killed_process() -> tuple[int, float]:
    """The pid of a process that was killed with SIGKILL (and reaped), and when it started."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = time.time()
    child.send_signal(signal.SIGKILL)
    child.wait()
    return child.pid, started


@pytest.mark.slow  # about a minute: 200 real disconnects and consents at the emulator
def test_a_disconnect_and_reconnect_within_the_same_second_is_a_reconnect_200_times_in_a_row(
    connected, ticks
):
    ticks()
    run_keys = set()
    for attempt in range(200):
        connected.disconnect(ORG, ADMIN)
        connect_company(connected, ORG)

        result = ticks()

        assert requested(result) == [("quickbooks_sync", ORG, "reconnected")], attempt
        run_keys.add(result.run_requests[0].run_key)
    assert len(run_keys) == 200


def test_authorizing_the_connected_company_again_requests_nothing(connected, ticks):
    ticks()

    connect_company(connected, ORG)  # the same company: its tokens are renewed

    assert [e.kind for e in connected.events_after(0)][-1] == "reauthorized"
    assert requested(ticks()) == []


def test_a_connect_waiting_for_a_running_sync_is_dropped_when_a_disconnect_follows(
    service, instance, ticks
):
    ensure_partition(instance, ORG)
    instance.add_run(
        DagsterRun(
            job_name="quickbooks_sync",
            run_id=str(uuid.uuid4()),
            status=DagsterRunStatus.STARTED,
            tags={"dagster/partition": ORG},
        )
    )
    connect_company(service, ORG)
    assert requested(ticks()) == []  # deferred: the sync is still running
    assert set(json.loads(ticks.cursor)["pending"]) == {ORG}

    service.disconnect(ORG, ADMIN)
    result = ticks()

    assert requested(result) == [("goals_refresh", ORG, "disconnected")]
    assert json.loads(result.cursor)["pending"] == {}


def test_a_sync_whose_process_was_killed_does_not_hold_back_a_new_connection(
    service, instance, ticks
):
    ensure_partition(instance, ORG)
    pid, _ = killed_process()
    instance.add_run(
        DagsterRun(
            job_name="quickbooks_sync",
            run_id=str(uuid.uuid4()),
            status=DagsterRunStatus.STARTED,
            tags={"dagster/partition": ORG, HOST_TAG: socket.gethostname(), PID_TAG: str(pid)},
        )
    )
    connect_company(service, ORG)

    assert requested(ticks()) == [("quickbooks_sync", ORG, "connected")]


def test_the_running_entry_of_a_killed_sync_does_not_count_as_covering_a_connection(
    service, instance, ticks
):
    ensure_partition(instance, ORG)
    connect_company(service, ORG)
    # A sync started after the connection, then killed: its entry stays `running` for now.
    killed_run("STARTED", entry=True)
    assert service.status(ORG).last_sync.status == "running"

    assert requested(ticks()) == [("quickbooks_sync", ORG, "connected")]


def test_a_cursor_of_the_version_before_the_event_log_starts_after_the_newest_event(
    connected, instance
):
    # What the previous version stored: each organization's status and moments.
    old = json.dumps({"orgs": {ORG: {"status": "connected", "connected_at": None,
                                     "disconnected_at": None, "changes": 1}}})  # fmt: skip
    ticks = Ticks(instance)
    ticks.cursor = old

    upgraded = ticks()

    assert upgraded.run_requests == []  # the connect was handled by the older version
    assert json.loads(upgraded.cursor)["last_event_id"] == connected.last_event_id()
    connected.disconnect(ORG, ADMIN)
    assert requested(ticks()) == [("goals_refresh", ORG, "disconnected")]


def test_a_lost_cursor_reads_the_log_again_under_the_same_run_keys(connected, instance):
    first = Ticks(instance)
    connected.disconnect(ORG, ADMIN)
    connect_company(connected, ORG)
    keys = [r.run_key for r in first().run_requests]

    again = Ticks(instance)  # a reset cursor: the daemon drops run keys it has seen

    assert [r.run_key for r in again().run_requests] == keys


AT = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def event(number: int, kind: str, previous: str | None = None, org: str = ORG) -> Event:
    detail = {"previous_status": previous} if kind in ("connected", "reauthorized") else {}
    return Event(number, AT, org, "123", kind, detail)


@pytest.mark.parametrize(
    ("kinds", "wanted", "superseded"),
    [
        ([("connected", None)], ("connected", 1), 0),
        ([("connected", "disconnected")], ("reconnected", 1), 0),
        ([("connected", "reauthorization_required")], ("reconnected", 1), 0),
        ([("reauthorized", "connected")], None, 0),
        ([("disconnected", None)], ("disconnected", 1), 0),
        ([("reauthorization_required", None)], ("reauthorization_required", 1), 0),
        ([("connected", None), ("disconnected", None)], ("disconnected", 2), 1),
        ([("disconnected", None), ("connected", "disconnected")], ("reconnected", 2), 1),
        ([("connected", None), ("reauthorized", "connected")], ("connected", 1), 0),
        (
            [("connected", None), ("reauthorization_required", None), ("disconnected", None)],
            ("disconnected", 3),
            2,
        ),
        (
            [("connected", None), ("disconnected", None), ("connected", "disconnected")],
            ("reconnected", 3),
            2,
        ),
    ],
)
def test_of_several_events_of_one_organization_the_newest_calls_for_the_run(
    kinds, wanted, superseded
):
    events = [event(n, kind, previous) for n, (kind, previous) in enumerate(kinds, start=1)]

    planned = plan({}, events)

    latest = planned.latest.get(ORG)
    assert ((latest.kind, latest.event_id) if latest else None) == wanted
    assert len(planned.superseded) == superseded


def test_the_events_of_different_organizations_each_call_for_their_run():
    planned = plan({}, [event(1, "connected", org="acme"), event(2, "disconnected", org="alder")])

    assert {org: c.kind for org, c in planned.latest.items()} == {
        "acme": "connected",
        "alder": "disconnected",
    }
    assert planned.superseded == []
