"""Alerts through real syncs: `quickbooks_sync` (the real Dagster job, through the run queue as
`qb-pipeline sync` runs it) of organization `demo`, connected to the emulator's demo company,
with a real SMTP server and a real webhook receiver on loopback.

The first sync is the baseline. Before the second, the goal's target is changed in the goal
store (as an editor would), so that sync computes a new status: its alert step sends ONE
digest, by both channels, signed, with no secret in it. A third sync changes nothing and
sends nothing."""

from __future__ import annotations

import json

import duckdb
import pytest
from cryptography.fernet import Fernet

from qb_pipeline.alerts.service import AlertService
from qb_pipeline.alerts.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)
from qb_pipeline.config import Settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.connections.db import control_db_of, open_db
from qb_pipeline.goals.store import GoalStore
from qb_pipeline.sync.runner import sync_org
from tests.alerts.receivers import SmtpReceiver, WebhookReceiver
from tests.alerts.test_alert_delivery import GOALS
from tests.conftest import TEST_TODAY
from tests.connections.conftest import ADMIN, EDITOR, VIEWER, add_team, connect_company
from tests.defs.conftest import point_env_at

pytestmark = pytest.mark.slow

ORG = "demo"
GOAL = next(g for g in GOALS if g.id == "gross-profit-quarterly")
LATEST_STATUS = (
    "SELECT status, actual FROM marts.goal_values WHERE org_id = ? AND goal_id = ? "
    "AND actual IS NOT NULL ORDER BY period_start DESC LIMIT 1"
)


@pytest.fixture
def receivers():
    smtp, hook = SmtpReceiver(), WebhookReceiver()
    yield smtp, hook
    smtp.stop()
    hook.stop()


def published_status(settings: Settings) -> tuple[str, float]:
    with duckdb.connect(str(settings.serving_path(ORG)), read_only=True) as con:
        return con.execute(LATEST_STATUS, [ORG, GOAL.id]).fetchone()


def digests(settings: Settings) -> list[dict]:
    with open_db(control_db_of(settings)) as conn:
        found = conn.execute("SELECT run_id, changes FROM alert_digests ORDER BY id").fetchall()
        return [{"run_id": r["run_id"], "changes": json.loads(r["changes"])} for r in found]


def observed_by(settings: Settings) -> str:
    """The run whose alert step observed the goal last."""
    with open_db(control_db_of(settings)) as conn:
        row = conn.execute(
            "SELECT run_id FROM alert_goal_states WHERE goal_id = ?", (GOAL.id,)
        ).fetchone()
        return row["run_id"]


def sync() -> str:
    outcome = sync_org(ORG, today=TEST_TODAY, lock_wait_seconds=30.0)
    assert outcome.succeeded, outcome.message
    return outcome.run_id


def test_a_status_change_in_a_sync_sends_one_digest_by_email_and_webhook(
    emulator, tmp_path, monkeypatch, receivers
):
    smtp, hook = receivers
    key = Fernet.generate_key().decode()
    settings = point_env_at(
        monkeypatch,
        {
            "QBP_HOME": str(tmp_path / "qbp-home"),
            "QBP_SECRET_KEY": key,
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": emulator.url,
            "QBP_SMTP_HOST": "127.0.0.1",
            "QBP_SMTP_PORT": str(smtp.port),
            "QBP_SMTP_FROM": "alerts@demo.example",
        },
    )
    service = IntegrationService(settings)
    add_team(service, ORG)
    realm = connect_company(service, ORG).realm_id
    store = GoalStore(service.db)
    store.create(GOAL, actor=EDITOR, source="cli", realm_id=realm)
    alerts = AlertService(settings)
    endpoint = alerts.add_endpoint(ADMIN, ORG, "ops", hook.url)
    alerts.subscribe(VIEWER, ORG, None, "email")
    alerts.subscribe(ADMIN, ORG, GOAL.id, "webhook", "ops")

    baseline_run = sync()
    before, actual = published_status(settings)
    assert actual > 0
    assert observed_by(settings) == baseline_run  # a first sight: a baseline, no digest
    assert digests(settings) == []
    assert (smtp.messages, hook.requests) == ([], [])

    # A target the actual cannot reach, or one it passes with ease: the status must flip.
    target = actual * 1000 if before == "on_track" else actual / 1000
    changed = GOAL.model_copy(update={"target": GOAL.target.model_copy(update={"value": target})})
    store.update(changed, actor=EDITOR, source="cli", realm_id=realm)
    changing_run = sync()
    after, _ = published_status(settings)
    assert after != before

    # One digest for that run, and in it the change.
    [digest] = digests(settings)
    assert digest["run_id"] == changing_run
    [change] = digest["changes"]
    assert (change["goal_id"], change["field"]) == (GOAL.id, "status")
    assert (change["before"], change["after"]) == (before, after)
    # By email: one message to the subscriber; by webhook: one signed POST.
    with smtp.received:
        assert smtp.received.wait_for(lambda: len(smtp.messages) == 1, timeout=10)
    [mail] = smtp.messages
    assert mail["To"] == VIEWER
    assert "1 goal change" in mail["Subject"]
    assert GOAL.name in mail.get_payload()
    [(headers, body, code)] = hook.requests
    assert code == 200
    assert verify(endpoint.secret, body, headers[SIGNATURE_HEADER])
    data = json.loads(body)
    assert data["run_id"] == changing_run
    assert data["organization"] == ORG
    assert str(data["sent_at"]) == headers[TIMESTAMP_HEADER]
    assert headers[DELIVERY_HEADER] == data["delivery"]
    assert [(c["goal_id"], c["before"], c["after"]) for c in data["changes"]] == [
        (GOAL.id, before, after)
    ]
    # No secret in what left: the body, the headers, the mail (the signature is a digest).
    sent = body.decode() + json.dumps(headers) + mail.as_string()
    for secret in (endpoint.secret, key):
        assert secret not in sent
    log = alerts.delivery_log(ADMIN, ORG)
    assert sorted((d.channel, d.status, d.run_id) for d, _ in log) == [
        ("email", "sent", changing_run),
        ("webhook", "sent", changing_run),
    ]

    # Nothing changed since: the next sync sends nothing.
    quiet_run = sync()
    assert observed_by(settings) == quiet_run
    assert [d["run_id"] for d in digests(settings)] == [changing_run]
    assert len(smtp.messages) == 1
    assert len(hook.requests) == 1
    assert len(alerts.delivery_log(ADMIN, ORG)) == 2
