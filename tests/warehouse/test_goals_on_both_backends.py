"""Goals on both warehouse backends (goals/workspace.py): the same goals, computed from each
backend's synced marts (the DuckDB file itself; on Postgres a copy of the organization's marts
in memory, written back to its `goals_<org>` schema), give the same values, history,
definitions and staleness; a computation that fails writes nothing to Postgres; the readers'
copy of a Postgres organization (warehouse/serving.py) answers as the DuckDB file does; a
tenant's BI role reads its own goal views and nothing else."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg2.errors
import pytest

from qb_pipeline.goals import values
from qb_pipeline.goals.catalog import load_catalog
from qb_pipeline.goals.compute import compute, latest_values, preview
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.store import ACTIVE, StoredGoal
from qb_pipeline.goals.workspace import goal_workspace
from qb_pipeline.warehouse.bi_roles import grant_bi_role
from qb_pipeline.warehouse.serving import ATTACHED_AS, attached_serving_copy, serving_copy
from tests.warehouse.synced_backends import BACKENDS, ORGS, Backend
from tests.warehouse.test_bi_roles import as_role

pytestmark = pytest.mark.slow

AT = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)
GOAL_VALUES = "SELECT * FROM marts.goal_values ORDER BY goal_id, period_start"
HISTORY = "SELECT * FROM marts.goal_value_history ORDER BY goal_id, period_start, as_of"


class Failed(Exception):
    """Raised inside a goal workspace, as a failing step would."""


def first_id(backend: Backend, org: str, sql: str) -> str:
    [(found,)] = backend.query(org, sql)
    return str(found)


def goals_for(backend: Backend, org: str, realm_id: str, income_target: float = 1000) -> list:
    """Goals of every kind the marts feed: lines, an account with its sub-accounts, a ratio,
    balances, fiscal quarters and years, and for the company with classes a class filter."""
    revenue_account = first_id(
        backend,
        org,
        "SELECT min(account_id) FROM marts.accounts WHERE classification = 'Revenue'",
    )
    data: list[dict[str, Any]] = [
        {
            "id": "income",
            "tracks": {"line": {"group": "Income"}},
            "target": {"value": income_target},
        },
        {
            "id": "net-income-ytd",
            "tracks": {"line": {"group": "NetIncome"}},
            "grain": "quarter",
            "window": "fiscal_ytd",
            "target": {"growth": {"rate_pct": 5, "base": "same_period_last_year"}},
        },
        {
            "id": "sales-account",
            "tracks": {"account": {"account_id": revenue_account, "include_subaccounts": True}},
            "basis": "cash",
            "grain": "year",
        },
        {
            "id": "gross-margin",
            "tracks": {
                "formula": {
                    "expression": "gross_profit / income * 100",
                    "items": {
                        "gross_profit": {"line": {"group": "GrossProfit"}},
                        "income": {"line": {"group": "Income"}},
                    },
                }
            },
            "direction": "maintain",
            "target": {"value": 40},
        },
        {
            "id": "current-assets",
            "dataset": "balance_sheet",
            "tracks": {"line": {"group": "CurrentAssets"}},
            "grain": "quarter",
        },
    ]
    if org == "contract-jan":
        class_id = first_id(
            backend,
            org,
            "SELECT min(dimension_id) FROM marts.pnl_monthly_by_dimension"
            " WHERE dimension = 'class'",
        )
        data.append(
            {
                "id": "class-income",
                "tracks": {"line": {"group": "Income"}},
                "filters": {"class_id": class_id},
            }
        )
    return [
        GoalDefinition.model_validate(
            {"name": f"Goal {d['id']}", "organization": org, "dataset": "profit_and_loss",
             "grain": "month", **d}
        )
        for d in data
    ]  # fmt: skip


def stored(goals: list[GoalDefinition], realm_id: str) -> list[StoredGoal]:
    return [
        StoredGoal(
            g.organization, g.id, g, ACTIVE, None, 1, realm_id, None, AT, "ann@example.com",
            AT, "ann@example.com",
        )
        for g in goals
    ]  # fmt: skip


def compute_on(backend: Backend, org: str, realm_id: str, at: datetime, **options: Any) -> Any:
    """The goals computed in the backend's goal workspace, as the goal step does."""
    goals = goals_for(backend, org, realm_id, options.pop("income_target", 1000))
    with goal_workspace(backend.settings, org, wait_seconds=5) as con:
        return compute(
            con,
            org,
            [] if options.get("stale_reason") else goals,
            realm_id=realm_id,
            computed_at=at,
            stored_goals=stored(goals, realm_id),
            **options,
        )


def on_both(backends: dict[str, Backend], companies, org: str, at: datetime, **options: Any):
    return {
        name: compute_on(backends[name], org, companies[org].realm_id, at, **dict(options))
        for name in BACKENDS
    }


@pytest.mark.parametrize("org", ORGS)
def test_the_same_goals_give_the_same_values_definitions_and_history(backends, companies, org):
    results = on_both(backends, companies, org, AT)
    assert results["duckdb"].rows == results["postgres"].rows > 20
    assert results["duckdb"].latest == results["postgres"].latest
    on_duckdb = backends["duckdb"].query(org, GOAL_VALUES)
    on_postgres = backends["postgres"].query(org, GOAL_VALUES)
    assert on_postgres == on_duckdb
    assert {row[2] for row in on_postgres} == {g.id for g in goals_for(backends["duckdb"], org, "")}
    statuses = {row[8] for row in on_postgres}
    assert {"on_track", "no_target"} <= statuses or {"off_track", "no_target"} <= statuses
    definitions = (
        "SELECT goal_id, version, state, CAST(definition AS VARCHAR) FROM marts.goals"
        " ORDER BY goal_id"
    )
    assert backends["postgres"].query(org, definitions) == backends["duckdb"].query(
        org, definitions
    )

    # Computed again with one target changed: history rows for that goal's periods only, the
    # same on both; the values are replaced, not added to.
    before = {name: len(backends[name].query(org, HISTORY)) for name in BACKENDS}
    later = AT + timedelta(hours=1)
    on_both(backends, companies, org, later, income_target=2000)
    grown = {name: len(backends[name].query(org, HISTORY)) - before[name] for name in BACKENDS}
    income_periods = sum(1 for row in on_duckdb if row[2] == "income")
    assert grown == {"duckdb": income_periods, "postgres": income_periods}
    assert backends["postgres"].query(org, HISTORY) == backends["duckdb"].query(org, HISTORY)
    assert len(backends["postgres"].query(org, GOAL_VALUES)) == len(on_postgres)


