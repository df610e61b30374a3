"""Goal files: loading, the rules between fields, and checks against the imported data."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.loader import load_goals, parse_goal
from qb_pipeline.goals.validate import validate_paths

REVENUE = """\
id: revenue
name: Revenue
organization: acme
dataset: profit_and_loss
tracks:
  line:
    group: Income
grain: month
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def issues_of(**changes) -> list[str]:
    data = yaml.safe_load(REVENUE) | changes
    _goal, issues = parse_goal(data)
    return [f"{i.field}: {i.message}" for i in issues]


def test_a_file_holds_one_goal_or_a_list(tmp_path):
    write(tmp_path, "one.yaml", REVENUE)
    listed = REVENUE.replace("id: revenue", "id: other")
    write(tmp_path, "sub/many.yml", "- " + listed.replace("\n", "\n  ").rstrip() + "\n")

    loaded = load_goals([tmp_path])

    assert [(s.goal.id, Path(s.file).name, s.index) for s in loaded.goals] == [
        ("revenue", "one.yaml", None),
        ("other", "many.yml", 0),
    ]
    assert loaded.problems == []


def test_defaults_and_derived_aggregation():
    goal = GoalDefinition.model_validate(yaml.safe_load(REVENUE))

    assert (goal.basis, goal.window, goal.direction, goal.at_risk_threshold_pct) == (
        "accrual",
        "period",
        "increase",
        10,
    )
    assert goal.aggregation == "sum"
    balance = goal.model_copy(update={"dataset": "balance_sheet"})
    assert balance.aggregation == "period_end"


def test_numeric_ids_are_read_as_quickbooks_ids():
    goal, issues = parse_goal(yaml.safe_load(REVENUE) | {"tracks": {"account": {"account_id": 13}}})

    assert issues == []
    assert goal.tracks.account.account_id == "13"


def test_a_goal_round_trips_through_yaml():
    data = yaml.safe_load(REVENUE) | {
        "target": {"per_period": {"2026-04-01": 100.5}},
        "filters": {"class_id": "C1"},
    }
    goal = GoalDefinition.model_validate(data)

    again = GoalDefinition.model_validate(yaml.safe_load(yaml.safe_dump(goal.to_yaml_data())))

    assert again == goal


def test_empty_files_missing_paths_and_unreadable_text(tmp_path):
    write(tmp_path, "empty.yaml", "# nothing yet\n")
    loaded = load_goals([tmp_path, tmp_path / "missing"])

    assert [str(p) for p in loaded.problems] == [
        f"{tmp_path / 'missing'}: no such file or folder",
        f"{tmp_path / 'empty.yaml'}: is empty; expected a goal (a mapping) or a list of goals",
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"filters": {"class_id": "C1", "department_id": "D1"}},
            "filters: sets both class_id and department_id; set one of them (imported "
            "amounts are split by one dimension at a time)",
        ),
        (
            {
                "dataset": "balance_sheet",
                "tracks": {"account": {"account_id": "1"}},
                "filters": {"class_id": "C1"},
            },
            "filters: apply to profit_and_loss only; this goal reads balance_sheet",
        ),
        (
            {
                "dataset": "balance_sheet",
                "tracks": {"account": {"account_id": "1"}},
                "window": "fiscal_ytd",
            },
            "window: 'fiscal_ytd' does not apply to balance_sheet goals: a balance is read at "
            "the end of each period; use 'period'",
        ),
        (
            {"band": {"low": 1, "high": 2}},
            "band: only applies to direction 'maintain' (this goal's direction is 'increase')",
        ),
        (
            {"direction": "maintain", "band": {"low": 1, "high": 2}, "target": {"value": 1}},
            "target: is not used with band: a maintain goal with a band is on track inside the "
            "band; remove target or replace band with tolerance_pct",
        ),
        (
            {"direction": "maintain", "tolerance_pct": 5},
            "target: is required with tolerance_pct (the band is target ± tolerance)",
        ),
        (
            {"direction": "maintain", "tolerance_pct": 5, "band": {"low": 1, "high": 2}},
            "tolerance_pct: cannot be combined with band; give band {low, high} or tolerance_pct",
        ),
        (
            {"direction": "maintain", "band": {"low": 5, "high": 2}},
            "band: low (5) must not be above high (2)",
        ),
        (
            {"target": {"per_period": {"2026-04-15": 1}}},
            "target.per_period.2026-04-15: '2026-04-15' is not the first day of a month",
        ),
        (
            {"target": {"growth": {"base": 100, "rate_pct": 5}}},
            "target.growth.base_period: is required when base is a number (the period whose "
            "target it is)",
        ),
        (
            {
                "target": {
                    "growth": {
                        "base": "previous_period",
                        "base_period": "2026-01-01",
                        "rate_pct": 5,
                    }
                }
            },
            "target.growth.base_period: is only used with a numeric base, not with "
            "'previous_period'",
        ),
        (
            {"target": {"growth": {"base": "last_year", "rate_pct": 5}}},
            "target.growth.base: must be a number or one of previous_period, same_period_last_year",
        ),
        (
            {"target": {"value": 1, "per_period": {"2026-04-01": 1}}},
            "target: needs exactly one of value, per_period, growth, budget"
            " (found: value, per_period)",
        ),
        ({"at_risk_threshold_pct": 120}, "at_risk_threshold_pct: 120 must be between 0 and 100"),
        (
            {"id": "Revenue Goal"},
            "id: 'Revenue Goal' is not a valid goal id; use 1-64 of a-z, "
            "0-9, '-' and '_', starting with a-z or 0-9",
        ),
        ({"name": "  "}, "name: must not be empty"),
        (
            {
                "tracks": {
                    "formula": {
                        "expression": "a / b",
                        "items": {
                            "a": {"line": {"group": "Income"}},
                            "B": {"line": {"group": "COGS"}},
                        },
                    }
                }
            },
            "tracks.formula.items.B: 'B' is not a valid item name; use a-z, 0-9 and '_', not "
            "starting with a digit",
        ),
        (
            {"tracks": {"formula": {"expression": "a", "items": {"a": {}}}}},
            "tracks.formula.items.a: needs exactly one of account, line (found: none)",
        ),
        (
            {"dataset": "balance_sheet", "tracks": {"line": {"group": "NetIncome"}}},
            "tracks.line.group: 'NetIncome' is not a balance_sheet line (lines are named by "
            "QuickBooks' group key, not by their label); allowed: TotalAssets, CurrentAssets, "
            "BankAccounts, AR, OtherCurrentAssets, FixedAssets, OtherAssets, "
            "TotalLiabilitiesAndEquity, Liabilities, CurrentLiabilities, AP, CreditCards, "
            "OtherCurrentLiabilities, LongTermLiabilities, Equity",
        ),
    ],
)
def test_rules_between_fields(changes, expected):
    assert issues_of(**changes) == [expected]


