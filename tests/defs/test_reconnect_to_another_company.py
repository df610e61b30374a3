"""An organization reconnected to another QuickBooks company, end to end through real syncs:
the new company's whole history is imported (no cursor, checkpoint or pulled report month of
the old company is reused), the old company's rows stay, scoped by realm, goals on report
lines carry on with the new company's figures only, and goals naming accounts by id wait for
an editor's review before they compute again."""

from __future__ import annotations

import duckdb
import pytest

from qb_pipeline.connections import IntegrationService
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.store import GoalStore
from qb_pipeline.sync.runner import sync_org
from tests.conftest import TEST_TODAY
from tests.connections.conftest import ADMIN, EDITOR, add_team, companies, connect_company
from tests.defs.test_goal_assets import emulator_income

pytestmark = pytest.mark.slow

ORG = "acme"

INCOME = {
    "id": "income",
    "name": "Monthly income",
    "organization": ORG,
    "dataset": "profit_and_loss",
    "grain": "month",
    "tracks": {"line": {"group": "Income"}},
    "target": {"value": 10000},
}
MARGIN = {
    "id": "margin",
    "name": "Gross margin",
    "organization": ORG,
    "dataset": "profit_and_loss",
    "grain": "month",
    "tracks": {
        "formula": {
            "expression": "gp / income * 100",
            "items": {
                "gp": {"line": {"group": "GrossProfit"}},
                "income": {"line": {"group": "Income"}},
            },
        }
    },
}


def account_goal(account_id: str) -> dict:
    return {
        "id": "first-income-account",
        "name": "The first income account",
        "organization": ORG,
        "dataset": "profit_and_loss",
        "grain": "month",
        "tracks": {"account": {"account_id": account_id}},
    }


def sync() -> None:
    outcome = sync_org(ORG, today=TEST_TODAY, lock_wait_seconds=0.5)
    assert outcome.succeeded, outcome.message


def values(service: IntegrationService, realm: str) -> dict[str, dict]:
    """goal id -> {period start: actual} of one company's values, as BI reads them."""
    with duckdb.connect(str(service.config.serving_path(ORG)), read_only=True) as con:
        rows = con.execute(
            "SELECT goal_id, period_start, actual FROM marts.goal_values"
            " WHERE org_id = ? AND realm_id = ? ORDER BY 1, 2",
            [ORG, realm],
        ).fetchall()
    found: dict[str, dict] = {}
    for goal_id, start, actual in rows:
        found.setdefault(goal_id, {})[start] = actual
    return found


def raw_counts(service: IntegrationService, table: str) -> dict[str, int]:
    with duckdb.connect(str(service.config.serving_path(ORG)), read_only=True) as con:
        rows = con.execute(
            f"SELECT realm_id, count(*) FROM qbo_raw.{table} WHERE org_id = ? GROUP BY 1", [ORG]
        ).fetchall()
    return dict(rows)


def income_account(service: IntegrationService, realm: str) -> str:
    with duckdb.connect(str(service.config.serving_path(ORG)), read_only=True) as con:
        return con.execute(
            "SELECT min(account_id) FROM marts.accounts WHERE org_id = ? AND realm_id = ?"
            " AND classification = 'Revenue' AND active",
            [ORG, realm],
        ).fetchone()[0]


def test_a_reconnect_to_another_company_imports_it_whole_and_keeps_the_companies_apart(
    make_emulator, make_env
):
    running = make_emulator(limits_enabled=False)
    service = IntegrationService(make_env(running.url))
    store = GoalStore(service.db_path)
    first, second = (c["realmId"] for c in companies(running.url)[:2])
    add_team(service, ORG)
    connect_company(service, ORG, first)
    sync()  # the first company's data, so the account goal can name one of its accounts
    account = income_account(service, first)
    for data in (INCOME, MARGIN, account_goal(account)):
        store.create(
            GoalDefinition.model_validate(data), actor=EDITOR, source="cli", realm_id=first
        )
    sync()
    first_invoices = raw_counts(service, "invoice")[first]
    first_values = values(service, first)
    assert set(first_values) == {"income", "margin", "first-income-account"}

    service.disconnect(ORG, ADMIN)
    connect_company(service, ORG, second)
    sync()

    # The second company was imported whole: as many invoices as it has, not only changes.
    invoices = raw_counts(service, "invoice")
    assert invoices[first] == first_invoices  # the first company's rows stay
    expected = len(running.state.backend.company(second).records("Invoice"))
    assert invoices[second] == expected
    # Line and formula goals carry on, with the second company's figures only.
    second_values = values(service, second)
    assert set(second_values) == {"income", "margin"}
    months = [start for start, actual in second_values["income"].items() if actual][-2:]
    for start in months:
        own = emulator_income(running.url, second, start)
        assert second_values["income"][start] == pytest.approx(own, abs=0.005)
        assert second_values["income"][start] != pytest.approx(first_values["income"][start])
    # The account goal waits for a review; its values of the first company are kept.
    review = store.get(ORG, "first-income-account")
    assert (review.state, review.realm_id) == ("needs_review", first)
    assert f"named records of company {first}" in review.state_reason
    assert values(service, first)["first-income-account"] == first_values["first-income-account"]
    assert store.get(ORG, "income").realm_id == second

    # An editor points it at an account of the new company: it computes again.
    store.update(
        GoalDefinition.model_validate(account_goal(income_account(service, second))),
        actor=EDITOR,
        source="cli",
        realm_id=second,
    )
    sync()
    assert set(values(service, second)) == {"income", "margin", "first-income-account"}
