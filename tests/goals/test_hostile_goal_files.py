"""Hostile goal files cost a moment and break only themselves: an alias bomb is refused in
well under a second and 100 MB, an oversized file is not read, aliases that share a small
value still work, and no target, however it compounds, is ever stored as an overflow."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from qb_pipeline.cli.goals import goals
from qb_pipeline.goals.definition import MAX_AMOUNT
from qb_pipeline.goals.loader import ALIAS_NODES_LIMIT, MAX_FILE_BYTES, load_file, load_goals
from tests.goals.conftest import goal, line
from tests.goals.hostile import alias_bomb

ROOT = Path(__file__).resolve().parents[2]
BAD = Path(__file__).parent / "bad"
# The child process: load one file, report time, the Python heap's peak and the RSS growth.
MEASURE = """
import json, resource, sys, time, tracemalloc
from pathlib import Path
from qb_pipeline.goals.loader import load_file
path = Path(sys.argv[1])
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
started = time.perf_counter()
goals, problems = load_file(path)
seconds = time.perf_counter() - started
peak = tracemalloc.get_traced_memory()[1]
rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
print(json.dumps({"seconds": seconds, "peak_bytes": peak, "rss_growth_kb": rss_growth,
                  "goals": len(goals), "problems": [str(p) for p in problems]}))
