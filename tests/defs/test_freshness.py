"""Freshness per organization: checks on the raw tables and the goal values that warn after
26 hours without a successful sync and fail after 50, and a sensor that keeps them current in
the Dagster UI and requests a catch-up sync for a connected organization whose data went stale.

Time is controlled by the sensor's injected clock: a successful sync is recorded in the control
DB (or run for real) at the real "now", and the sensor is evaluated hours later.
"""

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetMaterialization,
    DagsterRun,
    DagsterRunStatus,
    build_sensor_context,
)

from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs import defs
from qb_pipeline.defs.goals.assets import GOAL_VALUES_KEY
from qb_pipeline.defs.partitions import ensure_partition
from qb_pipeline.defs.quickbooks.checks.check_runs import HEALTH_CHECKS_JOB, latest_evaluation
from qb_pipeline.defs.quickbooks.checks.freshness import CHECK_NAME, RAW_KEY, FreshnessThresholds
from qb_pipeline.defs.quickbooks.checks.token_health import CHECK_NAME as TOKEN_CHECK
from qb_pipeline.defs.quickbooks.checks.token_health import CONNECTION_KEY
from qb_pipeline.defs.quickbooks.sensors.freshness import build_freshness_sensor
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.sync.runner import sync_org
from tests.conftest import TEST_TODAY
from tests.connections.conftest import ADMIN, add_team, connect_company
from tests.defs.conftest import ORG

RAW_CHECK = AssetCheckKey(RAW_KEY, CHECK_NAME)
GOALS_CHECK = AssetCheckKey(GOAL_VALUES_KEY, CHECK_NAME)
NOW = datetime.now(UTC)


