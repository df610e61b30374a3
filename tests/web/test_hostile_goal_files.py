"""Hostile goal files of one organization never reach the goal store, nor another organization:
impossible dates, an alias bomb, a recursive alias, an unreadable number and absurd targets
in beta's folder block beta's `goals apply` with one line per problem, while acme's files are
applied and computed and both organizations' goals pages answer. A goal whose figures are as
large as a goal may have draws its chart. Over real HTTP, with goal values computed and
published by the real components (tests/web/goal_data.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from qb_pipeline.cli.goals import goals
from qb_pipeline.goals.store import GoalStore
from tests.goals.hostile import alias_bomb
from tests.web.conftest import ORG, WebApp, connect, text_of
from tests.web.goal_data import INCOME_MONTHLY, import_company, run_goals

ADMIN, VIEWER = "admin@acme.test", "viewer@acme.test"
OTHER = "beta"
BAD = Path(__file__).parents[1] / "goals" / "bad"
HOSTILE = ("impossible_dates", "recursive_alias", "number_too_long", "absurd_targets")
# Goals of acme whose figures are as large as a goal may name, or grow past it.
LARGE_GOALS = """\
- id: largest-target
  name: Largest target
  organization: acme
  dataset: profit_and_loss
  tracks: {line: {group: Income}}
  grain: month
  target: {value: 1e15}
- id: compounding
  name: Compounding
  organization: acme
  dataset: profit_and_loss
  tracks: {line: {group: Income}}
  grain: month
  target: {growth: {base: 1000, base_period: 2000-01-01, rate_pct: 1000}}
"""


def hostile_copy(name: str, organization: str) -> str:
    """A bad file of tests/goals/bad as written for `organization`."""
    text = (BAD / f"{name}.yaml").read_text()
    return text.replace("organization: acme", f"organization: {organization}")


@pytest.fixture
def goals_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "goal_models"
    (folder / ORG).mkdir(parents=True)
    (folder / ORG / "large.yaml").write_text(LARGE_GOALS)
    (folder / ORG / "income.yaml").write_text(yaml.safe_dump(INCOME_MONTHLY, sort_keys=False))
    (folder / OTHER).mkdir()
    (folder / OTHER / "bomb.yaml").write_text(alias_bomb(9, OTHER))
    for name in HOSTILE:
        (folder / OTHER / f"{name}.yaml").write_text(hostile_copy(name, OTHER))
    return folder


@pytest.fixture
def applied(goals_dir: Path, connectable_web: WebApp, monkeypatch: pytest.MonkeyPatch):
    """acme connected, imported, its goal files applied and computed, beside beta's hostile
    files (beta is connected too, so only its files can block it); the viewer is a member of
    both."""
    web = connectable_web
    web.service.create_org(OTHER, "Beta Bakery")
    web.service.add_user(ADMIN, OTHER, "admin")
    web.service.add_user(VIEWER, OTHER, "viewer")
    admin = web.signed_in(ADMIN)
    connect(admin)
    connect(admin, realm_id=web.companies()[1]["realmId"], org=OTHER)
    import_company(web.settings, web.service.status(ORG).realm_id)
    env = {
        "QBP_HOME": str(web.settings.home),
        "QBP_SECRET_KEY": web.settings.secret_key or "",
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": web.settings.emulator_url or "",
        "QBP_DAGSTER_URL": "off",
    }
    started = time.monotonic()
    result = CliRunner().invoke(
        goals, ["apply", "--as", ADMIN, "--goals-dir", str(goals_dir), str(goals_dir)], env=env
    )
    seconds = time.monotonic() - started
    run_goals(web.settings, monkeypatch)
    return web, result, seconds


def test_hostile_files_block_only_their_organization_quickly_and_in_one_line_each(applied):
    web, result, seconds = applied

    assert result.exit_code == 1
    assert seconds < 10  # the alias bomb among them is refused, not expanded
    assert "acme: ready" in result.stdout
    assert "beta: BLOCKED, nothing applied" in result.stdout
    assert "Traceback" not in result.output
    problems = [line for line in result.output.splitlines() if "/beta/" in line]
    assert any("impossible_dates.yaml" in p and "is not a date" in p for p in problems)
    assert any("bomb.yaml" in p for p in problems)
    store = GoalStore(web.settings.control_db_path)
    assert store.list(OTHER) == []
    assert {g.goal_id for g in store.list(ORG)} == {
        "income-monthly",
        "largest-target",
        "compounding",
    }


def test_both_organizations_goals_pages_answer(applied):
    web, _result, _seconds = applied
    client = web.signed_in(VIEWER)

    acme = client.get(f"/orgs/{ORG}/goals")
    beta = client.get(f"/orgs/{OTHER}/goals")

    assert acme.status_code == 200, text_of(acme.text)
    row = text_of(acme.text.split('id="goal-income-monthly"')[1].split("</tr>")[0])
    assert "Monthly income income-monthly" in row
    assert "2,170.00 1,500.00 ✓ On track" in row
    assert beta.status_code == 200, text_of(beta.text)
    detail = client.get(f"/orgs/{ORG}/goals/income-monthly")
    assert detail.status_code == 200, text_of(detail.text)
    assert "<svg" in detail.text


@pytest.mark.parametrize("goal_id", ["largest-target", "compounding"])
def test_a_goal_as_large_as_a_goal_may_be_draws_its_chart(applied, goal_id):
    web, _result, _seconds = applied
    page = web.signed_in(VIEWER).get(f"/orgs/{ORG}/goals/{goal_id}")

    assert page.status_code == 200, text_of(page.text)
    assert page.text.count('<circle class="point') >= 17  # one per period, 2025-04 .. 2026-08
    if goal_id == "largest-target":
        assert ">1e+15</text>" in page.text  # the axis says it short
    else:  # compounded past 1e15 long ago: no target in any period, never inf
        assert "inf" not in text_of(page.text).lower().split()
