"""A corpus of bad goal files, each carrying the exact problems expected (`# expect:`)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from qb_pipeline.goals.validate import validate_paths

BAD = Path(__file__).parent / "bad"
FILES = sorted(BAD.glob("*.yaml"))


def expected_problems(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        line.removeprefix("# expect: ").replace("{file}", str(path))
        for line in lines
        if line.startswith("# expect: ")
    ]


def test_the_corpus_covers_every_kind_of_mistake():
    names = {f.stem for f in FILES}

    assert {
        "wrong_types",
        "unknown_dataset",
        "unknown_account",
        "bad_formula_syntax",
        "duplicate_ids",
        "yaml_syntax_error",
        "impossible_dates",
        "absurd_targets",
        "alias_bomb",
        "recursive_alias",
        "nested_too_deep",
        "number_too_long",
    } <= names
    assert all(expected_problems(f) for f in FILES)


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_bad_goal_file_reports_exactly_the_expected_problems(path, warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        report = validate_paths([path], con)

    assert sorted(str(p) for p in report.problems) == sorted(expected_problems(path))
    assert all(p.is_error for p in report.problems)


def test_one_bad_goal_never_stops_the_others(tmp_path, warehouse):
    (tmp_path / "good.yaml").write_text(
        "id: monthly-income\nname: Income\norganization: acme\ndataset: profit_and_loss\n"
        "grain: month\ntracks: {line: {group: Income}}\n"
    )
    for bad in FILES:
        (tmp_path / bad.name).write_text(bad.read_text())

    with duckdb.connect(str(warehouse), read_only=True) as con:
        report = validate_paths([tmp_path], con)

    # The good goal, and the first of the two goals sharing an id, are computable.
    assert sorted((s.goal.id, Path(s.file).name) for s in report.goals) == [
        ("monthly-income", "good.yaml"),
        ("revenue", "duplicate_ids.yaml"),
    ]
    assert len(report.errors) == sum(len(expected_problems(f)) for f in FILES)
