"""Benchmark: 10,000 goals x 36 months computed in one pass (target < 2 s).

Also times loading and validating 1,000 goal files (the goal part of loading the code
location with 1,000 goal files, whose target is < 5 s).

Builds a warehouse in a temporary folder with the marts of one organization (the emulator's
chart of 49 accounts, 36 months, accrual and cash, three classes and two departments, a
monthly balance sheet), then 10,000 goals cycling through every kind: accounts with and
without sub-accounts, every P&L and balance-sheet line, formulas, class and department
filters, three grains, three windows and every target rule. Prints the figures.

    .venv/bin/python bench/goals_bench.py [--goals 10000] [--months 36] [--repeat 3] [--files 1000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import yaml

from qb_pipeline.goals.compute import compute
from qb_pipeline.goals.lines import line_groups
from qb_pipeline.goals.loader import load_goals
from qb_pipeline.goals.model import GoalDefinition
from qb_pipeline.goals.periods import add_months
from qb_pipeline.goals.validate import validate_loaded
from qb_pipeline.sandbox import CHART

ORG = "bench"
TARGET_SECONDS = 2.0

PNL_GROUP = {
    "Income": "Income",
    "Cost of Goods Sold": "COGS",
    "Expense": "Expenses",
    "Other Income": "OtherIncome",
    "Other Expense": "OtherExpenses",
}
BS_GROUP = {
    "Bank": "BankAccounts",
    "Accounts Receivable": "AR",
    "Other Current Asset": "OtherCurrentAssets",
    "Fixed Asset": "FixedAssets",
    "Other Asset": "OtherAssets",
    "Accounts Payable": "AP",
    "Credit Card": "CreditCards",
    "Other Current Liability": "OtherCurrentLiabilities",
    "Long Term Liability": "LongTermLiabilities",
    "Equity": "Equity",
}


def build_marts(con: duckdb.DuckDBPyConnection, months: int) -> None:
    """The contract's marts for one organization, filled set-based from the chart."""
    ids = {spec.key: str(n) for n, spec in enumerate(CHART, start=1)}
    chart = [
        (
            ids[s.key],
            s.name,
            s.account_type,
            s.classification,
            ids[s.parent] if s.parent else None,
            s.active,
            PNL_GROUP.get(s.account_type),
            BS_GROUP.get(s.account_type),
        )
        for s in CHART
    ]
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE chart (account_id VARCHAR, name VARCHAR, account_type VARCHAR, "
        "classification VARCHAR, parent_account_id VARCHAR, active BOOLEAN, "
        "pnl_group VARCHAR, bs_group VARCHAR)"
    )
    con.executemany("INSERT INTO chart VALUES (?, ?, ?, ?, ?, ?, ?, ?)", chart)
    first = date(2024, 1, 1)
    con.execute(
        """
        CREATE TABLE marts.accounts AS
        SELECT $org AS org_id, 'r1' AS realm_id, account_id, name, name AS fully_qualified_name,
               account_type, '' AS account_sub_type, classification, parent_account_id, active,
               0::DECIMAL(18,2) AS current_balance, 'USD' AS currency,
               now() AS updated_at
        FROM chart
        """,
        {"org": ORG},
    )
    months_sql = (
        "SELECT unnest(generate_series($first::DATE, $last::DATE, INTERVAL 1 MONTH))::DATE AS month"
    )
    params = {"org": ORG, "first": first, "last": add_months(first, months - 1)}
    con.execute(
        f"""
        CREATE TABLE marts.pnl_monthly AS
        SELECT $org AS org_id, 'r1' AS realm_id, b.basis, m.month, c.account_id,
               c.name AS account_name, c.pnl_group AS report_group,
               (100 + hash(c.account_id, m.month, b.basis) % 5000)::DECIMAL(18,2) AS amount,
               'USD' AS currency
        FROM chart AS c, ({months_sql}) AS m, (VALUES ('accrual'), ('cash')) AS b(basis)
        WHERE c.pnl_group IS NOT NULL
        """,
        params,
    )
    con.execute(
        """
        CREATE TABLE marts.pnl_monthly_by_dimension AS
        SELECT p.org_id, p.realm_id, p.basis, p.month, p.account_id, d.dimension,
               d.dimension_id, d.dimension_name, (p.amount * d.share)::DECIMAL(18,2) AS amount
        FROM marts.pnl_monthly AS p,
             (VALUES ('class', 'c1', 'Retail', 0.5), ('class', 'c2', 'Wholesale', 0.3),
                     ('class', 'c3', 'Online', 0.2), ('department', 'd1', 'North', 0.6),
                     ('department', 'd2', 'South', 0.4))
                 AS d(dimension, dimension_id, dimension_name, share)
        """
    )
    con.execute(
        f"""
        CREATE TABLE marts.balance_sheet_monthly AS
        SELECT $org AS org_id, 'r1' AS realm_id, b.basis, last_day(m.month) AS month_end,
               c.account_id, c.name AS account_name, c.bs_group AS report_group,
               (1000 + hash(c.account_id, m.month, b.basis) % 90000)::DECIMAL(18,2) AS balance,
               'USD' AS currency
        FROM chart AS c, ({months_sql}) AS m, (VALUES ('accrual'), ('cash')) AS b(basis)
        WHERE c.bs_group IS NOT NULL
        """,
        params,
    )


