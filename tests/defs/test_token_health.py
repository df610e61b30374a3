"""Token health: per organization, a check that warns 14 days before the refresh token's rolling
or hard expiry and shows the date, passes otherwise, and says so when there is no token.

The expiries are the ones QuickBooks (the emulator) gave when the organization connected or
refreshed; time is the sensor's injected clock, placed days before them.
"""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from dagster import AssetCheckKey, AssetCheckSeverity, build_sensor_context

from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.partitions import ensure_partition
from qb_pipeline.defs.quickbooks.checks.check_runs import HEALTH_CHECKS_JOB, latest_evaluation
from qb_pipeline.defs.quickbooks.checks.token_health import CHECK_NAME, CONNECTION_KEY, warn_days
from qb_pipeline.defs.quickbooks.sensors.token_health import build_token_health_sensor
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.sandbox import HARD_EXPIRY_SECONDS, REFRESH_TOKEN_SECONDS
from tests.connections.conftest import ADMIN, add_team, connect_company, issued_tokens
from tests.defs.conftest import ORG
from tests.defs.test_freshness import run_checks

TOKEN_CHECK = AssetCheckKey(CONNECTION_KEY, CHECK_NAME)
DAY = timedelta(days=1)
FORCE = timedelta(hours=2)  # more than an access token's life: the call refreshes


def evaluate(instance, at: datetime, cursor: str | None = None):
    """One tick of the token health sensor at `at`, its check runs executed."""
    sensor = build_token_health_sensor(clock=lambda: at)
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"quickbooks": QuickBooksIntegration()}
    )
    result = sensor(context)
    for request in result.run_requests:
        assert request.job_name == HEALTH_CHECKS_JOB
        run_checks(instance, request)
    return result


def shown(instance, org: str = ORG):
    evaluation = latest_evaluation(instance, TOKEN_CHECK, org)
    assert evaluation is not None
    return evaluation


def day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


@pytest.fixture
def acme(connected, instance) -> IntegrationService:
    ensure_partition(instance, ORG)
    return connected


def test_a_token_30_days_from_its_rolling_expiry_passes(acme, instance):
    status = acme.status(ORG)

    evaluate(instance, status.refresh_expires_at - 30 * DAY)

    evaluation = shown(instance)
    assert evaluation.passed, evaluation.description
    assert evaluation.partition == ORG
    assert evaluation.metadata["state"].value == "healthy"
    assert day(status.refresh_expires_at) in evaluation.description
    assert evaluation.metadata["days_until_refresh_expiry"].value == pytest.approx(30, abs=0.1)


def test_13_days_before_the_rolling_expiry_warns_with_the_date(acme, instance):
    status = acme.status(ORG)
    expires = status.refresh_expires_at

    evaluate(instance, expires - 13 * DAY)

    evaluation = shown(instance)
    assert not evaluation.passed
    assert evaluation.severity == AssetCheckSeverity.WARN
    assert evaluation.description == (
        f"{ORG}: the refresh token expires on {day(expires)} (in 13 days) unless a sync renews it "
        "before then; after that an admin must reconnect QuickBooks."
    )
    metadata = {name: entry.value for name, entry in evaluation.metadata.items()}
    assert metadata["refresh_expires_at"] == pytest.approx(expires.timestamp())
    assert metadata["refresh_hard_expires_at"] == pytest.approx(
        status.refresh_hard_expires_at.timestamp()
    )
    assert metadata["days_until_refresh_expiry"] == pytest.approx(13, abs=0.1)
    assert (metadata["org"], metadata["state"], metadata["warn_days_before"]) == (
        ORG,
        "expires_soon",
        14,
    )


def test_a_passed_expiry_fails(acme, instance):
    expires = acme.status(ORG).refresh_expires_at

    evaluate(instance, expires + DAY)

    evaluation = shown(instance)
    assert evaluation.severity == AssetCheckSeverity.ERROR
    assert evaluation.description == (
        f"{ORG}: the refresh token expired on {day(expires)}; an admin must reconnect QuickBooks."
    )


