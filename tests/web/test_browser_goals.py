"""The proof in a real browser (Debian's chromium through Playwright) with a real Dagster
deployment (`dagster dev`: webserver and daemon) on the test's QBP_HOME, sensors every
second, and the web app submitting runs to it:

- an admin presses "Sync now" and the integration page goes from queued to succeeded by
  itself;
- an editor creates a goal and its values appear on its page without any reload or manual
  launch; editing the target changes the statuses, again without a reload; archiving
  removes it from the list and keeps its history.

Nobody touches Dagster: the web app queues the runs, the daemon launches them. "Without a
reload" is checked with a marker set on the page's window, which any navigation would lose.
The deadlines are generous (every run starts a process that imports the code location, about
10 s of CPU on this shared 2-core machine); the test waits on conditions, never fixed times,
and prints how long each step took.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import duckdb
import pytest

from qb_pipeline.sandbox import free_port
from tests.web.conftest import ORG, connect
from tests.web.dagster_processes import DagsterProcess
from tests.web.goal_data import sync
from tests.web.test_browser_connect import browser, sign_in
from tests.web.test_goals_pages import ADMIN, EDITOR

pytestmark = [pytest.mark.browser, pytest.mark.slow]

__all__ = ["browser"]  # the fixture, used below

RUN_MS = 600_000  # a run through the daemon: queued, launched, imported, computed, published
# Outside the repository on purpose: for a person to look at, not to commit.
SCREENSHOTS = Path("/tmp")
MARKER = "window.__qbpNoReload"


@pytest.fixture
def deployed_web(start_web_app, make_emulator, tmp_path, monkeypatch):
    """acme connected and synced once (in this process, so the connection sensor asks for no
    sync of its own), then `dagster dev` on its QBP_HOME and the web app submitting to it."""
    port = free_port()
    web = start_web_app(make_emulator(limits_enabled=False), dagster_url=f"http://127.0.0.1:{port}")
    connect(web.signed_in(ADMIN))
    sync(web.settings, monkeypatch)
    dagster = DagsterProcess(web.settings, port, tmp_path / "dagster-dev.log", with_daemon=True)
    try:
        ready = dagster.wait_until_ready()
        print(f"\ndagster dev ready in {ready:.0f} s")
        yield web, dagster
    finally:
        try:
            dagster.wait_until_idle()  # a run launched during the stop would outlive it
        finally:
            stopped_cleanly = dagster.stop()
    assert stopped_cleanly, f"SIGTERM left processes of dagster dev running:\n{dagster.tail()}"


def latest_income(web) -> tuple[str, float]:
    """The published latest month with an Income actual, for a goal on the Income line."""
    realm = web.service.status(ORG).realm_id
    with duckdb.connect(str(web.settings.serving_path(ORG)), read_only=True) as con:
        month, amount = con.execute(
            "SELECT month, sum(amount) FROM marts.pnl_monthly WHERE org_id = ? AND realm_id = ?"
            " AND basis = 'accrual' AND report_group = 'Income' GROUP BY month"
            " ORDER BY month DESC LIMIT 1",
            [ORG, realm],
        ).fetchone()
    return f"{month:%b %Y}", float(amount)


def cells(*texts: str) -> re.Pattern[str]:
    """A table row's cells in order (the row's text has no spaces between its cells)."""
    return re.compile(r"\s*".join(re.escape(text) for text in texts))


def stamp(page) -> None:
    page.evaluate(f"{MARKER} = true")


def not_reloaded(page) -> bool:
    return page.evaluate(f"{MARKER} === true")


class Clock:
    def __init__(self) -> None:
        self.start = self.last = time.monotonic()
        self.steps: list[str] = []

    def step(self, what: str) -> None:
        now = time.monotonic()
        self.steps.append(f"{what}: {now - self.last:.0f} s")
        self.last = now

    def report(self) -> str:
        total = time.monotonic() - self.start
        return "; ".join(self.steps) + f"; total {total:.0f} s"


def test_sync_now_and_a_goal_compute_by_themselves_in_a_real_browser(browser, deployed_web):
    from playwright.sync_api import expect

    web, _dagster = deployed_web
    clock = Clock()
    context = browser.new_context()
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    # -- Sync now: queued, then running, then succeeded, the page updating itself.
    sign_in(page, web.url, ADMIN)
    syncs_before = len(web.service.recent_syncs(ORG))
    page.get_by_role("button", name="Sync now").click()
    page.wait_for_url(f"{web.url}/orgs/{ORG}/integrations")
    state = page.locator("#sync-state")
    expect(state).to_contain_text("Queued")
    stamp(page)
    expect(state).to_contain_text("Last sync succeeded", timeout=RUN_MS)
    assert not_reloaded(page)
    rows = page.locator("#recent-syncs tbody tr")
    expect(rows).to_have_count(syncs_before + 1)
    expect(rows.first).to_contain_text("Succeeded")
    expect(page.get_by_role("button", name="Sync now")).to_be_enabled()
    page.screenshot(path=str(SCREENSHOTS / "qbp-web-sync-now.png"), full_page=True)
    clock.step("sync now to succeeded")
    context.clear_cookies()

    # -- An editor creates a goal; its values appear without a reload.
    sign_in(page, web.url, EDITOR)
    page.get_by_role("link", name="Goals", exact=True).click()
    page.get_by_role("link", name="New QuickBooks Goal").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("New QuickBooks Goal")
    page.get_by_label("Name", exact=True).fill("Monthly revenue")
    page.get_by_label(re.compile("^Report line")).select_option("Income")
    page.get_by_label(re.compile("^Target value")).fill("1")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview-periods")
    month, amount = latest_income(web)
    expect(preview.locator("tbody tr").last).to_contain_text(
        cells(month, f"{amount:,.2f}", "1.00", "✓ On track")
    )
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{web.url}/orgs/{ORG}/goals/monthly-revenue")
    expect(page.locator("#computing")).to_contain_text("Computing the values of version 1")
    stamp(page)
    clock.step("goal created")
    latest_row = page.locator("#periods tbody tr").last
    expect(latest_row).to_contain_text(
        cells(month, f"{amount:,.2f}", "1.00", "✓ On track"), timeout=RUN_MS
    )
    expect(page.locator("#goal-state")).to_contain_text("Values of version 1.")
    assert not_reloaded(page)
    expect(page.locator("svg.chart circle.point").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "qbp-web-goal-computed.png"), full_page=True)
    clock.step("values of version 1 on the page")

    # -- Editing the target changes the statuses, again without a reload.
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label(re.compile("^Target value")).fill("1000000000")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{web.url}/orgs/{ORG}/goals/monthly-revenue")
    expect(page.locator("#computing")).to_contain_text("Computing the values of version 2")
    stamp(page)
    expect(latest_row).to_contain_text(
        cells(month, f"{amount:,.2f}", "1,000,000,000.00", "✗ Off track"), timeout=RUN_MS
    )
    assert not_reloaded(page)
    expect(page.locator("#periods")).not_to_contain_text("On track")
    history = page.locator("#history tbody tr")
    expect(history).to_have_count(2)  # the current period: target 1, then 1,000,000,000
    expect(page.locator("#versions")).to_contain_text("target.value: 1 → 1000000000")
    page.screenshot(path=str(SCREENSHOTS / "qbp-web-goal-edited.png"), full_page=True)
    clock.step("values of version 2 on the page")

    # -- Archiving removes it from the list and keeps its history.
    page.get_by_role("button", name="Archive", exact=True).click()
    page.wait_for_url(f"{web.url}/orgs/{ORG}/goals")
    expect(page.get_by_role("status")).to_contain_text("Archived “Monthly revenue”")
    expect(page.locator("#goal-monthly-revenue")).to_have_count(0)
    page.get_by_role("link", name=re.compile(r"^Archived \(1\)")).click()
    page.locator("#goal-monthly-revenue").get_by_role("link", name="Monthly revenue").click()
    expect(page.locator("#goal-state-badge")).to_have_text("Archived")
    expect(page.locator("#history tbody tr")).to_have_count(2)
    expect(page.locator("#periods tbody tr").last).to_contain_text(cells(month, f"{amount:,.2f}"))
    clock.step("archived")

    # Nothing on these pages breaks the CSP (Chromium reports each violation on the console).
    assert [m for m in console if "Content Security Policy" in m] == []
    context.close()
    print(f"\nbrowser proof: {clock.report()}")
