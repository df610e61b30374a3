"""Benchmark: the Dagster code location loaded with 1,000 goal files (target < 5 s).

Writes `--files` valid goal files (one goal each, organization `demo`, accounts and lines
of the emulator's demo company, every dataset, grain, window, tracked kind and target
rule) into a temporary folder, points QBP_GOALS_DIR at it, and loads the code location in
a fresh Python process the way a code server does for `dagster dev` and `dg check defs`:

1. import `qb_pipeline.defs.definitions` (Dagster, dlt and the staging models are imported,
   the goal files read and validated, the goal multi-asset built);
2. `defs.get_repository_def()` (asset graph, jobs and checks resolved);
3. `RepositorySnap.from_def(...)` serialized (what the code server sends the webserver).

The same is done with an empty goal folder, so the difference is the goals' share. The
child also times reading the goal files and building the goal assets once more on their
own, after the timed load. Each case runs `--repeat` times (a new process each); the figures
are medians. "loaded" is the headline: wall time from spawning the child to its snapshot
being ready (interpreter start-up included, the breakdown excluded); "CPU" is the child's CPU
time up to the same point.
With `--dg`, `dg check defs` is also timed end to end on both folders.

    .venv/bin/python bench/code_location_bench.py [--files 1000] [--repeat 3] [--dg]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qb_pipeline.goals.lines import line_groups  # noqa: E402
from qb_pipeline.goals.loader import load_goals  # noqa: E402
from qb_pipeline.sandbox import CHART  # noqa: E402

ORG = "demo"
TARGET_SECONDS = 5.0

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

from qb_pipeline.defs.goals.assets import build_goal_assets, load_goal_definitions
from qb_pipeline.defs.quickbooks.assets import mart_keys
again = time.perf_counter()
goals = load_goal_definitions()
read = time.perf_counter()
build_goal_assets(goals, mart_keys)
built = time.perf_counter()
print(json.dumps({
    "import": imported - started,
    "resolve": resolved - imported,
    "snapshot": snapped - resolved,
    "total": snapped - started,
    "cpu": cpu,
    "loaded": loaded,
    "read_goal_files": read - again,
    "build_goal_assets": built - read,
    "goal_assets": sum(1 for k in repo.asset_graph.get_all_asset_keys() if k.path[0] == "goals"),
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


def goal_data(n: int, pnl: list[str], balance: list[str]) -> dict:
    """Goal number `n`: cycles through datasets, tracked kinds, grains, windows and rules."""
    grains, windows = ("month", "quarter", "year"), ("period", "fiscal_ytd", "trailing_12_months")
    goal: dict = {
        "id": f"bench-{n:05d}",
        "name": f"Bench goal {n}",
        "organization": ORG,
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


def write_goal_files(folder: Path, count: int) -> None:
    """`count` goal files, checked with the project's loader before anything is timed."""
    pnl, balance = account_ids()
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        text = yaml.safe_dump(goal_data(n, pnl, balance), sort_keys=False)
        (folder / f"bench-{n:05d}.yaml").write_text(text)
    loaded = load_goals([folder])
    if loaded.errors or len(loaded.goals) != count:
        raise SystemExit(f"generated goal files do not load cleanly: {loaded.errors[:3]}")


def child_env(goals_folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env |= {
        "QBP_GOALS_DIR": str(goals_folder),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "PYTHONPATH": str(ROOT),
    }
    return env


def load_once(goals_folder: Path) -> dict:
    """One code-location load in a fresh process: the child's phases and its wall time."""
    started, cpu_before = time.perf_counter(), children_cpu()
    env = child_env(goals_folder) | {"QBP_BENCH_SPAWNED_AT": repr(time.time())}
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


def dg_check_once(goals_folder: Path) -> tuple[float, float]:
    """`dg check defs` end to end (it loads the code location in a process of its own)."""
    env = child_env(goals_folder) | {"VIRTUAL_ENV": str(Path(sys.executable).parent.parent)}
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
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dg", action="store_true", help="also time `dg check defs`")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "no-goals", Path(tmp) / "goals"
        empty.mkdir()
        started = time.perf_counter()
        write_goal_files(full, args.files)
        written = time.perf_counter() - started
        print(f"{args.files:,} goal files written and checked in {written:.1f} s")
        cases = {"0 goal files": empty, f"{args.files:,} goal files": full}
        results = {}
        for label, folder in cases.items():
            results[label] = median_of([load_once(folder) for _ in range(args.repeat)])
        dg_runs = {}
        if args.dg:
            for label, folder in cases.items():
                runs = [dg_check_once(folder) for _ in range(args.repeat)]
                dg_runs[label] = tuple(statistics.median(r[i] for r in runs) for i in (0, 1))
    report(results, dg_runs, args.files, args.repeat)


def report(
    results: dict[str, dict], dg_runs: dict[str, tuple[float, float]], files: int, repeat: int
) -> None:
    print(f"median of {repeat} fresh processes; load average {os.getloadavg()[0]:.1f}")
    print()
    header = (
        f"{'case':<18}{'goal assets':>12}{'checks':>8}{'import s':>10}{'resolve s':>11}"
        f"{'snapshot s':>12}{'total s':>9}{'loaded s':>10}{'CPU s':>7}{'loaded/target':>15}"
    )
    print(header)
    print("-" * len(header))
    for label, r in results.items():
        print(
            f"{label:<18}{int(r['goal_assets']):>12,}{int(r['checks']):>8,}{r['import']:>10.2f}"
            f"{r['resolve']:>11.2f}{r['snapshot']:>12.2f}{r['total']:>9.2f}{r['loaded']:>10.2f}"
            f"{r['cpu']:>7.2f}{r['loaded'] / TARGET_SECONDS:>15.2f}"
        )
    base, goals = results.values()
    print()
    print(
        f"the goals' share: {goals['total'] - base['total']:.2f} s wall, "
        f"{goals['cpu'] - base['cpu']:.2f} s CPU (on their own: reading the "
        f"files {goals['read_goal_files']:.2f} s, building the goal assets "
        f"{goals['build_goal_assets']:.2f} s); snapshot {goals['snapshot_mb']:.1f} MB "
        f"vs {base['snapshot_mb']:.1f} MB"
    )
    for label, (wall, cpu) in dg_runs.items():
        print(f"dg check defs, {label}: {wall:.2f} s wall, {cpu:.2f} s CPU")
    worst = goals["loaded"]
    verdict = "ok" if worst < TARGET_SECONDS else "over the target"
    print(f"target < {TARGET_SECONDS:.0f} s with {files:,} goal files: {worst:.2f} s, {verdict}")
    if worst >= TARGET_SECONDS:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
