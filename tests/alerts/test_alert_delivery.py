"""Alerts end to end without a sync: a real control DB (SQLite and Postgres), a real SMTP
server and a real webhook receiver on loopback. Observations are built from the goal
computation's own LatestValue rows, as the alert step reads them from the serving copy."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from qb_pipeline.alerts.deliveries import RetryPolicy
from qb_pipeline.alerts.service import AlertService, observations_from
from qb_pipeline.alerts.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from qb_pipeline.connections import IntegrationService, InvalidInput, NotFound, PermissionDenied
from qb_pipeline.goals.compute import LatestValue
from qb_pipeline.goals.loader import load_goals
from qb_pipeline.goals.store import GoalStore
from tests.alerts.receivers import SmtpReceiver, WebhookReceiver
from tests.connections.conftest import ADMIN, EDITOR, VIEWER, add_team, rows

ORG = "demo"  # the demo goals' organization
REALM = "9130"
GOALS = [
    s.goal for s in load_goals([Path(__file__).resolve().parents[2] / "goal_models" / "demo"]).goals
]
FAST = RetryPolicy(attempts=3, base_delay=0.01, timeout=5)


@pytest.fixture
def smtp():
    server = SmtpReceiver()
    yield server
    server.stop()


@pytest.fixture
def hook():
    receiver = WebhookReceiver(failures_first=1)
    yield receiver
    receiver.stop()


@pytest.fixture
def alerts(make_settings, smtp, home):
    settings = make_settings(
        QBP_SMTP_HOST="127.0.0.1",
        QBP_SMTP_PORT=str(smtp.port),
        QBP_SMTP_FROM="alerts@acme.example",
        QBP_SMTP_USER="",
    )
    service = IntegrationService(settings)
    add_team(service, ORG)
    store = GoalStore(service.db)
    for goal in GOALS:
        store.create(goal, actor=EDITOR, source="cli", realm_id=REALM)
    return AlertService(settings, FAST)


def latest(goal_id: str, status: str, stale: bool = False) -> LatestValue:
    return LatestValue(
        goal_id,
        date(2026, 11, 1),
        date(2026, 11, 30),
        100.0,
        120.0,
        status,
        "USD",
        stale,
        "disconnected" if stale else None,
    )


def observations(statuses: dict[str, tuple[str, bool]]):
    values = {g: latest(g, s, stale) for g, (s, stale) in statuses.items()}
    return observations_from(values, {g.id: g.name for g in GOALS})


def test_a_status_change_reaches_email_and_a_signed_webhook_once(alerts, smtp, hook, home):
    ids = sorted(g.id for g in GOALS)
    first, second = ids[0], ids[1]
    new = alerts.add_endpoint(ADMIN, ORG, "ops", hook.url)
    alerts.subscribe(VIEWER, ORG, None, "email")
    alerts.subscribe(EDITOR, ORG, second, "email")
    alerts.subscribe(ADMIN, ORG, None, "webhook", "ops")

    baseline = alerts.alert_run(
        ORG, REALM, "run-1", observations(dict.fromkeys(ids, ("on_track", False)))
    )
    assert baseline.changes == []
    assert baseline.planned == 0
    changed = dict.fromkeys(ids, ("on_track", False))
    changed[first] = ("off_track", False)
    changed[second] = ("on_track", True)
    outcome = alerts.alert_run(ORG, REALM, "run-2", observations(changed))

    assert [(c.goal_id, c.field, c.before, c.after) for c in outcome.changes] == [
        (first, "status", "on_track", "off_track"),
        (second, "stale", False, True),
    ]
    assert (outcome.planned, outcome.sent, outcome.failed) == (3, 3, 0)
    with smtp.received:
        assert smtp.received.wait_for(lambda: len(smtp.messages) == 2, timeout=10)
    by_to = {m["To"]: m for m in smtp.messages}
    assert set(by_to) == {VIEWER, EDITOR}
    assert "2 goal changes" in by_to[VIEWER]["Subject"]
    assert "1 goal change" in by_to[EDITOR]["Subject"]
    assert "data went stale" in by_to[EDITOR].get_payload()
    # The webhook: a 500 first, then the same signed body again.
    assert [code for _, _, code in hook.requests] == [500, 200]
    headers, body, _ = hook.requests[-1]
    assert verify(new.secret, body, headers[SIGNATURE_HEADER])
    assert not verify("whsec_wrong", body, headers[SIGNATURE_HEADER])
    data = json.loads(body)
    assert str(data["sent_at"]) == headers[TIMESTAMP_HEADER]
    assert [c["goal_id"] for c in data["changes"]] == [first, second]
    assert hook.requests[0][1] == body  # a retry sends the same delivery

    # Once only: the same run again, and a later run that sees the same values.
    again = alerts.alert_run(ORG, REALM, "run-2", observations(changed))
    later = alerts.alert_run(ORG, REALM, "run-3", observations(changed))
    assert (again.sent, later.sent, later.changes) == (0, 0, [])
    assert len(smtp.messages) == 2
    assert len(hook.requests) == 2

    log = alerts.delivery_log(ADMIN, ORG)
    webhook = next((d, a) for d, a in log if d.channel == "webhook")
    assert webhook[0].status == "sent"
    assert [a.outcome for a in webhook[1]] == ["retry", "ok"]
    assert webhook[1][0].code == 500
    # No secret anywhere it could be read: payloads, the control DB's alert tables, the log.
    dumped = (
        json.dumps(
            [
                rows(home, f"SELECT * FROM {t}")
                for t in (
                    "alert_digests",
                    "alert_deliveries",
                    "alert_attempts",
                    "audit_log",
                    "webhook_endpoints",
                )
            ],
            default=str,
        )
        + body.decode()
        + "".join(m.as_string() for m in smtp.messages)
    )
    assert new.secret not in dumped
    assert new.secret not in repr(new)


def test_a_webhook_that_keeps_failing_is_given_up_and_logged(alerts, home):
    down = WebhookReceiver(failures_first=99)
    try:
        alerts.add_endpoint(ADMIN, ORG, "down", down.url)
        alerts.subscribe(ADMIN, ORG, None, "webhook", "down")
        goal = sorted(g.id for g in GOALS)[0]
        alerts.alert_run(ORG, REALM, "r1", observations({goal: ("on_track", False)}))
        outcome = alerts.alert_run(ORG, REALM, "r2", observations({goal: ("at_risk", False)}))
    finally:
        down.stop()
    assert (outcome.sent, outcome.failed) == (0, 1)
    assert len(down.requests) == FAST.attempts
    [(delivery, attempts)] = alerts.delivery_log(ADMIN, ORG)
    assert delivery.status == "failed"
    assert "giving up" in delivery.last_error
    assert [a.outcome for a in attempts] == ["retry", "retry", "failed"]


def test_bad_input_is_refused_naming_the_field_and_value(alerts):
    with pytest.raises(InvalidInput, match=r"url 'ftp://example\.com/x'"):
        alerts.add_endpoint(ADMIN, ORG, "ftp", "ftp://example.com/x")
    with pytest.raises(InvalidInput, match="must not hold a user or password"):
        alerts.add_endpoint(ADMIN, ORG, "creds", "https://u:p@example.com/x")
    with pytest.raises(PermissionDenied, match=r"manage webhook endpoints.*needs the admin role"):
        alerts.add_endpoint(EDITOR, ORG, "mine", "https://example.com/x")
    with pytest.raises(NotFound, match="goal 'no-such-goal'"):
        alerts.subscribe(VIEWER, ORG, "no-such-goal", "email")
    with pytest.raises(InvalidInput, match="channel 'sms'"):
        alerts.subscribe(VIEWER, ORG, None, "sms")
    with pytest.raises(NotFound, match="endpoint 'nope'"):
        alerts.subscribe(VIEWER, ORG, None, "webhook", "nope")
    with pytest.raises(PermissionDenied, match="alert delivery log"):
        alerts.delivery_log(VIEWER, ORG)
