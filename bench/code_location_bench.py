"""Benchmark: the Dagster code location loaded with 0 and with 100,000 stored goals
(target < 3.5 s for both, and no growth with the number of goals).

Goals are data in the goal store (the control DB), not assets: the code location must not
read them, so its load time cannot depend on how many there are. The benchmark builds two
QBP_HOMEs, one whose control DB holds no goal and one holding `--goals` goals (1,000
organizations of 100 goals each by default, every dataset, grain, window, tracked kind and
target rule), and loads the code location in a fresh Python process on each, the way a code
server does for `dagster dev` and `dg check defs`:

1. import `qb_pipeline.defs.definitions` (Dagster, dlt and the staging models are imported,
   the fixed goal multi-asset built);
2. `defs.get_repository_def()` (asset graph, jobs and checks resolved);
3. `RepositorySnap.from_def(...)` serialized (what the code server sends the webserver).

Each case runs `--repeat` times (a new process each); the figures are medians. "loaded" is
the headline: wall time from spawning the child to its snapshot being ready (interpreter
start-up included); "CPU" is the child's CPU time up to the same point. With `--dg`,
`dg check defs` is also timed end to end on both homes.

    bench/run location [--goals 100000] [--orgs 1000] [--repeat 3] [--dg]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qb_pipeline.goals.definition import GoalDefinition  # noqa: E402
from qb_pipeline.goals.lines import line_groups  # noqa: E402
from qb_pipeline.sandbox import CHART  # noqa: E402

TARGET_SECONDS = 3.5

# Runs in the child: one code-location load, timed by phase, printed as JSON.
CHILD = r"""
import json, os, time
started = time.perf_counter()
from qb_pipeline.defs.definitions import defs
imported = time.perf_counter()
repo = defs.get_repository_def()
resolved = time.perf_counter()
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster_shared.serdes import serialize_value
snapshot = serialize_value(RepositorySnap.from_def(repo))
snapped = time.perf_counter()
cpu = time.process_time()  # since the process started: interpreter start-up included
# From the parent's spawn to a snapshot ready to send: interpreter start-up included, and
# none of the breakdown below (it re-reads the files and rebuilds the assets).
loaded = time.time() - float(os.environ["QBP_BENCH_SPAWNED_AT"])

