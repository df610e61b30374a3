"""A real browser (Debian's chromium through Playwright) connects and disconnects QuickBooks
through the emulator's sign-in and company pages; a viewer cannot connect."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.conftest import DEMO_INTUIT_USER, ORG, PASSWORDS

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
# Outside the repository on purpose: for a person to look at, not to commit.
SCREENSHOT = Path("/tmp/qbp-web-connected.png")
VIEWER_SCREENSHOT = Path("/tmp/qbp-web-viewer.png")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # bin/test installs it (bin/system-packages): a missing browser is a broken set-up, not a
    # reason to skip the browser tests.
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is not installed: run bin/system-packages"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORDS[email])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/orgs/[^/]+/integrations$"))


def test_admin_connects_and_disconnects_in_a_real_browser(browser, connectable_web):
    from playwright.sync_api import expect

    web = connectable_web
    company = web.companies()[1]
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, web.url, "admin@acme.test")

    page.get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Integrations")
    expect(page.locator("#qbo-status")).to_have_text(re.compile("Not connected"))
    page.get_by_role("button", name="Connect QuickBooks").click()

    # The emulator's Intuit pages: sign in, choose the company, authorize.
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    intuit_email, intuit_password = DEMO_INTUIT_USER
    page.get_by_label("Email").fill(intuit_email)
    page.get_by_label("Password").fill(intuit_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Choose your company")).to_be_visible()
    page.get_by_label(re.compile(re.escape(company["name"]))).check()
    page.get_by_role("button", name="Authorize").click()

    page.wait_for_url(f"{web.url}/orgs/{ORG}/integrations")
    expect(page.get_by_role("status")).to_contain_text(f"Connected to {company['name']}")
    expect(page.locator("#qbo-status")).to_have_text(re.compile("Connected"))
    card = page.locator("#quickbooks")
    expect(card).to_contain_text(company["name"])
    expect(card).to_contain_text("Connected by")
    expect(card).to_contain_text("admin@acme.test")
    expect(card).to_contain_text("No data imported yet.")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.get_by_role("link", name="Disconnect").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Disconnect {company['name']}?")
    page.get_by_role("button", name="Yes, disconnect").click()
    page.wait_for_url(f"{web.url}/orgs/{ORG}/integrations")
    expect(page.locator("#qbo-status")).to_have_text(re.compile("Not connected"))
    expect(page.get_by_role("status")).to_contain_text(f"Disconnected from {company['name']}")
    assert web.service.status(ORG).status == "disconnected"
    context.close()


def test_viewer_sees_the_button_disabled_with_the_reason_and_cannot_forge_it(
    browser, connectable_web
):
    from playwright.sync_api import expect

    web = connectable_web
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, web.url, "viewer@acme.test")

    button = page.get_by_role("button", name="Connect QuickBooks")
    expect(button).to_be_disabled()
    expect(page.locator("#connect-reason")).to_have_text(
        "Only admins can connect QuickBooks. Your role: viewer."
    )
    expect(button).to_have_attribute("aria-describedby", "connect-reason")
    page.screenshot(path=str(VIEWER_SCREENSHOT), full_page=True)

    # A forged POST from this signed-in browser, with and without the session's CSRF token.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    target = f"{web.url}/orgs/{ORG}/integrations/quickbooks/connect"
    with_token = page.request.post(target, form={"csrf_token": token}, max_redirects=0)
    assert with_token.status == 403
    assert "Not allowed" in with_token.text()
    without_token = page.request.post(target, form={}, max_redirects=0)
    assert without_token.status == 403
    assert web.service.status(ORG).status == "not_connected"
    context.close()
