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
    inserts = [s for s in many.statements if s.startswith("-- Every goal") or "INSERT" in s]
    assert len(inserts) == 1  # every goal and period in one INSERT ... SELECT
    assert result.goals == 200
    assert con.execute("SELECT count(DISTINCT goal_id) FROM goals.goal_values").fetchall() == [
        (200,)
    ]


def test_the_statements_of_a_computation(con):
    counting = CountingConnection(con)
    compute(counting, ORG, many_goals(3))

    # schema and view, which marts exist, the company's fiscal year, the data span, then the
    # transaction: clear the organization, insert every value; last, the latest values.
    assert len(counting.statements) == 9
