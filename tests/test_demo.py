"""The README's main command: runs from nothing, twice, and shows the connected company."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

QB_PIPELINE = Path(sys.executable).with_name("qb-pipeline")


def run_demo(cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QBP_", "QBO_"))}
    env["QBP_GOALS_DIR"] = str(Path(__file__).parents[1] / "goal_models")  # as bin/demo sets it
    return subprocess.run(
        [str(QB_PIPELINE), "demo", "--today", "2026-11-15"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_demo_connects_syncs_and_can_run_again(tmp_path):
    first = run_demo(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Harbor & Pine Outfitters" in first.stdout
    assert "Alder Creek Landscaping" in first.stdout  # every served company is listed
    assert "QuickBooks:          connected" in first.stdout
    assert "Connected 'demo' to Harbor & Pine Outfitters" in first.stdout
    assert "Imported " in first.stdout
    assert "succeeded" in first.stdout.split("Last sync:", 1)[1].splitlines()[0]
    assert "marts.pnl_monthly, accrual" in first.stdout
    # The goal files are applied into the store, and a goal made through the API computes
    # by itself (dagster dev's run queue), "computing" first.
    assert "+ demo/revenue-monthly" in first.stdout
    assert "(goal_models/demo/revenue.yaml)" in first.stdout
    assert "POST " in first.stdout
    assert "goal 'net-income-quarterly' version 1, computing=True" in first.stdout
    assert "It computed by itself in " in first.stdout
    goals = first.stdout.split("QuickBooks Goals (marts.goal_values)", 1)[1]
    assert "Quarterly net income" in goals
    assert "Gross margin %" in goals
    assert "Monthly revenue" in goals
    for status in ("on_track", "at_risk", "off_track", "no_target", "no_data"):
        if status in goals:
            break
    else:
        raise AssertionError(f"no goal status in:\n{goals}")
    assert (tmp_path / ".qbp" / "serving" / "demo.duckdb").exists()
    home = tmp_path / ".qbp"
    assert (home / "control.sqlite3").exists()
    assert (home / "secret.key").stat().st_mode & 0o077 == 0
    password = (home / "demo-admin-password").read_text().strip()
    assert (home / "demo-admin-password").stat().st_mode & 0o077 == 0
    assert password not in first.stdout + first.stderr

    second = run_demo(tmp_path)
    assert second.returncode == 0, second.stderr
    assert "QuickBooks:          connected" in second.stdout
    assert "= demo/revenue-monthly" in second.stdout  # applied again: unchanged
    assert "goal 'net-income-quarterly' version 2, computing=True" in second.stdout
    assert "It computed by itself in " in second.stdout
    assert (home / "demo-admin-password").read_text().strip() == password
