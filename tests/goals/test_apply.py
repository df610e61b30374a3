"""`qb-pipeline goals apply`: goal files upserted into the store, per organization, plan first."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from qb_pipeline.cli.goals import goals
from qb_pipeline.config import load_settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.goals.store import GoalStore
from tests.connections.conftest import ADMIN, EDITOR, VIEWER, add_team, companies, connect_company
from tests.goals.company import build_marts

INCOME = """\
id: income
name: Monthly income
organization: {org}
dataset: profit_and_loss
grain: month
tracks: {{line: {{group: Income}}}}
target: {{value: {target}}}
"""
PRODUCTS = """\
id: products
name: Product sales
organization: {org}
dataset: profit_and_loss
grain: quarter
tracks: {{account: {{account_id: '13'}}}}
"""


@pytest.fixture
def env(emulator, tmp_path) -> dict[str, str]:
    return {
        "QBP_HOME": str(tmp_path / "home"),
        "QBP_SECRET_KEY": Fernet.generate_key().decode(),
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": emulator.url,
        "QBP_GOALS_DIR": str(tmp_path / "goal_models"),
        "QBP_DAGSTER_URL": "off",
    }


@pytest.fixture
def service(env, emulator) -> IntegrationService:
    """acme and globex, each connected to a company whose data is imported."""
    built = IntegrationService(load_settings(env))
    realms = [c["realmId"] for c in companies(emulator.url)]
    for org, realm in (("acme", realms[0]), ("globex", realms[1])):
        add_team(built, org)
        status = connect_company(built, org, realm)
        built.config.warehouse_path(org).parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(built.config.warehouse_path(org))) as con:
            build_marts(con, org, status.realm_id)
    return built


def write(env, relative: str, text: str) -> Path:
    path = Path(env["QBP_GOALS_DIR"]) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def apply(env, *args: str, actor: str = EDITOR):
    return CliRunner().invoke(goals, ["apply", "--as", actor, *args], env=env)


def store(service: IntegrationService) -> GoalStore:
    return GoalStore(service.db_path)


def states(service: IntegrationService, org: str = "acme") -> dict[str, tuple[str, int]]:
    return {g.goal_id: (g.state, g.version) for g in store(service).list(org)}


def test_apply_creates_file_managed_goals_and_shows_the_plan(env, service):
    write(env, "acme/income.yaml", INCOME.format(org="acme", target=1500))
    write(env, "acme/products.yaml", PRODUCTS.format(org="acme"))

    result = apply(env)

    assert result.exit_code == 0, result.output
    assert "acme: ready" in result.stdout
    assert "+ acme/income" in result.stdout
    assert "(goal_models/acme/income.yaml)" in result.stdout
    assert "Plan: 2 to create, 0 to update, 0 to archive, 0 to restore, 0 unchanged." in (
        result.stdout
    )
    assert "Applied 2 change(s)." in result.stdout
    income = store(service).get("acme", "income")
    assert (income.managed_by, income.state, income.created_by) == (
        "goal_models/acme/income.yaml",
        "active",
        EDITOR,
    )
    assert store(service).history("acme", "income")[0].source == "file"


def test_a_dry_run_shows_the_plan_and_changes_nothing(env, service):
    write(env, "acme/income.yaml", INCOME.format(org="acme", target=1500))

    result = apply(env, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "+ acme/income" in result.stdout
    assert "Applied" not in result.stdout
    assert states(service) == {}


def test_applying_again_changes_only_what_the_files_changed(env, service):
    path = write(env, "acme/income.yaml", INCOME.format(org="acme", target=1500))
    write(env, "acme/products.yaml", PRODUCTS.format(org="acme"))
    apply(env)

    unchanged = apply(env)
    path.write_text(INCOME.format(org="acme", target=1700))
    changed = apply(env)

    assert "0 to create, 0 to update, 0 to archive, 0 to restore, 2 unchanged" in unchanged.stdout
    assert "Applied 0 change(s)." in unchanged.stdout
    assert "~ acme/income" in changed.stdout
    assert "target.value: 1500.0 -> 1700.0" in changed.stdout
    assert states(service) == {"income": ("active", 2), "products": ("active", 1)}


def test_a_removed_file_archives_its_goal_and_bringing_it_back_restores_it(env, service):
    write(env, "acme/income.yaml", INCOME.format(org="acme", target=1500))
    products = write(env, "acme/products.yaml", PRODUCTS.format(org="acme"))
    apply(env)

    products.unlink()
    archived = apply(env)
    write(env, "acme/products.yaml", PRODUCTS.format(org="acme"))
    restored = apply(env)

    assert "- acme/products" in archived.stdout
    assert "^ acme/products" in restored.stdout
    assert states(service)["products"] == ("active", 3)
    changes = [v.change for v in store(service).history("acme", "products")]
    assert changes == ["created", "archived", "restored"]


def test_one_organization_s_bad_goal_blocks_only_that_organization(env, service):
    write(env, "acme/income.yaml", INCOME.format(org="acme", target=1500))
    write(env, "acme/bad.yaml", PRODUCTS.format(org="acme").replace("'13'", "'999'"))
    write(env, "globex/income.yaml", INCOME.format(org="globex", target=900))

    result = apply(env)

    assert result.exit_code == 1
    assert "acme: BLOCKED, nothing applied" in result.stdout
    bad = Path(env["QBP_GOALS_DIR"]) / "acme" / "bad.yaml"
    assert (
        f"{bad}:6: goal 'products': tracks.account.account_id: '999' is not an account of "
        "acme's connected company"
    ) in result.stdout
    assert "globex: ready" in result.stdout
    assert states(service) == {}
    assert states(service, "globex") == {"income": ("active", 1)}


def test_a_broken_file_never_archives_the_goals_it_managed(env, service):
    path = write(env, "acme/products.yaml", PRODUCTS.format(org="acme"))
    apply(env)

    path.write_text("id: products\nname: [unclosed\n")
    result = apply(env)

    assert result.exit_code == 1
    assert "YAML syntax error" in result.output
    assert "goal_models/acme/products.yaml has errors, so goal 'products' it manages" in (
        result.stdout
    )
    assert states(service) == {"products": ("active", 1)}


def test_applying_one_file_leaves_the_goals_of_other_files_alone(env, service):
    income = write(env, "acme/income.yaml", INCOME.format(org="acme", target=1500))
    write(env, "acme/products.yaml", PRODUCTS.format(org="acme"))
    apply(env)
    income.write_text(INCOME.format(org="acme", target=1800))

    result = apply(env, str(income))

    assert result.exit_code == 0, result.output
    assert "products" not in result.stdout
    assert states(service) == {"income": ("active", 2), "products": ("active", 1)}


def test_a_goal_managed_in_the_app_is_never_taken_over(env, service):
    created = CliRunner().invoke(
        goals,
        [
            "create",
            "--org",
            "acme",
            "--as",
            "editor@example.com",
            "--id",
            "income",
            "--name",
            "Income",
            "--dataset",
            "profit_and_loss",
            "--grain",
            "month",
            "--line",
            "Income",
        ],
        env=env,
    )
    assert created.exit_code == 0, created.output
    write(env, "acme/income.yaml", INCOME.format(org="acme", target=1500))

    result = apply(env)

    assert result.exit_code == 1
    assert "id: 'income' is a goal of acme managed in the app" in result.stdout
    assert store(service).get("acme", "income").managed_by is None


def test_organizations_that_cannot_take_goals_are_blocked_with_the_reason(env, service):
    service.disconnect("globex", ADMIN)
    write(env, "globex/income.yaml", INCOME.format(org="globex", target=900))
    write(env, "acme/income.yaml", INCOME.format(org="acme", target=1500))

    as_viewer = apply(env, actor=VIEWER)
    assert as_viewer.exit_code == 1
    assert "viewer@example.com may not change goals for acme" in as_viewer.stdout
    assert states(service) == {}

    result = apply(env)

    assert "globex has no QuickBooks connection (disconnected)" in result.stdout
    assert result.exit_code == 1
    assert states(service, "globex") == {}
    assert states(service) == {"income": ("active", 1)}


def test_a_path_outside_the_goals_folder_is_refused(env, service, tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(INCOME.format(org="acme", target=1))

    result = apply(env, str(outside))

    assert result.exit_code == 1
    assert f"{outside}: {outside} is outside the goals folder" in result.output
    assert states(service) == {}
