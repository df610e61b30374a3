"""Benchmark: goals computed from the goal store, set-based, one organization at a time.

Two figures, each with its target (issue 10):
- one organization's 100 goals x 36 months recomputed, from reading them in the store to the
  values, the history and the goal catalog stored: median < 300 ms;
- 100,000 goals x 36 months in one pass: < 5 s and < 1 GB peak (measured in a child process
  of its own, so the peak is the computation's).

Also times loading and validating 1,000 goal files (what `goals apply` reads).

Builds a warehouse in a temporary folder with the marts of one organization (the emulator's
chart of 49 accounts, 36 months, accrual and cash, three classes and two departments, a
monthly balance sheet), then 10,000 goals cycling through every kind: accounts with and
without sub-accounts, every P&L and balance-sheet line, formulas, class and department
filters, three grains, three windows and every target rule. Prints the figures.

    bench/run goals [--org-goals 100] [--goals 100000] [--months 36] [--repeat 3] [--files 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import yaml
from cryptography.fernet import Fernet

from qb_pipeline.config import load_settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.goals.compute import compute
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.lines import line_groups
from qb_pipeline.goals.loader import load_goals
from qb_pipeline.goals.periods import add_months
from qb_pipeline.goals.store import GoalStore
from qb_pipeline.goals.validate import validate_loaded
from qb_pipeline.sandbox import CHART

ORG = "bench"
REALM = "r1"
ORG_TARGET_SECONDS = 0.3
ALL_TARGET_SECONDS = 5.0
ALL_TARGET_BYTES = 1_000_000_000

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
    # The data runs through the 10th of the last month, so every goal's last period is in
    # progress and gets its pace (projection and pace status), as after a mid-month sync.
    con.execute(
        "CREATE TABLE marts.company AS SELECT $org AS org_id, 'r1' AS realm_id,"
        " '1' AS fiscal_year_start_month, CAST($last AS DATE) + 9 AS data_through",
        {"org": ORG, "last": params["last"]},
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
            "id": f"g{n:06d}",
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


def store_with_goals(folder: Path, goals: list[GoalDefinition]) -> GoalStore:
    """A control DB holding `goals` for organization `bench` (company r1)."""
    settings = load_settings(
        {
            "QBP_HOME": str(folder / "qbp-home"),
            "QBP_SECRET_KEY": Fernet.generate_key().decode(),
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": "http://127.0.0.1:9",
        }
    )
    service = IntegrationService(settings)
    service.create_org(ORG, "Bench Inc.")
    store = GoalStore(service.db_path)
    for goal in goals:
        store.create(goal, actor="bench@example.com", source="cli", realm_id=REALM)
    return store


def one_organization(folder: Path, count: int, months: int, repeat: int) -> list[float]:
    """Seconds per recomputation of one organization's `count` goals: read from the store,
    computed, stored with history and catalog (what the goal step does, minus Dagster)."""
    con = duckdb.connect(str(folder / "org-warehouse.duckdb"))
    build_marts(con, months)
    store = store_with_goals(folder, make_goals(count))
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        stored = store.list(ORG)
        goals = [s.definition for s in stored if s.is_active]
        result = compute(
            con, ORG, goals, fiscal_year_start_month=4, realm_id=REALM, stored_goals=stored
        )
        timings.append(time.perf_counter() - started)
        assert result.goals == count, result.skipped
    con.close()
    return timings


def all_goals_child(count: int, months: int) -> None:
    """In a child process: `count` goals in one pass; prints JSON figures."""
    with tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "warehouse.duckdb"))
        build_marts(con, months)
        started = time.perf_counter()
        goals = make_goals(count)
        modelled = time.perf_counter() - started
        started = time.perf_counter()
        result = compute(con, ORG, goals, fiscal_year_start_month=4, realm_id=REALM)
        seconds = time.perf_counter() - started
        statuses = dict(
            con.execute("SELECT status, count(*) FROM marts.goal_values GROUP BY 1").fetchall()
        )
        paces = dict(
            con.execute(
                "SELECT pace_status, count(*) FROM marts.goal_values"
                " WHERE pace_status IS NOT NULL GROUP BY 1"
            ).fetchall()
        )
        con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "modelled": modelled, "rows": result.rows,
                      "goals": result.goals, "peak": peak, "statuses": statuses,
                      "paces": paces}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--org-goals", type=int, default=100)
    parser.add_argument("--goals", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        all_goals_child(args.goals, args.months)
        return

    with tempfile.TemporaryDirectory() as folder:
        org = one_organization(Path(folder), args.org_goals, args.months, max(args.repeat, 10))
        con = duckdb.connect(str(Path(folder) / "warehouse.duckdb"))
        build_marts(con, args.months)
        loading = time_goal_files(Path(folder) / "goal_models", make_goals(args.files), con)
        con.close()
    median = statistics.median(org)
    print(
        f"one organization, {args.org_goals} goals x {args.months} months, store to values: "
        f"median {median * 1000:.0f} ms, best {min(org) * 1000:.0f} ms over {len(org)} runs; "
        f"target < {ORG_TARGET_SECONDS * 1000:.0f} ms: "
        f"{'meets' if median < ORG_TARGET_SECONDS else 'MISSES'} "
        f"({median / ORG_TARGET_SECONDS:.2f})"
    )
    runs = []
    for _ in range(args.repeat):
        child = subprocess.run(
            [sys.executable, __file__, "--child", "--goals", str(args.goals),
             "--months", str(args.months)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
    seconds = statistics.median(r["seconds"] for r in runs)
    peak = max(r["peak"] for r in runs)
    first = runs[0]
    print(
        f"{first['goals']:,} goals x {args.months} months in one pass: median {seconds:.2f} s "
        f"over {len(runs)} runs (modelled in {first['modelled']:.2f} s), {first['rows']:,} rows, "
        f"peak {peak / 1e6:.0f} MB"
    )
    print("statuses: " + ", ".join(f"{s} {n:,}" for s, n in sorted(first["statuses"].items())))
    paces = sorted(first["paces"].items())
    print("pace of the periods in progress: " + ", ".join(f"{s} {n:,}" for s, n in paces))
    print(
        f"target < {ALL_TARGET_SECONDS:.0f} s and < {ALL_TARGET_BYTES / 1e9:.0f} GB: "
        f"{'meets' if seconds < ALL_TARGET_SECONDS and peak < ALL_TARGET_BYTES else 'MISSES'} "
        f"({seconds / ALL_TARGET_SECONDS:.2f} of the time, "
        f"{peak / ALL_TARGET_BYTES:.2f} of the memory)"
    )
    loaded, validated, valid = loading
    print(
        f"{args.files:,} goal files: loaded {loaded:.2f} s, validated against the warehouse "
        f"{validated:.2f} s ({valid:,} valid)"
    )


if __name__ == "__main__":
    main()
