"""The example goals of goal_models/demo fit the demo company's chart and compute."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from qb_pipeline.goals.compute import compute
from qb_pipeline.goals.periods import add_months, month_end
from qb_pipeline.goals.validate import validate_paths
from qb_pipeline.sandbox import CHART

DEMO_GOALS = Path(__file__).resolve().parents[2] / "goal_models" / "demo"
PNL_GROUPS = {
    "Income": "Income",
    "Cost of Goods Sold": "COGS",
    "Expense": "Expenses",
    "Other Income": "OtherIncome",
    "Other Expense": "OtherExpenses",
}
BS_GROUPS = {
    "Bank": "BankAccounts",
    "Accounts Receivable": "AR",
    "Other Current Asset": "OtherCurrentAssets",
    "Accounts Payable": "AP",
    "Credit Card": "CreditCards",
}


def demo_marts(con: duckdb.DuckDBPyConnection) -> None:
    """The demo company's chart (ids 1..N in chart order, as the emulator numbers them),
    with 100 on every P&L account and 1000 on every current balance each month of 2025-26."""
    from tests.goals.company import CREATE_MARTS

    con.execute(CREATE_MARTS)
    ids = {spec.key: str(n) for n, spec in enumerate(CHART, start=1)}
    months = [add_months(date(2025, 1, 1), n) for n in range(22)]
    for spec in CHART:
        name = spec.name + (" (deleted)" if spec.deleted else "")
        con.execute(
            "INSERT INTO marts.accounts (org_id, realm_id, account_id, name, "
            "fully_qualified_name, account_type, classification, parent_account_id, active) "
            "VALUES ('demo', 'r', ?, ?, ?, ?, ?, ?, ?)",
            [ids[spec.key], name, name, spec.account_type, spec.classification,
             ids.get(spec.parent or ""), spec.active],
        )  # fmt: skip
        for month in months:
            if spec.account_type in PNL_GROUPS and spec.active:
                for basis in ("accrual", "cash"):
                    con.execute(
                        "INSERT INTO marts.pnl_monthly VALUES "
                        "('demo', 'r', ?, ?, ?, ?, ?, 100, 'USD')",
                        [basis, month, ids[spec.key], name, PNL_GROUPS[spec.account_type]],
                    )
            if spec.account_type in BS_GROUPS:
                con.execute(
                    "INSERT INTO marts.balance_sheet_monthly VALUES "
                    "('demo', 'r', 'accrual', ?, ?, ?, ?, 1000, 'USD')",
                    [month_end(month), ids[spec.key], name, BS_GROUPS[spec.account_type]],
                )


def test_demo_goals_validate_against_the_demo_chart_and_compute(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        demo_marts(con)
        report = validate_paths([DEMO_GOALS], con)
        result = compute(con, "demo", [s.goal for s in report.goals], fiscal_year_start_month=1)
        periods = dict(
            con.execute("SELECT goal_id, count(*) FROM marts.goal_values GROUP BY 1").fetchall()
        )

    assert report.problems == []
    assert result.goals == len(report.goals) >= 10
    assert set(periods) == {s.goal.id for s in report.goals}
    # Utilities (35) with its two sub-accounts: 3 x 100 every month.
    assert result.latest["utilities-spend"].actual == 300
    assert result.latest["checking-balance"].actual == 1000