def test_13_days_before_the_hard_expiry_warns_that_only_reconnecting_helps(
    make_emulator, make_env, instance
):
    running = make_emulator(limits_enabled=False)
    service = IntegrationService(make_env(running.url))
    add_team(service, ORG)
    connect_company(service, ORG)
    ensure_partition(instance, ORG)
    # Nearly five years of syncs: each refresh within the rolling lifetime gets a new token,
    # until the rolling expiry meets the hard one.
    lived = 0
    while HARD_EXPIRY_SECONDS - lived > REFRESH_TOKEN_SECONDS:
        running.state.oauth.advance(90 * 86_400)
        lived += 90 * 86_400
        service.access_token(ORG, min_valid=FORCE)
    status = service.status(ORG)
    hard = status.refresh_hard_expires_at
    assert status.refresh_expires_at == hard  # capped by the hard expiry

    evaluate(instance, hard - 13 * DAY)

    evaluation = shown(instance)
    assert evaluation.severity == AssetCheckSeverity.WARN
    assert evaluation.description == (
        f"{ORG}: the QuickBooks authorization reaches its hard expiry on {day(hard)} "
        "(in 13 days); a sync cannot renew it: an admin must reconnect QuickBooks before then."
    )
    assert evaluation.metadata["days_until_hard_expiry"].value == pytest.approx(13, abs=0.1)


def test_a_disconnected_organization_has_no_token_to_check(acme, instance):
    acme.disconnect(ORG, ADMIN)

    evaluate(instance, datetime.now(UTC))

    evaluation = shown(instance)
    assert not evaluation.passed
    assert evaluation.severity == AssetCheckSeverity.WARN
    assert evaluation.description == (
        f"{ORG}: no refresh token to check: QuickBooks is disconnected."
    )
    assert evaluation.metadata["refresh_expires_at"].value is None


def test_the_check_runs_only_when_its_outcome_changes(acme, instance):
    expires = acme.status(ORG).refresh_expires_at

    first = evaluate(instance, expires - 30 * DAY)
    same = evaluate(instance, expires - 29 * DAY, first.cursor)
    warned = evaluate(instance, expires - 13 * DAY, same.cursor)

    assert [r.partition_key for r in first.run_requests] == [ORG]
    assert same.run_requests == []
    (request,) = warned.run_requests
    assert request.asset_check_keys == [TOKEN_CHECK]
    assert request.asset_selection == []  # nothing is synced
    assert list(json.loads(warned.cursor)) == [f"{ORG}/{TOKEN_CHECK.to_user_string()}"]


def test_the_warning_window_comes_from_the_environment(acme, instance, monkeypatch):
    monkeypatch.setenv("QBP_TOKEN_WARN_DAYS", "40")
    expires = acme.status(ORG).refresh_expires_at

    evaluate(instance, expires - 30 * DAY)

    evaluation = shown(instance)
    assert evaluation.metadata["state"].value == "expires_soon"
    assert evaluation.metadata["warn_days_before"].value == 40


@pytest.mark.parametrize("text", ["two weeks", "0", "-3", "1.5"])
def test_a_bad_warning_window_is_an_error_naming_the_variable(text):
    message = f"QBP_TOKEN_WARN_DAYS must be a whole number of days, at least 1; got {text!r}"
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        warn_days({"QBP_TOKEN_WARN_DAYS": text})
    assert str(raised.value) == message


def test_the_check_shows_no_token_value(emulator, acme, instance):
    evaluate(instance, datetime.now(UTC))

    evaluation = shown(instance)
    shown_text = evaluation.description + json.dumps(
        {name: str(entry.value) for name, entry in evaluation.metadata.items()}
    )
    tokens = [token["value"] for token in issued_tokens(emulator.url)]
    assert tokens
    assert not [token for token in tokens if token in shown_text]