def hours_later(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


def record_success(service: IntegrationService, org: str = ORG) -> None:
    """A successful sync of the organization in the control DB's sync log, finished now, and its
    goal values computed (the goals step's materialization of marts/goal_values)."""
    realm = service.status(org).realm_id
    service.record_sync(org, realm, NOW - timedelta(minutes=5), NOW, "succeeded", rows={"x": 1})


def goals_computed(instance, org: str = ORG) -> None:
    instance.report_runless_asset_event(AssetMaterialization(GOAL_VALUES_KEY, partition=org))


class Tick:
    def __init__(self, result) -> None:
        self.cursor = result.cursor
        self.check_runs = [r for r in result.run_requests if r.job_name == HEALTH_CHECKS_JOB]
        self.catch_ups = [r for r in result.run_requests if r.job_name == "quickbooks_sync"]
        assert len(self.check_runs) + len(self.catch_ups) == len(result.run_requests)

    @property
    def checked(self) -> set[AssetCheckKey]:
        return {key for request in self.check_runs for key in request.asset_check_keys}


def run_checks(instance, request) -> None:
    """Launch a check-only run as the daemon would: a subset of its job with no asset."""
    job = defs.resolve_job_def(request.job_name)
    subset = job.get_subset(
        asset_selection=set(), asset_check_selection=set(request.asset_check_keys)
    )
    result = subset.execute_in_process(
        instance=instance, partition_key=request.partition_key, tags=request.tags
    )
    assert result.success
    materialized = [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    assert materialized == []  # checks only: nothing synced


class Daemon:
    """Evaluates the freshness sensor as the daemon does: one tick at a time on the real
    instance, carrying the cursor, and running the check runs the tick requests (the catch-up
    syncs it requests are only looked at)."""

    def __init__(self, instance) -> None:
        self.instance = instance
        self.cursor: str | None = None

    def tick(self, at: datetime) -> Tick:
        sensor = build_freshness_sensor(clock=lambda: at)
        context = build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={"quickbooks": QuickBooksIntegration()},
        )
        tick = Tick(sensor(context))
        for request in tick.check_runs:
            run_checks(self.instance, request)
        self.cursor = tick.cursor
        return tick


@pytest.fixture
def acme(connected, instance):
    """`acme` connected, its partition known, one successful sync just now, goals computed."""
    ensure_partition(instance, ORG)
    record_success(connected)
    goals_computed(instance)
    return connected


@pytest.fixture
def daemon(instance) -> Daemon:
    return Daemon(instance)


def shown(instance, check: AssetCheckKey = RAW_CHECK, org: str = ORG):
    """The check's evaluation the UI shows for the organization's partition."""
    evaluation = latest_evaluation(instance, check, org)
    assert evaluation is not None, f"{check} was never evaluated for {org}"
    return evaluation


def value(evaluation, name: str):
    return evaluation.metadata[name].value


# -- the checks ---------------------------------------------------------------------------


def test_data_synced_within_26_hours_passes(acme, instance, daemon):
    result = daemon.tick(hours_later(25))

    assert result.catch_ups == []
    for check in (RAW_CHECK, GOALS_CHECK):
        evaluation = shown(instance, check)
        assert evaluation.passed, evaluation.description
        assert evaluation.partition == ORG
        assert value(evaluation, "state") == "fresh"
        assert value(evaluation, "org") == ORG
        assert value(evaluation, "age_hours") == pytest.approx(25, abs=0.01)
        assert value(evaluation, "last_success_at") == pytest.approx(NOW.timestamp(), abs=1)
        assert (value(evaluation, "warn_after_hours"), value(evaluation, "fail_after_hours")) == (
            26,
            50,
        )


def test_data_27_hours_old_warns(acme, instance, daemon):
    daemon.tick(hours_later(27))

    for check in (RAW_CHECK, GOALS_CHECK):
        evaluation = shown(instance, check)
        assert not evaluation.passed
        assert evaluation.severity == AssetCheckSeverity.WARN
        assert value(evaluation, "state") == "warn"
        assert value(evaluation, "age_hours") == pytest.approx(27, abs=0.01)
        assert "older than 26 h (27.0 h; last successful sync" in evaluation.description


def test_data_51_hours_old_fails(acme, instance, daemon):
    daemon.tick(hours_later(51))

    for check in (RAW_CHECK, GOALS_CHECK):
        evaluation = shown(instance, check)
        assert not evaluation.passed
        assert evaluation.severity == AssetCheckSeverity.ERROR
        assert value(evaluation, "state") == "fail"
        assert "older than 50 h (51.0 h" in evaluation.description


def test_goal_values_are_as_old_as_their_last_computation(connected, instance, daemon):
    # Goals computed, then a sync imported new data but its goals step failed (partial).
    ensure_partition(instance, ORG)
    goals_computed(instance)
    realm = connected.status(ORG).realm_id
    later = NOW + timedelta(hours=30)
    connected.record_sync(ORG, realm, later, later, "partial", message="goals: failed")

    daemon.tick(hours_later(31))

    assert shown(instance, RAW_CHECK).passed
    goals = shown(instance, GOALS_CHECK)
    assert value(goals, "state") == "warn"
    # The goals' materialization carries the real clock's time, taken after NOW.
    computed = instance.get_latest_materialization_event(GOAL_VALUES_KEY).timestamp
    age = (hours_later(31) - datetime.fromtimestamp(computed, UTC)).total_seconds() / 3600
    assert age > 30  # older than the partial sync's 1 hour: the goal values' own age counts
    assert value(goals, "age_hours") == pytest.approx(age, abs=0.01)


def test_the_thresholds_come_from_the_environment(acme, instance, daemon, monkeypatch):
    monkeypatch.setenv("QBP_FRESHNESS_WARN_HOURS", "2")
    monkeypatch.setenv("QBP_FRESHNESS_FAIL_HOURS", "3.5")

    daemon.tick(hours_later(1.5))
    assert value(shown(instance), "state") == "fresh"
    daemon.tick(hours_later(2.5))
    assert value(shown(instance), "state") == "warn"
    daemon.tick(hours_later(4))
    evaluation = shown(instance)
    assert (value(evaluation, "state"), evaluation.severity) == ("fail", AssetCheckSeverity.ERROR)
    assert (value(evaluation, "warn_after_hours"), value(evaluation, "fail_after_hours")) == (
        2,
        3.5,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"QBP_FRESHNESS_WARN_HOURS": "a day"},
            "QBP_FRESHNESS_WARN_HOURS must be a number of hours greater than 0; got 'a day'",
        ),
        (
            {"QBP_FRESHNESS_FAIL_HOURS": "-1"},
            "QBP_FRESHNESS_FAIL_HOURS must be a number of hours greater than 0; got '-1'",
        ),
        (
            {"QBP_FRESHNESS_WARN_HOURS": "60"},
            "QBP_FRESHNESS_WARN_HOURS (60) must be less than QBP_FRESHNESS_FAIL_HOURS (50)",
        ),
        (
            {"QBP_FRESHNESS_CATCH_UP_HOURS": "0"},
            "QBP_FRESHNESS_CATCH_UP_HOURS must be a number of hours greater than 0; got '0'",
        ),
    ],
)
def test_a_bad_threshold_is_an_error_naming_the_variable(env, message):
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        FreshnessThresholds.from_env(env)
    assert str(raised.value) == message


def test_each_organization_is_judged_on_its_own_partition(acme, instance, daemon, emulator):
    # `other` synced 20 hours after acme: at +27 h acme is stale, `other` is not.
    add_team(acme, "other")
    other_realm = next(
        c["realmId"]
        for c in httpx.get(f"{emulator.url}/_emulator/companies").json()
        if c["realmId"] != acme.status(ORG).realm_id
    )
    connect_company(acme, "other", other_realm)
    ensure_partition(instance, "other")
    later = NOW + timedelta(hours=20)
    acme.record_sync("other", other_realm, later, later, "succeeded")

    daemon.tick(hours_later(27))

    assert value(shown(instance, RAW_CHECK, ORG), "state") == "warn"
    assert value(shown(instance, RAW_CHECK, "other"), "state") == "fresh"


def test_an_unchanged_state_is_not_reported_again(acme, instance, daemon):
    first = daemon.tick(hours_later(27))
    again = daemon.tick(hours_later(28))
    worse = daemon.tick(hours_later(51))

    assert first.checked == {RAW_CHECK, GOALS_CHECK}
    assert again.check_runs == []
    assert worse.checked == {RAW_CHECK, GOALS_CHECK}
    (request,) = worse.check_runs
    assert (request.partition_key, request.asset_selection) == (ORG, [])


