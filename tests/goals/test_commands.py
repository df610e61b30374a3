"""`qb-pipeline goals validate|create|schema`, with a real control DB, a real connection to
the emulator and real imported data (the hand-made marts) in QBP_HOME."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml
from click.testing import CliRunner
from cryptography.fernet import Fernet

from qb_pipeline.config import load_settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.goals.commands import goals
from qb_pipeline.goals.loader import load_goals
from qb_pipeline.goals.schema import schema_text
from tests.connections.conftest import ADMIN, EDITOR, VIEWER, add_team, connect_company
from tests.goals.company import build_marts

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(emulator, tmp_path) -> dict[str, str]:
    return {
        "QBP_HOME": str(tmp_path / "home"),
        "QBP_SECRET_KEY": Fernet.generate_key().decode(),
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": emulator.url,
        "QBP_GOALS_DIR": str(tmp_path / "goal_models"),
    }


@pytest.fixture
def service(env) -> IntegrationService:
    built = IntegrationService(load_settings(env))
    add_team(built, "acme")
    return built


@pytest.fixture
def connected(service) -> IntegrationService:
    """acme connected to an emulator company, its data imported into the warehouse."""
    status = connect_company(service, "acme")
    with duckdb.connect(str(service.config.warehouse_path)) as con:
        build_marts(con, "acme", status.realm_id)
    return service


def run(env, *args: str):
    return CliRunner().invoke(goals, list(args), env=env)


def create(env, *extra: str, actor: str = EDITOR, name: str = "Monthly income"):
    return run(
        env, "create", "--org", "acme", "--as", actor, "--name", name,
        "--dataset", "profit_and_loss", "--grain", "month", *extra,
    )  # fmt: skip


def goal_files(env) -> list[Path]:
    return sorted(Path(env["QBP_GOALS_DIR"]).rglob("*.yaml"))


def refused(result, text: str, env) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: goal not created: ") or "Error: " in result.stderr
    assert text in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert goal_files(env) == []


def test_create_writes_a_validated_goal_and_prints_its_id(env, connected):
    result = create(env, "--line", "Income", "--target", "1500")

    assert result.exit_code == 0, result.output
    assert result.stdout == "monthly-income\n"
    [path] = goal_files(env)
    assert path == Path(env["QBP_GOALS_DIR"]) / "acme" / "monthly-income.yaml"
    [sourced] = load_goals([path]).goals
    goal = sourced.goal
    assert (goal.organization, goal.tracks.line.group, goal.target.value) == (
        "acme",
        "Income",
        1500,
    )
    assert goal.created_by == EDITOR
    assert "yaml-language-server: $schema=../schema/goal.schema.json" in path.read_text()


def test_create_an_account_goal_with_subaccounts(env, connected):
    result = create(
        env, "--account", "30", "--with-subaccounts", "--direction", "decrease",
        "--target", "500", "--window", "fiscal_ytd", "--basis", "cash", "--id", "utilities",
        name="Utilities",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    data = yaml.safe_load((Path(env["QBP_GOALS_DIR"]) / "acme" / "utilities.yaml").read_text())
    assert data["tracks"] == {"account": {"account_id": "30", "include_subaccounts": True}}
    assert (data["direction"], data["window"], data["basis"]) == ("decrease", "fiscal_ytd", "cash")


def test_an_admin_may_create_goals_too(env, connected):
    assert create(env, "--line", "Income", actor=ADMIN).exit_code == 0


def test_a_second_goal_with_the_same_name_gets_the_next_free_id(env, connected):
    first = create(env, "--line", "Income")
    second = create(env, "--line", "Income", "--grain", "quarter")

    assert (first.stdout, second.stdout) == ("monthly-income\n", "monthly-income-2\n")


def test_create_with_a_class_filter(env, connected):
    result = create(env, "--line", "Income", "--class", "C1", "--id", "retail")

    assert result.exit_code == 0, result.output
    [sourced] = load_goals(goal_files(env)).goals
    assert sourced.goal.filters.class_id == "C1"


def test_a_viewer_may_not_create_goals(env, connected):
    result = create(env, "--line", "Income", actor=VIEWER)

    refused(
        result,
        "viewer@example.com may not create goals for acme: that needs the editor role, and "
        "viewer@example.com is a viewer",
        env,
    )


def test_refused_without_a_quickbooks_connection(env, service):
    result = create(env, "--line", "Income")

    refused(
        result,
        "goal not created: acme has no QuickBooks connection (not connected); an admin "
        "connects it with `qb-pipeline connect --org acme --as EMAIL`",
        env,
    )


def test_refused_after_a_disconnect(env, connected):
    connected.disconnect("acme", ADMIN)

    refused(
        create(env, "--line", "Income"), "acme has no QuickBooks connection (disconnected)", env
    )


def test_refused_before_anything_was_imported(env, service):
    connect_company(service, "acme")

    result = create(env, "--line", "Income")

    refused(result, "goal not created: nothing has been imported yet (no warehouse.duckdb in", env)
    assert "run `qb-pipeline sync --org acme` first" in result.stderr


def test_refused_while_a_sync_holds_the_warehouse(env, connected):
    with duckdb.connect(str(connected.config.warehouse_path)):  # a writer holds the file
        result = create(env, "--line", "Income")

    refused(result, "cannot be opened now", env)
    assert "try again when the running sync has finished" in result.stderr


def test_refused_for_an_unknown_account_listing_the_available_ones(env, connected):
    result = create(env, "--account", "999")

    refused(
        result,
        "goal not created: --account: '999' is not an account of acme's connected company; "
        "active profit_and_loss accounts: 10 Services, 11 Services:Consulting, ",
        env,
    )


def test_refused_for_a_deleted_account(env, connected):
    refused(
        create(env, "--account", "70"),
        "--account: '70' (Event Sponsorships (deleted)) was deleted in QuickBooks",
        env,
    )


def test_refused_for_a_line_without_imported_rows(env, connected):
    result = run(
        env, "create", "--org", "acme", "--as", EDITOR, "--name", "Other assets",
        "--dataset", "balance_sheet", "--line", "OtherAssets", "--grain", "month",
    )  # fmt: skip

    refused(
        result,
        "--line: 'OtherAssets' has no rows in acme's imported balance_sheet data; available: "
        "TotalAssets, CurrentAssets, BankAccounts, AR,",
        env,
    )


def test_refused_for_a_line_named_by_its_label(env, connected):
    refused(
        create(env, "--line", "Gross Profit"),
        "--line: 'Gross Profit' is not a profit_and_loss line",
        env,
    )


def test_refused_when_the_dataset_has_not_been_imported(env, connected):
    result = run(
        env, "create", "--org", "acme", "--as", EDITOR, "--name", "Operating cash",
        "--dataset", "cash_flow", "--line", "OperatingActivities", "--grain", "month",
    )  # fmt: skip

    refused(
        result,
        "--dataset: 'cash_flow' has not been imported for acme yet; imported: balance_sheet, "
        "profit_and_loss",
        env,
    )


def test_refused_for_an_id_in_use(env, connected):
    assert create(env, "--line", "Income", "--id", "income").exit_code == 0

    result = create(env, "--line", "Income", "--id", "income")

    assert result.exit_code == 1
    assert "--id: 'income' is already a goal of acme; choose another id" in result.stderr
    assert len(goal_files(env)) == 1


def test_the_id_new_is_kept_for_the_web_apps_form(env, connected):
    named_new = create(env, "--line", "Income", name="New")
    explicit = create(env, "--line", "Income", "--id", "new")

    assert named_new.stdout == "new-2\n"
    assert explicit.exit_code == 1
    assert "--id: 'new' is reserved (it names the web app's new-goal page)" in explicit.stderr
    assert [p.name for p in goal_files(env)] == ["new-2.yaml"]


def test_account_or_line_exactly_once(env, connected):
    both = create(env, "--line", "Income", "--account", "13")
    neither = create(env)

    assert both.exit_code == neither.exit_code == 2
    assert "give exactly one of --account ACCOUNT_ID or --line GROUP" in both.stderr
    assert goal_files(env) == []


def test_validate_checks_files_against_the_imported_data(env, connected, tmp_path):
    assert create(env, "--line", "Income").exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: x\nname: X\norganization: acme\ndataset: profit_and_loss\ngrain: month\n"
        "tracks: {account: {account_id: '999'}}\n"
    )

    good = run(env, "validate")
    both = run(env, "validate", env["QBP_GOALS_DIR"], str(bad))

    assert good.exit_code == 0, good.output
    assert good.stdout.startswith("1 file(s), 1 goal(s): 1 valid, 0 error(s), 0 warning(s); ")
    assert "checked against the imported data in" in good.stdout
    assert both.exit_code == 1
    assert f"{bad}:6: goal 'x': tracks.account.account_id: '999' is not an account" in both.stderr
    assert "2 file(s), 2 goal(s): 1 valid, 1 error(s)" in both.stdout


def test_validate_without_imported_data_checks_the_schema_only(env, tmp_path):
    result = run(env, "validate", str(PROJECT_ROOT / "goal_models"))

    assert result.exit_code == 0, result.output
    assert "checked against the schema only: nothing has been imported yet" in result.stdout


def test_schema_command_writes_the_generated_schema(env, tmp_path):
    result = run(env, "schema", "--goals-dir", str(tmp_path / "models"))

    written = (tmp_path / "models" / "schema" / "goal.schema.json").read_text()
    assert result.exit_code == 0
    assert written == schema_text()


def test_the_published_schema_is_up_to_date():
    published = (PROJECT_ROOT / "goal_models" / "schema" / "goal.schema.json").read_text()

    assert published == schema_text(), "run `qb-pipeline goals schema`"
    assert json.loads(published)["$defs"]["GoalDefinition"]["additionalProperties"] is False