def make_goals(count: int) -> list[GoalDefinition]:
    pnl_accounts = [
        str(n) for n, s in enumerate(CHART, 1) if s.classification in ("Revenue", "Expense")
    ]
    bs_accounts = [
        str(n) for n, s in enumerate(CHART, 1) if s.classification not in ("Revenue", "Expense")
    ]
    grains = ("month", "quarter", "year")
    windows = ("period", "fiscal_ytd", "trailing_12_months")
    goals = []
    for n in range(count):
        kind = n % 6
        base = {
            "id": f"g{n:05d}",
            "name": f"Goal {n}",
            "organization": ORG,
            "grain": grains[n % 3],
            "window": windows[(n // 3) % 3],
            "basis": ("accrual", "cash")[(n // 9) % 2],
            "at_risk_threshold_pct": 10,
        }
        if kind in (0, 1):
            base |= {
                "dataset": "profit_and_loss",
                "tracks": {
                    "account": {
                        "account_id": pnl_accounts[n % len(pnl_accounts)],
                        "include_subaccounts": kind == 1,
                    }
                },
            }
        elif kind == 2:
            groups = line_groups("profit_and_loss")
            base |= {
                "dataset": "profit_and_loss",
                "tracks": {"line": {"group": groups[n % len(groups)]}},
            }
            if n % 4 == 0:
                base["filters"] = {"class_id": ("c1", "c2", "c3")[n % 3]}
            elif n % 4 == 1:
                base["filters"] = {"department_id": ("d1", "d2")[n % 2]}
        elif kind == 3:
            groups = line_groups("balance_sheet")
            base |= {
                "dataset": "balance_sheet",
                "window": "period",
                "tracks": {"line": {"group": groups[n % len(groups)]}}
                if n % 2
                else {"account": {"account_id": bs_accounts[n % len(bs_accounts)]}},
            }
        else:
            base |= {
                "dataset": "profit_and_loss",
                "tracks": {
                    "formula": {
                        "expression": "(income - cogs) / income * 100",
                        "items": {
                            "income": {"line": {"group": "Income"}},
                            "cogs": {"line": {"group": "COGS"}},
                        },
                    }
                },
            }
        rule = n % 5
        if rule == 0:
            base |= {"target": {"value": 1000 + n}, "direction": "increase"}
        elif rule == 1:
            base |= {"target": {"growth": {"base": "previous_period", "rate_pct": 5}}}
        elif rule == 2:
            base |= {"direction": "maintain", "band": {"low": 500, "high": 5000}}
        elif rule == 3:
            base |= {"target": {"value": 2000}, "direction": "decrease"}
        goals.append(GoalDefinition.model_validate(base))
    return goals


def time_goal_files(
    folder: Path, goals: list[GoalDefinition], con: duckdb.DuckDBPyConnection
) -> tuple[float, float, int]:
    """Seconds to load `goals` written one per file, then to validate them against `con`."""
    (folder / ORG).mkdir(parents=True)
    for goal in goals:
        text = yaml.safe_dump(goal.to_yaml_data(), sort_keys=False)
        (folder / ORG / f"{goal.id}.yaml").write_text(text)
    started = time.perf_counter()
    loaded = load_goals([folder])
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = validate_loaded(loaded, con)
    return load_seconds, time.perf_counter() - started, len(report.goals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goals", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "warehouse.duckdb"))
        started = time.perf_counter()
        build_marts(con, args.months)
        setup = time.perf_counter() - started
        started = time.perf_counter()
        goals = make_goals(args.goals)
        modelled = time.perf_counter() - started
        timings = []
        result = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = compute(con, ORG, goals, fiscal_year_start_month=4)
            timings.append(time.perf_counter() - started)
        assert result is not None
        statuses = con.execute(
            "SELECT status, count(*) FROM marts.goal_values GROUP BY 1 ORDER BY 1"
        ).fetchall()
        loading = time_goal_files(Path(folder) / "goal_models", goals[: args.files], con)
        con.close()

    best, median = min(timings), statistics.median(timings)
    print(f"marts built in {setup:.2f} s; {args.goals:,} goals modelled in {modelled:.2f} s")
    print(f"goals computed: {result.goals:,}; rows written: {result.rows:,}; months: {args.months}")
    print(f"compute: best {best:.3f} s, median {median:.3f} s over {args.repeat} runs")
    print("statuses: " + ", ".join(f"{s} {n:,}" for s, n in statuses))
    loaded, validated, valid = loading
    print(
        f"{args.files:,} goal files: loaded {loaded:.2f} s, validated against the warehouse "
        f"{validated:.2f} s ({valid:,} valid)"
    )
    verdict = "meets" if median < TARGET_SECONDS else "MISSES"
    print(
        f"target < {TARGET_SECONDS:.0f} s: {verdict} ({median / TARGET_SECONDS:.2f} of the budget)"
    )


if __name__ == "__main__":
    main()
