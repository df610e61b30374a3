"""Fixtures for goals: a real DuckDB warehouse in tmp_path holding the hand-made company."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from qb_pipeline.goals.compute import compute
from qb_pipeline.goals.definition import GoalDefinition
from tests.goals.company import ORG, add_beta, build_marts


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        build_marts(con)
        add_beta(con)
    return path


@pytest.fixture
def con(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(warehouse))
    yield connection
    connection.close()


def goal(**fields: Any) -> GoalDefinition:
    """A goal of `acme` with sensible defaults for the fields a test does not care about."""
    data: dict[str, Any] = {
        "id": "g",
        "name": "A goal",
        "organization": ORG,
        "dataset": "profit_and_loss",
        "grain": "month",
    }
    data.update(fields)
    return GoalDefinition.model_validate(data)


def account(account_id: str, subaccounts: bool = False) -> dict:
    return {"account": {"account_id": account_id, "include_subaccounts": subaccounts}}


def line(group: str) -> dict:
    return {"line": {"group": group}}


Row = tuple[float | None, float | None, str]


@pytest.fixture
def values(con: duckdb.DuckDBPyConnection) -> Callable[..., dict[date, Row]]:
    """Compute goals and read one goal's rows: {period_start: (actual, target, status)}."""

    def run(*goals: GoalDefinition, goal_id: str | None = None) -> dict[date, Row]:
        compute(con, ORG, list(goals))
        wanted = goal_id or goals[0].id
        rows = con.execute(
            "SELECT period_start, actual, target, status FROM marts.goal_values "
            "WHERE org_id = ? AND goal_id = ? ORDER BY period_start",
            [ORG, wanted],
        ).fetchall()
        return {start: (actual, target, status) for start, actual, target, status in rows}

    return run