# -- catch-up syncs -----------------------------------------------------------------------


def test_stale_data_of_a_connected_organization_gets_one_catch_up_sync_per_interval(acme, daemon):
    first = daemon.tick(hours_later(27))
    same_interval = daemon.tick(hours_later(27 + 5.9))
    next_interval = daemon.tick(hours_later(27 + 6))

    (request,) = first.catch_ups
    assert request.partition_key == ORG
    assert request.run_key == f"{ORG}:catch-up:{hours_later(27).strftime('%Y-%m-%dT%H:%MZ')}"
    assert request.tags["qbp/trigger"] == "freshness"
    assert same_interval.catch_ups == []
    assert [r.partition_key for r in next_interval.catch_ups] == [ORG]
    assert json.loads(next_interval.cursor)["catch_up"] == {ORG: hours_later(33).isoformat()}


def test_the_catch_up_interval_comes_from_the_environment(acme, daemon, monkeypatch):
    monkeypatch.setenv("QBP_FRESHNESS_CATCH_UP_HOURS", "1")

    assert len(daemon.tick(hours_later(27)).catch_ups) == 1
    assert daemon.tick(hours_later(27.5)).catch_ups == []
    assert len(daemon.tick(hours_later(28)).catch_ups) == 1


def test_no_catch_up_while_a_sync_of_the_organization_is_queued_or_running(acme, instance, daemon):
    instance.add_run(
        DagsterRun(
            job_name="quickbooks_sync",
            run_id="1" * 8 + "-0000-4000-8000-" + "0" * 12,
            status=DagsterRunStatus.STARTED,
            tags={"dagster/partition": ORG},
        )
    )

    result = daemon.tick(hours_later(27))

    assert result.catch_ups == []
    assert value(shown(instance), "state") == "warn"  # the check still tells the truth
    assert json.loads(result.cursor)["catch_up"] == {}  # asked again once the sync ended


def test_fresh_data_gets_no_catch_up(acme, daemon):
    assert daemon.tick(hours_later(2)).catch_ups == []


def test_no_catch_up_when_automatic_sync_is_off(acme, instance, daemon):
    acme.update_settings(ORG, ADMIN, auto_sync=False)

    assert daemon.tick(hours_later(30)).catch_ups == []
    assert value(shown(instance), "state") == "warn"


def test_a_disconnected_organization_is_stale_because_disconnected_and_gets_no_sync(
    acme, instance, daemon
):
    acme.disconnect(ORG, ADMIN)

    now = daemon.tick(hours_later(1))
    later = daemon.tick(hours_later(60))

    assert now.catch_ups == []
    assert later.catch_ups == []
    for check in (RAW_CHECK, GOALS_CHECK):
        evaluation = shown(instance, check)
        assert not evaluation.passed
        assert evaluation.severity == AssetCheckSeverity.WARN  # not a failed sync
        assert value(evaluation, "state") == "disconnected"
        assert value(evaluation, "connection_status") == "disconnected"
        assert evaluation.description.startswith(f"{ORG}: stale because disconnected")
        assert "last successful sync" in evaluation.description
    assert later.check_runs == []  # still disconnected: nothing new to show


def test_an_organization_that_must_reauthorize_is_stale_because_disconnected(
    make_emulator, make_env, instance, daemon
):
    running = make_emulator(limits_enabled=False)
    service = IntegrationService(make_env(running.url))
    add_team(service, ORG)
    connect_company(service, ORG)
    ensure_partition(instance, ORG)
    record_success(service)
    httpx.post(f"{running.url}/_emulator/oauth/revoke-refresh-tokens").raise_for_status()
    with pytest.raises(Exception, match="reconnect"):
        service.access_token(ORG, min_valid=timedelta(hours=2))
    assert service.status(ORG).status == "reauthorization_required"

    result = daemon.tick(hours_later(30))

    assert result.catch_ups == []
    evaluation = shown(instance)
    assert evaluation.severity == AssetCheckSeverity.WARN
    assert evaluation.description.startswith(
        f"{ORG}: stale because disconnected: QuickBooks needs reauthorization"
    )


def test_a_connection_never_synced_is_measured_from_when_it_connected(connected, instance, daemon):
    ensure_partition(instance, ORG)

    daemon.tick(hours_later(27))

    evaluation = shown(instance)
    assert value(evaluation, "state") == "warn"
    assert evaluation.metadata["last_success_at"].value is None
    assert "no successful sync since connecting" in evaluation.description


# -- in a real sync -----------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_sync_runs_the_checks_and_they_pass(connected, instance):
    outcome = sync_org(ORG, today=TEST_TODAY, lock_wait_seconds=0.5)

    assert outcome.succeeded, outcome.message
    for check in (RAW_CHECK, GOALS_CHECK, AssetCheckKey(CONNECTION_KEY, TOKEN_CHECK)):
        evaluation = shown(instance, check)
        assert evaluation.passed, (check, evaluation.description)
        assert value(evaluation, "org") == ORG