def test_problems_point_at_the_line_of_the_field(tmp_path):
    path = write(tmp_path, "g.yaml", REVENUE.replace("group: Income", "group: Revenue"))

    [problem] = load_goals([path]).problems

    assert (problem.line, problem.field, problem.goal) == (7, "tracks.line.group", "'revenue'")


def test_a_deleted_account_is_a_warning_and_the_goal_is_still_computed(tmp_path, warehouse):
    path = write(
        tmp_path,
        "sponsorships.yaml",
        REVENUE.replace("line:\n    group: Income", "account:\n    account_id: '70'"),
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        report = validate_paths([path], con)

    assert [str(p) for p in report.problems] == [
        f"{path}:7: warning: goal 'revenue': tracks.account.account_id: '70' (Event "
        "Sponsorships (deleted)) was deleted in QuickBooks; its history is kept and later "
        "periods read 0"
    ]
    assert [s.goal.id for s in report.goals] == ["revenue"]
    assert report.errors == []


def test_an_inactive_account_is_a_warning(tmp_path, warehouse):
    path = write(
        tmp_path,
        "old.yaml",
        REVENUE.replace("line:\n    group: Income", "account: {account_id: '45'}"),
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        report = validate_paths([path], con)

    assert [p.message for p in report.warnings] == ["'45' (Old Software) is inactive in QuickBooks"]


def test_formula_items_are_checked_against_the_data(tmp_path, warehouse):
    text = REVENUE.replace(
        "tracks:\n  line:\n    group: Income\n",
        "tracks:\n  formula:\n    expression: a / b\n    items:\n"
        "      a: {account: {account_id: '999'}}\n"
        "      b: {line: {group: OperatingActivities}, dataset: cash_flow}\n",
    )
    path = write(tmp_path, "f.yaml", text)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        report = validate_paths([path], con)

    assert [(p.field, p.line) for p in report.problems] == [
        ("tracks.formula.items.b.dataset", 10),
    ]


def test_formula_item_accounts_are_checked_against_the_chart(tmp_path, warehouse):
    text = REVENUE.replace(
        "tracks:\n  line:\n    group: Income\n",
        "tracks:\n  formula:\n    expression: a / b\n    items:\n"
        "      a: {account: {account_id: '999'}}\n"
        "      b: {line: {group: Income}}\n",
    )
    path = write(tmp_path, "f.yaml", text)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        report = validate_paths([path], con)

    assert [(p.field, p.line) for p in report.problems] == [
        ("tracks.formula.items.a.account.account_id", 9),
    ]


def test_without_a_warehouse_only_the_schema_and_rules_are_checked(tmp_path):
    path = write(tmp_path, "g.yaml", REVENUE.replace("organization: acme", "organization: nobody"))

    report = validate_paths([path])

    assert report.problems == []
    assert not report.checked_data


def test_the_demo_goals_are_valid():
    root = Path(__file__).resolve().parents[2] / "goal_models"

    loaded = load_goals([root])

    assert loaded.problems == []
    assert {s.goal.organization for s in loaded.goals} == {"demo"}
    assert len(loaded.goals) >= 8
