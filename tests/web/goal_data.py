"""Imported data and goal values for the goals pages, made by the real components.

The company is the hand-made one of tests/goals (tests/goals/company.py: organization
`acme`, fiscal year from April, months 2025-04 .. 2026-08 with July 2026 missing), written
as the contract's marts into a real DuckDB warehouse under QBP_HOME. Goal values come from
goals.compute over those marts, and the warehouse is published to the serving copy with
warehouse.publish, exactly what the web app reads after a pipeline run.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from qb_pipeline.config import Settings
from qb_pipeline.goals.compute import compute
from qb_pipeline.goals.loader import load_goals
from qb_pipeline.warehouse.publish import publish
from tests.goals.company import build_marts
from tests.web.conftest import ORG

# Two goals of acme, in a file of their own (goals the web app creates go to acme/).
SEED_GOALS = """\
- id: income-monthly
  name: Monthly income
  organization: acme
  dataset: profit_and_loss
  tracks: {line: {group: Income}}
  grain: month
  target: {value: 1500}
  direction: increase
- id: checking-balance
  name: Checking balance
  organization: acme
  dataset: balance_sheet
  tracks: {account: {account_id: "1"}}
  grain: quarter
  target: {value: 20000}
  direction: increase
"""


def write_seed_goals(goals_dir: Path) -> Path:
    path = goals_dir / "seed" / "acme-goals.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SEED_GOALS, encoding="utf-8")
    return path


def goal_files(goals_dir: Path) -> list[Path]:
    return sorted(goals_dir.rglob("*.yaml"))


def import_and_compute(
    settings: Settings,
    realm_id: str,
    goals_dir: Path,
    stale_reason: str | None = None,
    since: datetime | None = None,
) -> None:
    """Import the company (once), compute acme's goals (or flag them stale), publish."""
    warehouse = settings.warehouse_path
    first_time = not warehouse.exists()
    with duckdb.connect(str(warehouse)) as con:
        if first_time:
            build_marts(con, ORG, realm_id)
        goals = [s.goal for s in load_goals([goals_dir]).goals if s.goal.organization == ORG]
        compute(con, ORG, goals, stale_reason, since)
        publish(con, warehouse, settings.serving_path)