"""
LIMIT_MEMORY = """
import resource
resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))  # a regression stays contained
"""


def measured_load(path: Path) -> dict:
    child = subprocess.run(
        [sys.executable, "-c", LIMIT_MEMORY + MEASURE, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    return json.loads(child.stdout)


@pytest.mark.parametrize("levels", [8, 9], ids=["43-million-strings", "387-million-strings"])
def test_an_alias_bomb_is_refused_in_well_under_a_second_and_100_mb(tmp_path, levels):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(levels))
    assert path.stat().st_size < 600

    measured = measured_load(path)

    assert measured["problems"] == [
        f"{path}:11: YAML aliases (*name) repeat more than {ALIAS_NODES_LIMIT:,} nodes in all "
        "(an alias bomb?); the file is not read"
    ]
    assert measured["goals"] == 0
    assert measured["seconds"] < 1.0
    assert measured["peak_bytes"] < 100 * 1024**2
    assert measured["rss_growth_kb"] < 100 * 1024


def test_the_bad_corpus_bomb_is_refused_as_fast():
    measured = measured_load(BAD / "alias_bomb.yaml")

    assert len(measured["problems"]) == 1
    assert (measured["seconds"], measured["goals"]) < (1.0, 1)
    assert measured["peak_bytes"] < 100 * 1024**2


def test_aliases_that_share_a_small_value_still_work(tmp_path):
    """Aliases are bounded, not banned: two goals may share one target."""
    path = tmp_path / "shared.yaml"
    path.write_text(
        "- id: north\n  name: North\n  organization: acme\n  dataset: profit_and_loss\n"
        "  grain: month\n  tracks: &income {line: {group: Income}}\n"
        "  target: &target {growth: {base: 1000, base_period: 2026-01-01, rate_pct: 2}}\n"
        "- id: south\n  name: South\n  organization: acme\n  dataset: profit_and_loss\n"
        "  grain: month\n  tracks: *income\n  target: *target\n"
    )

    goals, problems = load_file(path)

    assert problems == []
    assert [g.goal.id for g in goals] == ["north", "south"]
    assert goals[0].goal.target == goals[1].goal.target
    assert goals[1].goal.target.growth.rate_pct == 2


def test_a_file_pyyaml_dumped_with_shared_values_loads(tmp_path):
    """PyYAML's dumper writes an anchor and aliases for every value it meets twice: a
    thousand goals sharing their `tracks` and `target` stay well inside the bound."""
    tracks, target = {"line": {"group": "Income"}}, {"value": 1500}
    goals = [
        {"id": f"g{i}", "name": f"Goal {i}", "organization": "acme",
         "dataset": "profit_and_loss", "grain": "month", "tracks": tracks, "target": target}
        for i in range(1000)
    ]  # fmt: skip
    path = tmp_path / "dumped.yaml"
    path.write_text(yaml.safe_dump(goals, sort_keys=False))
    assert path.read_text().count("*id") == 2 * 999

    loaded, problems = load_file(path)

    assert problems == []
    assert len(loaded) == 1000
    assert {s.goal.target.value for s in loaded} == {1500}


def test_a_file_larger_than_a_goal_file_may_be_is_not_read(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * MAX_FILE_BYTES + "\n")

    goals, problems = load_file(path)

    assert goals == []
    assert [str(p) for p in problems] == [
        f"{path}: is {MAX_FILE_BYTES + 3:,} bytes, larger than a goal file may be "
        f"({MAX_FILE_BYTES:,} bytes); the file is not read"
    ]


def test_a_hostile_file_never_costs_the_good_files_beside_it(tmp_path):
    (tmp_path / "good.yaml").write_text(
        "id: income\nname: Income\norganization: acme\ndataset: profit_and_loss\n"
        "grain: month\ntracks: {line: {group: Income}}\n"
    )
    for bad in ("alias_bomb", "impossible_dates", "recursive_alias", "number_too_long"):
        (tmp_path / f"{bad}.yaml").write_text((BAD / f"{bad}.yaml").read_text())

    loaded = load_goals([tmp_path])

    assert [s.goal.id for s in loaded.goals] == ["income"]
    assert {Path(p.file).stem for p in loaded.errors} == {
        "alias_bomb", "impossible_dates", "recursive_alias", "number_too_long"
    }  # fmt: skip


def test_a_growth_target_compounded_past_the_bound_is_no_target_never_an_overflow(values, con):
    """1000% a month from January 2000: by 2025 power() overflows to inf. Every amount a
    goal names is within ±1e15, so those periods have no target instead."""
    compounding = goal(
        tracks=line("Income"),
        target={"growth": {"base": 1000, "base_period": "2000-01-01", "rate_pct": 1000}},
    )

    rows = values(compounding)

    assert len(rows) == 17  # 2025-04 .. 2026-08
    assert [target for _, target, _ in rows.values()] == [None] * 17
    # no_target wherever there is data (July 2026 has none: no_data comes first)
    assert {status for actual, _, status in rows.values() if actual is not None} == {"no_target"}
    stored = con.execute("SELECT target FROM marts.goal_values WHERE goal_id = 'g'").fetchall()
    assert all(t is None or (math.isfinite(t) and abs(t) <= MAX_AMOUNT) for (t,) in stored)


def test_a_growth_target_within_the_bound_is_kept_up_to_it(values):
    """The same rule keeps every target up to 1e15: 100% a quarter from 1e14 doubles to
    2e14, 4e14, 8e14, then passes the bound."""
    doubling = goal(
        tracks=line("Income"),
        grain="quarter",
        target={"growth": {"base": 1e14, "base_period": "2025-04-01", "rate_pct": 100}},
    )

    targets = [target for _, target, _ in values(doubling).values()]

    assert targets[:4] == [1e14, 2e14, 4e14, 8e14]
    assert targets[4:] == [None] * len(targets[4:])


def test_goals_validate_names_each_hostile_file_on_one_line_and_exits_1(tmp_path):
    names = ("impossible_dates", "alias_bomb", "recursive_alias", "number_too_long")
    env = {"QBP_HOME": str(tmp_path / "home"), "QBO_ENVIRONMENT": "emulator",
           "QBO_EMULATOR_URL": "http://127.0.0.1:9"}  # fmt: skip
    result = CliRunner().invoke(
        goals, ["validate", *(str(BAD / f"{n}.yaml") for n in names)], env=env
    )

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    problems = result.stderr.splitlines()
    expected = [
        line.removeprefix("# expect: ").replace("{file}", str(BAD / f"{name}.yaml"))
        for name in names
        for line in (BAD / f"{name}.yaml").read_text().splitlines()
        if line.startswith("# expect: ")
    ]
    assert sorted(problems) == sorted(expected)
    assert "4 file(s), 1 goal(s): 0 valid, 5 error(s)" in result.stdout
