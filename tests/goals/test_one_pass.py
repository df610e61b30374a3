"""All goals of an organization are computed in one set-based pass, not one query per goal."""

from __future__ import annotations

import duckdb

from qb_pipeline.goals.compute import compute
from qb_pipeline.goals.lines import line_groups
from tests.goals.company import ORG
from tests.goals.conftest import account, goal, line


class CountingConnection:
    """The real DuckDB connection, counting the statements sent through it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.statements: list[str] = []
        self.registered: list[str] = []

    def execute(self, sql: str, parameters=None):
        self.statements.append(" ".join(sql.split()))
        if parameters is None:
            return self._con.execute(sql)
        return self._con.execute(sql, parameters)

    def register(self, name: str, data) -> None:
        self.registered.append(name)
        self._con.register(name, data)

    def unregister(self, name: str) -> None:
        self._con.unregister(name)


def many_goals(count: int) -> list:
    kinds = [
        lambda n: {"tracks": account(("10", "13", "30")[n % 3], subaccounts=n % 2 == 0)},
        lambda n: {"tracks": line(line_groups("profit_and_loss")[n % 9])},
        lambda n: {"tracks": line("Income"), "filters": {"class_id": "C1"}},
        lambda n: {"dataset": "balance_sheet", "tracks": line("TotalAssets")},
        lambda n: {
            "tracks": {
                "formula": {
                    "expression": "gp / income * 100",
                    "items": {"gp": line("GrossProfit"), "income": line("Income")},
                }
            }
        },
    ]
    return [
        goal(
            id=f"goal-{n}",
            grain=("month", "quarter", "year")[n % 3],
            window="period" if n % 5 == 3 else ("period", "fiscal_ytd")[n % 2],
            target={"value": 100 + n},
            **kinds[n % len(kinds)](n),
        )
        for n in range(count)
    ]


def test_computing_200_goals_takes_as_many_statements_as_computing_one(con):
    one = CountingConnection(con)
    compute(one, ORG, many_goals(1))
    many = CountingConnection(con)
    result = compute(many, ORG, many_goals(200))

    assert len(many.statements) == len(one.statements)
    assert len(many.registered) == len(one.registered) == 6
    computing = [s for s in many.statements if "Every goal of one organization" in s]
    assert len(computing) == 1  # every goal and period in one SELECT
    assert result.goals == 200
    assert con.execute("SELECT count(DISTINCT goal_id) FROM goals.goal_values").fetchall() == [
        (200,)
    ]


def test_the_statements_of_a_computation(con):
    counting = CountingConnection(con)
    compute(counting, ORG, many_goals(3))

    # After the schema, which marts exist, the company's fiscal year and the data span: one
    # transaction computes every value once, appends the changes to the history, replaces
    # the stored values, and nothing else writes.
    statements = counting.statements
    begin, commit = statements.index("BEGIN TRANSACTION"), statements.index("COMMIT")
    inside = statements[begin + 1 : commit]
    assert next(s for s in inside if "Every goal of one organization" in s).startswith(
        "CREATE OR REPLACE TEMP TABLE _new_goal_values AS"
    )
    writes = [
        s.split(" (")[0].split(" WHERE")[0] for s in inside if s.startswith(("INSERT", "DELETE"))
    ]
    assert writes == [
        "INSERT INTO goals.goal_value_history SELECT n.org_id, n.realm_id, n.goal_id, "
        "n.computed_at, n.goal_name, n.period_start, n.period_end, n.actual, n.target, "
        "n.status, n.currency, n.is_stale, n.stale_reason FROM _new_goal_values AS n LEFT "
        "JOIN goals.goal_values AS o ON o.org_id = n.org_id AND o.realm_id IS NOT DISTINCT "
        "FROM n.realm_id AND o.goal_id = n.goal_id AND o.period_start = n.period_start",
        "DELETE FROM goals.goal_values",
        "INSERT INTO goals.goal_values BY NAME SELECT * FROM _new_goal_values",
    ]
    assert not any(s.startswith(("INSERT", "DELETE", "UPDATE")) for s in statements[commit:])