def test_stale_goals_are_flagged_alike_and_a_fresh_computation_clears_them(backends, companies):
    org = "contract-jul"
    on_both(backends, companies, org, AT)
    since = AT + timedelta(days=1)
    on_both(backends, companies, org, since, stale_reason="disconnected", since=since)
    flags = "SELECT DISTINCT is_stale, stale_reason, stale_since FROM marts.goal_values"
    assert backends["postgres"].query(org, flags) == [(True, "disconnected", since)]
    assert backends["duckdb"].query(org, flags) == [(True, "disconnected", since)]

    on_both(backends, companies, org, since + timedelta(hours=1))
    assert backends["postgres"].query(org, flags) == [(False, None, None)]


def test_a_computation_that_fails_writes_nothing_to_postgres(backends, companies):
    org, backend = "contract-jan", backends["postgres"]
    realm_id = companies[org].realm_id
    compute_on(backend, org, realm_id, AT)
    kept = backend.query(org, GOAL_VALUES), backend.query(org, HISTORY)
    goals = goals_for(backend, org, realm_id, income_target=123)
    changed_in_the_copy = []

    def fail_after_computing() -> None:
        with goal_workspace(backend.settings, org, wait_seconds=5) as con:
            later = AT + timedelta(days=1)
            result = compute(con, org, goals[:1], realm_id=realm_id, computed_at=later)
            changed_in_the_copy.append(result.history_rows)
            raise Failed

    with pytest.raises(Failed):
        fail_after_computing()
    assert changed_in_the_copy[0] > 0
    assert (backend.query(org, GOAL_VALUES), backend.query(org, HISTORY)) == kept


def test_the_readers_copy_of_a_postgres_organization_answers_as_the_duckdb_file(
    backends, companies
):
    org = "contract-jan"
    realm_id = companies[org].realm_id
    on_both(backends, companies, org, AT)
    duck = backends["duckdb"].connect(org)
    try:
        expected_latest = latest_values(duck, org, realm_id)
        expected_catalog = load_catalog(duck, org, realm_id)
        expected_periods = values.periods(duck, org, realm_id, "income")
    finally:
        duck.close()

    settings = backends["postgres"].settings
    with serving_copy(settings, org, raw_date_spans=["invoice", "bill"]) as copy:
        assert copy.con is not None, copy.note
        assert values.latest(copy.con, org, realm_id) == expected_latest
        assert values.periods(copy.con, org, realm_id, "income") == expected_periods
        assert values.computed_versions(copy.con, org) == {
            g.id: 1 for g in goals_for(backends["duckdb"], org, realm_id)
        }
        catalog = load_catalog(copy.con, org, realm_id)
        assert catalog == expected_catalog
        assert catalog.accounts
        assert catalog.dimensions
        # What "Data available" reads of a transaction table: its first and last date.
        span = "SELECT min(TRY_CAST(txn_date AS DATE)), max(TRY_CAST(txn_date AS DATE))"
        [(first, last)] = copy.con.execute(f"{span} FROM qbo_raw.invoice").fetchall()
        assert [(first, last)] == backends["duckdb"].query(org, f"{span} FROM qbo_raw.invoice")
        assert isinstance(first, date)
        assert first < last

    income = goals_for(backends["duckdb"], org, realm_id)[0]
    with attached_serving_copy(settings, org) as attached:
        assert attached.con is not None, attached.note
        previewed = preview(attached.con, ATTACHED_AS, income, realm_id, periods=6)
    shown = [(p.period_start, p.actual, p.target, p.status) for p in expected_periods[-6:]]
    assert [(r["period_start"], r["actual"], r["target"], r["status"]) for r in previewed] == shown


def test_an_organization_without_marts_on_postgres_reads_as_not_published(backends):
    with serving_copy(backends["postgres"].settings, "never-synced") as copy:
        assert copy.con is None
        assert copy.note.startswith("nothing has been imported yet")


def test_a_tenants_bi_role_reads_its_goal_views_only(backends, companies):
    on_both(backends, companies, "contract-jan", AT)
    on_both(backends, companies, "contract-jul", AT)
    url = backends["postgres"].settings.warehouse_url
    role = grant_bi_role(url, "contract-jan")
    expected = backends["postgres"].query("contract-jan", "SELECT count(*) FROM marts.goal_values")
    connection = as_role(url, role.role, role.password)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), min(org_id), max(org_id) FROM goal_values")
            assert cursor.fetchall() == [(expected[0][0], "contract-jan", "contract-jan")]
            for relation in ("goal_value_history", "goals"):
                cursor.execute(f"SELECT count(*) FROM {relation}")
                assert cursor.fetchone()[0] > 0
            for other in (
                "goals_contract_jan.goal_values",  # its own tables: only through the views
                "marts_contract_jul.goal_values",
                "goals_contract_jul.goal_values",
            ):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(f"SELECT * FROM {other}")
    finally:
        connection.close()
