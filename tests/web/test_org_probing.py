"""A user of one organization cannot tell whether another organization exists: every page and
action under /orgs/<slug>/ answers the same for someone else's organization and for none at
all, and a refused action is audited in the caller's own organization, never in the other's."""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import ORG, WebApp, csrf_of, text_of

ADMIN = "admin@acme.test"
OTHER = "birch"  # exists, with its own admin
NOWHERE = "larch"  # does not exist; as long as OTHER, so that the pages have the same length

GETS = [
    "/orgs/{slug}/integrations",
    "/orgs/{slug}/integrations/quickbooks/disconnect",
    "/orgs/{slug}/goals",
    "/orgs/{slug}/new-goal",
    "/orgs/{slug}/goals/monthly-income",
    "/orgs/{slug}/goals/monthly-income/edit",
    "/orgs/{slug}/live/goals",
    "/orgs/{slug}/live/integrations",
]
POSTS = [
    "/orgs/{slug}/integrations/quickbooks/connect",
    "/orgs/{slug}/integrations/quickbooks/disconnect",
    "/orgs/{slug}/integrations/settings",
    "/orgs/{slug}/integrations/sync",
    "/orgs/{slug}/new-goal",
    "/orgs/{slug}/goals/monthly-income/edit",
    "/orgs/{slug}/goals/monthly-income/archive",
    "/orgs/{slug}/goals/monthly-income/restore",
    "/orgs/{slug}/goals/monthly-income/confirm",
]


@pytest.fixture
def two_orgs(web: WebApp) -> WebApp:
    web.service.create_org(OTHER, "Birch Bakery")
    web.service.add_user("owner@birch.test", OTHER, "admin", "birch-password-1")
    return web


def answer(response: httpx.Response, slug: str) -> tuple[int, dict[str, str], str]:
    """Everything a prober sees, the slug they typed taken out."""
    headers = {k: v for k, v in response.headers.items() if k != "date"}
    return response.status_code, headers, response.text.replace(slug, "SLUG")


@pytest.mark.parametrize("path", GETS)
def test_a_page_of_another_organization_looks_like_a_page_of_none(two_orgs, path):
    client = two_orgs.signed_in(ADMIN)

    other = client.get(path.format(slug=OTHER))
    nowhere = client.get(path.format(slug=NOWHERE))

    assert other.status_code == 403
    assert answer(other, OTHER) == answer(nowhere, NOWHERE)


@pytest.mark.parametrize("path", POSTS)
def test_an_action_on_another_organization_looks_like_one_on_none(two_orgs, path):
    web = two_orgs
    client = web.signed_in(ADMIN)
    csrf = csrf_of(client.get(f"/orgs/{ORG}/integrations").text)
    form = {"csrf_token": csrf, "frequency": "hourly", "history_years": "3", "name": "Probe"}
    their_log = web.service.audit_log(OTHER, limit=1000)

    other = client.post(path.format(slug=OTHER), data=form)
    nowhere = client.post(path.format(slug=NOWHERE), data=form)

    assert other.status_code == 403
    assert "location" not in other.headers
    assert answer(other, OTHER) == answer(nowhere, NOWHERE)
    assert f"is not a member of the organization '{OTHER}'" in text_of(other.text)
    assert web.service.audit_log(OTHER, limit=1000) == their_log
    newest = web.service.audit_log(ORG, limit=2)
    assert [(e.action, e.outcome, e.actor, e.detail["organization"]) for e in newest] == [
        ("forbidden", "forbidden", ADMIN, NOWHERE),
        ("forbidden", "forbidden", ADMIN, OTHER),
    ]


def test_a_member_with_too_low_a_role_is_still_told_the_role(two_orgs):
    # The other side of the rule: a real member learns nothing new, and gets the reason.
    web = two_orgs
    web.service.add_user(ADMIN, OTHER, "viewer")
    client = web.signed_in(ADMIN)
    csrf = csrf_of(client.get(f"/orgs/{OTHER}/integrations").text)

    refused = client.post(
        f"/orgs/{OTHER}/integrations/quickbooks/connect", data={"csrf_token": csrf}
    )

    assert refused.status_code == 403
    assert "that needs the admin role, and admin@acme.test is a viewer" in text_of(refused.text)
    assert web.service.audit_log(OTHER, limit=1)[0].actor == ADMIN
