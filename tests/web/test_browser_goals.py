"""A real browser (Debian's chromium through Playwright): an editor opens the goals page,
fills in the "New QuickBooks Goal" form and finds the new goal listed; the chart renders
under the page's Content-Security-Policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.web.conftest import ORG
from tests.web.test_browser_connect import browser, sign_in
from tests.web.test_goals_pages import EDITOR, GOALS, PERIODS, goals_dir, goals_web

pytestmark = pytest.mark.browser

__all__ = ["browser", "goals_dir", "goals_web"]  # fixtures used below

# Outside the repository on purpose: for a person to look at, not to commit.
FORM_SCREENSHOT = Path("/tmp/qbp-web-new-goal.png")
CHART_SCREENSHOT = Path("/tmp/qbp-web-goal-chart.png")


def test_editor_creates_a_goal_in_a_real_browser_and_sees_it_listed(browser, goals_web, goals_dir):
    from playwright.sync_api import expect

    web = goals_web
    context = browser.new_context()
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    sign_in(page, web.url, EDITOR)

    page.get_by_role("link", name="Goals", exact=True).click()
    page.wait_for_url(f"{web.url}{GOALS}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("QuickBooks Goals")
    expect(page.locator("#goal-income-monthly")).to_contain_text("2,170.00")

    page.get_by_role("link", name="New QuickBooks Goal").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("New QuickBooks Goal")
    page.get_by_label("Name", exact=True).fill("Gross profit per quarter")
    page.get_by_label("Report line", exact=True).select_option("GrossProfit")
    page.get_by_label("Period", exact=True).select_option("quarter")
    page.get_by_label(re.compile("^Target")).fill("4000")
    page.get_by_role("button", name="Create goal").click()

    page.wait_for_url(f"{web.url}{GOALS}/gross-profit-per-quarter")
    expect(page.get_by_role("status")).to_contain_text(
        "Created the goal “Gross profit per quarter” (gross-profit-per-quarter)"
    )
    expect(page.locator("#next-run")).to_contain_text("goals_refresh")
    data = yaml.safe_load((goals_dir / ORG / "gross-profit-per-quarter.yaml").read_text())
    assert data["tracks"] == {"line": {"group": "GrossProfit"}}

    page.get_by_role("link", name=re.compile("Goals of ")).click()
    row = page.locator("#goal-gross-profit-per-quarter")
    expect(row).to_contain_text("Gross profit per quarter")
    expect(row).to_contain_text("Not computed yet")

    page.locator("#goal-income-monthly").get_by_role("link").click()
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    expect(chart.locator("circle.point")).to_have_count(PERIODS)
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 100
    # Last: a full-page screenshot resizes the viewport, and a click right after it can miss.
    page.screenshot(path=str(CHART_SCREENSHOT), full_page=True)
    # Nothing on these pages breaks the CSP (Chromium reports each violation on the console).
    assert [m for m in console if "Content Security Policy" in m] == []
    context.close()
