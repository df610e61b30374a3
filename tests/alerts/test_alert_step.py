"""The Dagster alert step: materialized for real (an ephemeral instance) against a real
serving copy and the control DB of an organization connected to the emulator; it reads the
published goal values, sends once, and never fails the run."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest
from cryptography.fernet import Fernet
from dagster import DagsterInstance, materialize

from qb_pipeline.alerts.service import AlertService
from qb_pipeline.config import load_settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.alerts.assets import goal_alerts
from qb_pipeline.defs.partitions import ORGANIZATIONS
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.goals.compute import ensure_goal_tables
from qb_pipeline.goals.store import GoalStore
from tests.alerts.receivers import SmtpReceiver
from tests.alerts.test_alert_delivery import GOALS
from tests.connections.conftest import EDITOR, VIEWER, add_team, connect_company

ORG = "demo"


def publish(path, realm_id: str, status: str) -> None:
    """A serving copy holding the demo goals' values, all in `status`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        ensure_goal_tables(con)
        for goal in GOALS:
            con.execute(
                "INSERT INTO goals.goal_values VALUES (?, ?, ?, ?, DATE '2026-11-01',"
                " DATE '2026-11-30', 10.0, 20.0, ?, 'USD', false, NULL, NULL, ?, 'fixed')",
                [ORG, realm_id, goal.id, goal.name, status, datetime.now(UTC)],
            )


@pytest.fixture
def smtp():
    server = SmtpReceiver()
    yield server
    server.stop()


def test_the_alert_step_reads_the_published_values_and_sends_once(emulator, tmp_path, smtp):
    env = {
        "QBP_HOME": str(tmp_path / "home"),
        "QBP_SECRET_KEY": Fernet.generate_key().decode(),
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": emulator.url,
        "QBP_SMTP_HOST": "127.0.0.1",
        "QBP_SMTP_PORT": str(smtp.port),
    }
    settings = load_settings(env)
    service = IntegrationService(settings)
    add_team(service, ORG)
    realm = connect_company(service, ORG).realm_id
    store = GoalStore(service.db)
    for goal in GOALS:
        store.create(goal, actor=EDITOR, source="cli", realm_id=realm)
    AlertService(settings).subscribe(VIEWER, ORG, None, "email")
    resources = {"quickbooks": QuickBooksIntegration(home=env["QBP_HOME"])}

    def run(status: str):
        publish(settings.serving_path(ORG), realm, status)
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            with DagsterInstance.ephemeral() as instance:
                instance.add_dynamic_partitions(ORGANIZATIONS, [ORG])
                result = materialize(
                    [goal_alerts], partition_key=ORG, resources=resources, instance=instance
                )
        assert result.success
        [event] = result.get_asset_materialization_events()
        return {k: v.value for k, v in event.materialization.metadata.items()}

    assert run("on_track")["alerts/changes"] == 0  # the baseline
    changed = run("off_track")
    assert (changed["alerts/changes"], changed["alerts/sent"]) == (len(GOALS), 1)
    with smtp.received:
        assert smtp.received.wait_for(lambda: len(smtp.messages) == 1, timeout=10)
    assert smtp.messages[0]["To"] == VIEWER
    assert run("off_track")["alerts/sent"] == 0
    assert len(smtp.messages) == 1
