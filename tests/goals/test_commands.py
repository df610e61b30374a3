"""`qb-pipeline goals validate|create|update|archive|restore|list|show|schema`, with a real
control DB, a real connection to the emulator and real imported data (the hand-made marts)
in QBP_HOME. Goals go to the goal store; nothing is written into the goals folder."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from qb_pipeline.cli.goals import goals
from qb_pipeline.config import load_settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.goals.schema import schema_text
from qb_pipeline.goals.store import GoalStore
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
        "QBP_DAGSTER_URL": "off",  # no Dagster here: the sensor would request the run
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
    service.config.warehouse_path("acme").parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(service.config.warehouse_path("acme"))) as con:
        build_marts(con, "acme", status.realm_id)
    return service


def run(env, *args: str):
    return CliRunner().invoke(goals, list(args), env=env)


def create(env, *extra: str, actor: str = EDITOR, name: str = "Monthly income"):
    return run(
        env, "create", "--org", "acme", "--as", actor, "--name", name,
        "--dataset", "profit_and_loss", "--grain", "month", *extra,
    )  # fmt: skip


def stored(env) -> list:
    """The goals of acme in the store (the control DB of QBP_HOME)."""
    return GoalStore(load_settings(env).control_db_path).list("acme")


def refused(result, text: str, env) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: goal not created: ") or "Error: " in result.stderr
    assert text in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert stored(env) == []
    assert not Path(env["QBP_GOALS_DIR"]).exists()  # never a file in the checkout


def test_create_stores_a_validated_goal_and_prints_its_id(env, connected):
    result = create(env, "--line", "Income", "--target", "1500")

    assert result.exit_code == 0, result.output
    assert result.stdout == "monthly-income\n"
    [goal] = stored(env)
    definition = goal.definition
    assert (definition.organization, definition.tracks.line.group, definition.target.value) == (
        "acme",
        "Income",
        1500,
    )
    assert (goal.goal_id, goal.version, goal.state, goal.created_by) == (
        "monthly-income",
        1,
        "active",
        EDITOR,
    )
    assert goal.realm_id == connected.status("acme").realm_id
    assert goal.managed_by is None
    assert not Path(env["QBP_GOALS_DIR"]).exists()
    # Without Dagster, the command says who computes the values instead.
    assert "goal_changes sensor will request the goals run" in result.stderr


def test_create_an_account_goal_with_subaccounts(env, connected):
    result = create(
        env, "--account", "30", "--with-subaccounts", "--direction", "decrease",
        "--target", "500", "--window", "fiscal_ytd", "--basis", "cash", "--id", "utilities",
        name="Utilities",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    [goal] = stored(env)
    data = goal.definition.model_dump(mode="json", exclude_none=True)
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
    [goal] = stored(env)
    assert goal.definition.filters.class_id == "C1"


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
        "connects it on the integrations page or with `qb-pipeline connect --org acme --as "
        "EMAIL`",
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
    with duckdb.connect(str(connected.config.warehouse_path("acme"))):  # a writer holds the file
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
    assert len(stored(env)) == 1


def test_no_goal_id_is_reserved_for_the_web_app_any_more(env, connected):
    named_new = create(env, "--line", "Income", name="New")
    explicit = create(env, "--line", "Income", "--id", "new-2")

    assert named_new.stdout == "new\n"
    assert explicit.exit_code == 0, explicit.output
    assert [g.goal_id for g in stored(env)] == ["new", "new-2"]


def test_account_or_line_exactly_once(env, connected):
    both = create(env, "--line", "Income", "--account", "13")
    neither = create(env)

    assert both.exit_code == neither.exit_code == 2
    assert "give exactly one of --account ACCOUNT_ID or --line GROUP" in both.stderr
    assert "missing --account or --line" in neither.stderr
    assert stored(env) == []


def test_validate_checks_files_against_the_imported_data(env, connected, tmp_path):
    folder = Path(env["QBP_GOALS_DIR"]) / "acme"
    folder.mkdir(parents=True)
    (folder / "income.yaml").write_text(
        "id: income\nname: Income\norganization: acme\ndataset: profit_and_loss\n"
        "grain: month\ntracks: {line: {group: Income}}\n"
    )
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
    assert stored(env) == []  # validating stores nothing


def test_validate_without_imported_data_checks_the_schema_only(env, tmp_path):
    result = run(env, "validate", str(PROJECT_ROOT / "goal_models"))

    assert result.exit_code == 0, result.output
    assert "checked against the schema only: demo: nothing has been imported yet" in result.stdout


def test_schema_command_writes_the_generated_schema(env, tmp_path):
    result = run(env, "schema", "--goals-dir", str(tmp_path / "models"))

    written = (tmp_path / "models" / "schema" / "goal.schema.json").read_text()
    assert result.exit_code == 0
    assert written == schema_text()


def test_the_published_schema_is_up_to_date():
    published = (PROJECT_ROOT / "goal_models" / "schema" / "goal.schema.json").read_text()

    assert published == schema_text(), "run `qb-pipeline goals schema`"
    assert json.loads(published)["$defs"]["GoalDefinition"]["additionalProperties"] is False


def test_update_changes_only_the_options_given_as_a_new_version(env, connected):
    create(env, "--line", "Income", "--target", "1500", "--id", "income")

    result = run(
        env, "update", "income", "--org", "acme", "--as", ADMIN, "--target", "2500",
        "--grain", "quarter",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Changed goal 'income' of acme (version 2)" in result.stdout
    [goal] = stored(env)
    assert (goal.definition.target.value, goal.definition.grain) == (2500, "quarter")
    assert goal.definition.tracks.line.group == "Income"  # kept
    assert goal.updated_by == ADMIN


def test_update_checks_the_new_fields_against_the_data_and_keeps_the_old_version(env, connected):
    create(env, "--line", "Income", "--id", "income")

    result = run(env, "update", "income", "--org", "acme", "--as", EDITOR, "--account", "999")

    assert result.exit_code == 1
    assert "goal not changed: --account: '999' is not an account of acme" in result.stderr
    [goal] = stored(env)
    assert (goal.version, goal.definition.tracks.line.group) == (1, "Income")


def test_update_of_a_version_that_moved_on_is_refused(env, connected):
    create(env, "--line", "Income", "--id", "income")
    run(env, "update", "income", "--org", "acme", "--as", EDITOR, "--target", "1")

    result = run(
        env, "update", "income", "--org", "acme", "--as", EDITOR, "--target", "2",
        "--version", "1",
    )  # fmt: skip

    assert result.exit_code == 1
    assert "was changed meanwhile (version 2" in result.stderr
    assert stored(env)[0].definition.target.value == 1


def test_a_formula_with_per_period_targets_from_a_definition_file(env, connected, tmp_path):
    definition = tmp_path / "margin.yaml"
    definition.write_text(
        "tracks:\n  formula:\n    expression: gp / income * 100\n    items:\n"
        "      gp: {line: {group: GrossProfit}}\n      income: {line: {group: Income}}\n"
        "target:\n  per_period:\n    2025-04-01: 70\n    2025-05-01: 72\n"
    )

    result = create(env, "--definition", str(definition), "--id", "margin", name="Gross margin")

    assert result.exit_code == 0, result.output
    [goal] = stored(env)
    assert goal.definition.tracks.formula.expression == "gp / income * 100"
    assert len(goal.definition.target.per_period) == 2


def test_archive_and_restore_from_the_command_line(env, connected):
    create(env, "--line", "Income", "--id", "income")

    archived = run(env, "archive", "income", "--org", "acme", "--as", EDITOR)
    listed = run(env, "list", "--org", "acme", "--state", "active")
    restored = run(env, "restore", "income", "--org", "acme", "--as", EDITOR)
    viewer = run(env, "archive", "income", "--org", "acme", "--as", VIEWER)

    assert archived.exit_code == 0, archived.output
    assert "Archived goal 'income' of acme: now archived (version 2)" in archived.stdout
    assert listed.stdout == "acme has no goals that are active\n"
    assert restored.exit_code == 0, restored.output
    assert stored(env)[0].state == "active"
    assert viewer.exit_code == 1
    assert "viewer@example.com may not change goals for acme" in viewer.stderr
    assert stored(env)[0].version == 3


def test_list_and_show_read_the_store_and_its_versions(env, connected):
    create(env, "--line", "Income", "--id", "income", "--target", "1500")
    run(env, "update", "income", "--org", "acme", "--as", ADMIN, "--target", "1700")

    listed = run(env, "list", "--org", "acme")
    shown = run(env, "show", "income", "--org", "acme")
    as_json = json.loads(run(env, "show", "income", "--org", "acme", "--json").stdout)

    assert listed.exit_code == 0, listed.output
    assert listed.stdout.startswith("income")
    assert "active" in listed.stdout
    assert "v2" in listed.stdout
    assert "income: Monthly income (active, version 2)" in shown.stdout
    assert "updated by admin@example.com (cli): target.value" in shown.stdout
    assert [v["change"] for v in as_json["versions"]] == ["created", "updated"]
    assert as_json["definition"]["target"] == {"value": 1700.0}


def test_create_refuses_a_budget_the_company_does_not_have_with_exit_1(env, connected):
    # The hand-made company imported no budget (no marts.budgets): the problem names the
    # option, the value and that no budget is available.
    result = create(env, "--line", "Income", "--budget", "FY2026 Budget")
    refused(result, "'FY2026 Budget' is not a budget of acme's connected company", env)
    assert "--budget" in result.stderr
    assert "budgets: none" in result.stderr


def test_create_refuses_a_budget_target_on_a_balance_sheet_goal(env, connected):
    result = run(
        env, "create", "--org", "acme", "--as", EDITOR, "--name", "Cash", "--dataset",
        "balance_sheet", "--grain", "month", "--line", "BankAccounts", "--budget", "FY2026 Budget",
    )  # fmt: skip
    refused(result, "profit_and_loss goals only", env)
