"""Imported data, goals and goal values for the goals pages, made by the real components.

The company is the hand-made one of tests/goals (tests/goals/company.py: organization
`acme`, fiscal year from April, months 2025-04 .. 2026-08 with July 2026 missing), written
as the contract's marts into a real DuckDB warehouse under QBP_HOME for the realm the
organization is really connected to (OAuth against the emulator). Goals are stored in the
real goal store through goals/editing.py; their values come from a real `goals_refresh`
run (the Dagster job, executed in this process), which reads the store, computes, and
publishes the serving copy the web app reads. The run uses an ephemeral Dagster instance,
as `dagster.materialize` does: the web app never reads the instance, and the persistent
one's SQLite event log would triple the run's time.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import pytest

from qb_pipeline.config import Settings
from qb_pipeline.goals import editing
from qb_pipeline.goals.catalog import load_catalog
from qb_pipeline.goals.store import GoalChange, GoalStore
from tests.goals.company import build_marts
from tests.web.conftest import ORG

EDITOR = "editor@acme.test"

INCOME_MONTHLY: dict[str, Any] = {
    "id": "income-monthly",
    "name": "Monthly income",
    "organization": ORG,
    "dataset": "profit_and_loss",
    "tracks": {"line": {"group": "Income"}},
    "grain": "month",
    "target": {"value": 1500},
    "direction": "increase",
}
CHECKING_BALANCE: dict[str, Any] = {
    "id": "checking-balance",
    "name": "Checking balance",
    "organization": ORG,
    "dataset": "balance_sheet",
    "tracks": {"account": {"account_id": "1"}},
    "grain": "quarter",
    "target": {"value": 20000},
    "direction": "increase",
}


# The day the hand-made company's data runs through: August 2026 is in progress, with a pace.
DATA_THROUGH = date(2026, 8, 10)


def import_company(settings: Settings, realm_id: str) -> None:
    """The hand-made company's marts in the warehouse, for the connected realm."""
    settings.warehouse_path(ORG).parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path(ORG))) as con:
        build_marts(con, ORG, realm_id, data_through=DATA_THROUGH)


def store_goal(
    settings: Settings, realm_id: str, raw: dict[str, Any], actor: str = EDITOR, **kwargs: Any
) -> GoalChange:
    """A goal stored as the web app stores one, checked against the imported warehouse."""
    with duckdb.connect(str(settings.warehouse_path(ORG)), read_only=True) as con:
        catalog = load_catalog(con, ORG, realm_id)
    store = GoalStore(settings.control_db_path)
    return editing.create(
        store, raw, catalog, actor=actor, source=kwargs.pop("source", "web"), realm_id=realm_id,
        **kwargs,
    )  # fmt: skip


def export_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dagster's resources read QBP_HOME, the key and the Intuit endpoints from the
    environment: make it name the web app's."""
    monkeypatch.setenv("QBP_HOME", str(settings.home))
    monkeypatch.setenv("QBP_SECRET_KEY", settings.secret_key or "")
    monkeypatch.setenv("QBO_ENVIRONMENT", "emulator")
    monkeypatch.setenv("QBO_EMULATOR_URL", settings.emulator_url or "")
    for name in ("QBO_CLIENT_ID", "QBO_CLIENT_SECRET", "QBO_REDIRECT_URI"):
        monkeypatch.delenv(name, raising=False)


def sync(settings: Settings, monkeypatch: pytest.MonkeyPatch, org: str = ORG) -> None:
    """A real sync of the organization from the emulator (`qb-pipeline sync`), in this
    process, on the instance under QBP_HOME: imports, computes the goals, publishes."""
    from qb_pipeline.sync.runner import sync_org
    from tests.conftest import TEST_TODAY

    export_settings(settings, monkeypatch)
    outcome = sync_org(org, settings, today=TEST_TODAY, lock_wait_seconds=30.0)
    assert outcome.succeeded, outcome.message


def run_goals(settings: Settings, monkeypatch: pytest.MonkeyPatch, org: str = ORG) -> None:
    """A real `goals_refresh` run of the organization, in this process: what the daemon
    launches after a goal change."""
    from dagster import DagsterInstance

    from qb_pipeline.defs import defs
    from qb_pipeline.defs.partitions import ensure_partition

    export_settings(settings, monkeypatch)
    config = {"home": str(settings.home), "lock_wait_seconds": 5.0}
    with DagsterInstance.ephemeral() as instance:
        ensure_partition(instance, org)
        result = defs.resolve_job_def("goals_refresh").execute_in_process(
            run_config={
                "resources": {"quickbooks": {"config": config}},
                "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
            },
            instance=instance,
            partition_key=org,
            raise_on_error=False,
        )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
