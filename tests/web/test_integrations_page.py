"""The Integrations page before any connection: who sees which button, and why."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.web.conftest import ORG, ORG_NAME, text_of


def test_integrations_leads_to_the_first_organization(web):
    client = web.signed_in("viewer@acme.test")
    response = client.get("/integrations")
    assert response.status_code == 303
    assert response.headers["location"] == f"/orgs/{ORG}/integrations"


def test_user_of_several_organizations_can_pick_one(web):
    web.service.create_org("birch", "Birch Bakery")
    web.service.add_user("viewer@acme.test", "birch", "admin", None)
    client = web.signed_in("viewer@acme.test")
    page = client.get("/orgs/birch/integrations")
    assert page.status_code == 200
    assert 'aria-label="Your organizations"' in page.text
    assert f'href="/orgs/{ORG}/integrations"' in page.text
    assert 'href="/orgs/birch/integrations" aria-current="page"' in page.text
    # The role is per organization: admin here, viewer in acme.
    assert "Your role in Birch Bakery: admin" in text_of(page.text)
    assert ">Connect QuickBooks</button>" in page.text
    assert "disabled" not in page.text.split("Connect QuickBooks")[0].rsplit("<", 1)[-1]


def test_admin_sees_the_connect_button_when_not_connected(web):
    page = web.signed_in("admin@acme.test").get(f"/orgs/{ORG}/integrations")
    assert page.status_code == 200
    text = text_of(page.text)
    assert f"Integrations {ORG_NAME}" in text
    assert "QuickBooks Online" in text
    assert "Not connected" in text
    assert f'action="/orgs/{ORG}/integrations/quickbooks/connect"' in page.text
    assert '<button type="submit" class="button primary">Connect QuickBooks</button>' in page.text


@pytest.mark.parametrize("email", ["editor@acme.test", "viewer@acme.test"])
def test_others_see_the_connect_button_disabled_with_the_reason(web, email):
    role = email.split("@")[0]
    page = web.signed_in(email).get(f"/orgs/{ORG}/integrations")
    assert page.status_code == 200
    assert 'disabled aria-describedby="connect-reason">Connect QuickBooks</button>' in page.text
    assert f"Only admins can connect QuickBooks. Your role: {role}." in text_of(page.text)
    assert "/quickbooks/connect" not in page.text  # no form to submit


def test_settings_are_shown_to_viewers_without_a_form(web):
    page = web.signed_in("viewer@acme.test").get(f"/orgs/{ORG}/integrations")
    text = text_of(page.text)
    assert "Integration settings" in text
    assert "Sync automatically" in text
    assert "Frequency Nightly" in text
    assert "Only admins can change these settings. Your role: viewer." in text
    assert "/integrations/settings" not in page.text


def test_admin_gets_a_labelled_settings_form(web):
    page = web.signed_in("admin@acme.test").get(f"/orgs/{ORG}/integrations")
    for field_id in ["auto_sync", "frequency", "local_time", "timezone", "history_years"]:
        assert f'<label for="{field_id}">' in page.text
        assert f'id="{field_id}"' in page.text
    assert f'action="/orgs/{ORG}/integrations/settings"' in page.text


def test_headings_are_in_order(web):
    page = web.signed_in("admin@acme.test").get(f"/orgs/{ORG}/integrations")
    levels = [int(level) for level in re.findall(r"<h([1-6])", page.text)]
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))


def test_a_non_member_is_told_they_are_not_in_that_organization(web):
    web.service.create_org("birch", "Birch Bakery")
    page = web.signed_in("admin@acme.test").get("/orgs/birch/integrations")
    assert page.status_code == 403
    assert "is not a member of the organization 'birch'" in text_of(page.text)
    assert web.signed_in("admin@acme.test").get("/orgs/nope/integrations").status_code == 403


def test_unknown_page_gets_a_404_page(web):
    page = web.client().get("/no-such-page")
    assert page.status_code == 404
    assert "Page not found" in page.text


def test_pages_carry_security_headers(web):
    page = web.client().get("/sign-in")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert f"form-action 'self' {web.emulator.url}" in csp