print(json.dumps({
    "import": imported - started,
    "resolve": resolved - imported,
    "snapshot": snapped - resolved,
    "total": snapped - started,
    "cpu": cpu,
    "loaded": loaded,
    "goal_assets": sum(
        1 for k in repo.asset_graph.get_all_asset_keys()
        if repo.asset_graph.get(k).group_name == "goals"
    ),
    "assets": len(repo.asset_graph.get_all_asset_keys()),
    "checks": len(repo.asset_graph.asset_check_keys),
    "snapshot_mb": len(snapshot) / 1e6,
}))
"""


def account_ids() -> tuple[list[str], list[str]]:
    """The demo company's profit-and-loss and balance-sheet account ids (the emulator numbers
    its chart from 1 in order, the same in every company)."""
    pnl = [str(n) for n, s in enumerate(CHART, 1) if s.classification in ("Revenue", "Expense")]
    balance = [
        str(n) for n, s in enumerate(CHART, 1) if s.classification not in ("Revenue", "Expense")
    ]
    return pnl, balance


def goal_data(n: int, org: str, pnl: list[str], balance: list[str]) -> dict:
    """Goal number `n`: cycles through datasets, tracked kinds, grains, windows and rules."""
    grains, windows = ("month", "quarter", "year"), ("period", "fiscal_ytd", "trailing_12_months")
    goal: dict = {
        "id": f"bench-{n:06d}",
        "name": f"Bench goal {n}",
        "organization": org,
        "grain": grains[n % 3],
        "window": windows[(n // 3) % 3],
        "basis": ("accrual", "cash")[(n // 9) % 2],
    }
    kind = n % 7
    if kind in (0, 1):
        account = {"account_id": pnl[n % len(pnl)], "include_subaccounts": kind == 1}
        goal |= {"dataset": "profit_and_loss", "tracks": {"account": account}}
    elif kind == 2:
        groups = line_groups("profit_and_loss")
        goal |= {
            "dataset": "profit_and_loss",
            "tracks": {"line": {"group": groups[n % len(groups)]}},
        }
    elif kind == 3:
        goal |= {
            "dataset": "balance_sheet",
            "window": "period",  # a balance is read at the period's end
            "tracks": {"account": {"account_id": balance[n % len(balance)]}},
        }
    elif kind == 4:
        groups = line_groups("balance_sheet")
        line = {"group": groups[n % len(groups)]}
        goal |= {"dataset": "balance_sheet", "window": "period", "tracks": {"line": line}}
    elif kind == 5:
        groups = line_groups("cash_flow")
        goal |= {"dataset": "cash_flow", "tracks": {"line": {"group": groups[n % len(groups)]}}}
    else:
        items = {
            "gross": {"line": {"group": "GrossProfit"}},
            "income": {"line": {"group": "Income"}},
        }
        formula = {"expression": "gross / income * 100", "items": items}
        goal |= {"dataset": "profit_and_loss", "tracks": {"formula": formula}}
    rule = n % 4
    if rule == 0:
        goal |= {"target": {"value": 1000 + n}, "direction": "increase"}
    elif rule == 1:
        goal |= {"target": {"growth": {"base": "previous_period", "rate_pct": 5}}}
    elif rule == 2:
        goal |= {"direction": "maintain", "band": {"low": 500, "high": 5000}}
    else:
        goal |= {"target": {"value": 2000}, "direction": "decrease", "at_risk_threshold_pct": 5}
    return goal


def home_with_goals(home: Path, goals: int, orgs: int) -> None:
    """A QBP_HOME whose control DB holds `goals` goals spread over `orgs` organizations,
    each a valid definition in the store's format. Written in one transaction with plain SQL
    (a benchmark's set-up; the product writes goals one change at a time through the store)."""
    from cryptography.fernet import Fernet

    from qb_pipeline.config import load_settings
    from qb_pipeline.connections import IntegrationService

    settings = load_settings(
        {
            "QBP_HOME": str(home),
            "QBP_SECRET_KEY": Fernet.generate_key().decode(),
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": "http://127.0.0.1:9",
        }
    )
    service = IntegrationService(settings)
    if not goals:
        return
    pnl, balance = account_ids()
    now = "2026-12-01T00:00:00+00:00"
    with sqlite3.connect(service.db_path) as conn:
        conn.executemany(
            "INSERT INTO organizations (slug, name, created_at) VALUES (?, ?, ?)",
            [(f"org-{o:04d}", f"Org {o}", now) for o in range(orgs)],
        )
        ids = dict(conn.execute("SELECT slug, id FROM organizations"))
        rows = []
        for n in range(goals):
            org = f"org-{n % orgs:04d}"
            definition = GoalDefinition.model_validate(goal_data(n, org, pnl, balance))
            rows.append(
                (ids[org], definition.id, "r1", "active", 1,
                 definition.model_dump_json(exclude_none=True), now, "bench", now, "bench")
            )  # fmt: skip
        conn.executemany(
            "INSERT INTO goals (org_id, goal_id, realm_id, state, version, definition,"
            " created_at, created_by, updated_at, updated_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        (stored,) = conn.execute("SELECT count(*) FROM goals").fetchone()
    if stored != goals:
        raise SystemExit(f"stored {stored} goals, not {goals}")


def child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env |= {
        "QBP_HOME": str(home),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "PYTHONPATH": str(ROOT),
    }
    return env


def load_once(home: Path) -> dict:
    """One code-location load in a fresh process: the child's phases and its wall time."""
    started, cpu_before = time.perf_counter(), children_cpu()
    env = child_env(home) | {"QBP_BENCH_SPAWNED_AT": repr(time.time())}
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"the code location did not load:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process"] = wall
    figures["process_cpu"] = cpu
    return figures


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dg_check_once(home: Path) -> tuple[float, float]:
    """`dg check defs` end to end (it loads the code location in a process of its own)."""
    env = child_env(home) | {"VIRTUAL_ENV": str(Path(sys.executable).parent.parent)}
    dg = Path(sys.executable).parent / "dg"
    started, cpu_before = time.perf_counter(), children_cpu()
    done = subprocess.run(
        [str(dg), "check", "defs"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"dg check defs failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, cpu


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goals", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dg", action="store_true", help="also time `dg check defs`")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "no-goals", Path(tmp) / "goals"
        home_with_goals(empty, 0, 0)
        started = time.perf_counter()
        home_with_goals(full, args.goals, args.orgs)
        print(f"{args.goals:,} goals of {args.orgs:,} organizations stored in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        cases = {"0 stored goals": empty, f"{args.goals:,} stored goals": full}
        results = {}
        for label, home in cases.items():
            results[label] = median_of([load_once(home) for _ in range(args.repeat)])
        dg_runs = {}
        if args.dg:
            for label, home in cases.items():
                runs = [dg_check_once(home) for _ in range(args.repeat)]
                dg_runs[label] = tuple(statistics.median(r[i] for r in runs) for i in (0, 1))
    report(results, dg_runs, args.repeat)


def report(results: dict[str, dict], dg_runs: dict[str, tuple[float, float]], repeat: int) -> None:
    print(f"median of {repeat} fresh processes; load average {os.getloadavg()[0]:.1f}")
    print()
    header = (
        f"{'case':<22}{'goal assets':>12}{'checks':>8}{'import s':>10}{'resolve s':>11}"
        f"{'snapshot s':>12}{'total s':>9}{'loaded s':>10}{'CPU s':>7}{'loaded/target':>15}"
    )
    print(header)
    print("-" * len(header))
    for label, r in results.items():
        print(
            f"{label:<22}{int(r['goal_assets']):>12,}{int(r['checks']):>8,}{r['import']:>10.2f}"
            f"{r['resolve']:>11.2f}{r['snapshot']:>12.2f}{r['total']:>9.2f}{r['loaded']:>10.2f}"
            f"{r['cpu']:>7.2f}{r['loaded'] / TARGET_SECONDS:>15.2f}"
        )
    base, goals = results.values()
    print()
    print(
        f"growth with the goals: {goals['loaded'] - base['loaded']:+.2f} s loaded, "
        f"{goals['cpu'] - base['cpu']:+.2f} s CPU; snapshot {goals['snapshot_mb']:.2f} MB "
        f"vs {base['snapshot_mb']:.2f} MB"
    )
    for label, (wall, cpu) in dg_runs.items():
        print(f"dg check defs, {label}: {wall:.2f} s wall, {cpu:.2f} s CPU")
    worst = max(base["loaded"], goals["loaded"])
    verdict = "ok" if worst < TARGET_SECONDS else "over the target"
    print(f"target < {TARGET_SECONDS:.1f} s for both: worst {worst:.2f} s, {verdict}")
    if worst >= TARGET_SECONDS:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
