"""Hostile goal files of one organization never break another organization's goals pages,
nor their own: impossible dates, an alias bomb, a recursive alias, an unreadable number
and absurd targets are problems of their files, counted on their organization's page, and
a goal whose values are as large as a goal may have draws its chart. Over real HTTP, with
goal values computed and published by the real components (tests/web/goal_data.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.goals.hostile import alias_bomb
from tests.web.conftest import ORG, WebApp, connect, text_of
from tests.web.goal_data import import_and_compute, write_seed_goals

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
def goals_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "goal_models"
    monkeypatch.setenv("QBP_GOALS_DIR", str(folder))
    write_seed_goals(folder)
    (folder / ORG).mkdir()
    (folder / ORG / "large.yaml").write_text(LARGE_GOALS)
    (folder / OTHER).mkdir()
    (folder / OTHER / "bomb.yaml").write_text(alias_bomb(9, OTHER))
    for name in HOSTILE:
        (folder / OTHER / f"{name}.yaml").write_text(hostile_copy(name, OTHER))
    return folder


@pytest.fixture
def hostile_web(goals_dir: Path, connectable_web: WebApp) -> WebApp:
    """acme connected, imported and its goals computed beside beta's hostile files; the
    viewer is a member of both."""
    web = connectable_web
    web.service.create_org(OTHER, "Beta Bakery")
    web.service.add_user(VIEWER, OTHER, "viewer")
    connect(web.signed_in(ADMIN))
    import_and_compute(web.settings, web.service.status(ORG).realm_id, goals_dir)
    return web


def test_another_organizations_hostile_files_never_break_the_goals_pages(hostile_web):
    client = hostile_web.signed_in(VIEWER)

    page = client.get(f"/orgs/{ORG}/goals")

    assert page.status_code == 200, text_of(page.text)
    row = text_of(page.text.split('id="goal-income-monthly"')[1].split("</tr>")[0])
    assert "Monthly income income-monthly" in row
    assert "2,170.00 1,500.00 ✓ On track" in row
    assert 'id="file-problems"' not in page.text  # beta's problems are not acme's
    detail = client.get(f"/orgs/{ORG}/goals/income-monthly")
    assert detail.status_code == 200, text_of(detail.text)
    assert "<svg" in detail.text


def test_an_organizations_own_hostile_files_are_counted_on_its_page(hostile_web):
    page = hostile_web.signed_in(VIEWER).get(f"/orgs/{OTHER}/goals")

    assert page.status_code == 200, text_of(page.text)
    # The bomb, the recursive alias and the long number lose their files (one problem
    # each); impossible_dates has two bad fields, absurd_targets seven bad goals.
    assert "12 problem(s) in the goal files of beta keep some goals out" in text_of(page.text)


@pytest.mark.parametrize("goal_id", ["largest-target", "compounding"])
def test_a_goal_as_large_as_a_goal_may_be_draws_its_chart(hostile_web, goal_id):
    page = hostile_web.signed_in(VIEWER).get(f"/orgs/{ORG}/goals/{goal_id}")

    assert page.status_code == 200, text_of(page.text)
    assert page.text.count('<circle class="point') == 17  # one per period, 2025-04 .. 2026-08
    if goal_id == "largest-target":
        assert ">1e+15</text>" in page.text  # the axis says it short
        assert page.text.count('<line class="target"') == 17
    else:  # compounded past 1e15 long ago: no target in any period, never inf
        assert page.text.count('class="status status-no_target"') == 16  # July 2026: no data
        assert '<line class="target"' not in page.text
