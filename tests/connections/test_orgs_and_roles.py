"""Organizations, users, memberships, passwords and role checks."""

from __future__ import annotations

import pytest

from qb_pipeline.connections import (
    AlreadyExists,
    IntegrationService,
    InvalidInput,
    NotAMember,
    NotFound,
    PermissionDenied,
)
from tests.connections.conftest import ADMIN, PASSWORD, VIEWER, add_team, tuples


@pytest.fixture
def team(make_settings) -> IntegrationService:
    service = IntegrationService(make_settings())
    add_team(service)
    return service


@pytest.mark.parametrize("slug", ["A", "a", "acme_inc", "acme inc", "x" * 41, "ümlaut"])
def test_organization_slugs_are_checked(make_settings, slug):
    service = IntegrationService(make_settings())

    with pytest.raises(InvalidInput) as raised:
        service.create_org(slug, "Name")

    assert repr(slug) in str(raised.value)
    assert "a-z, 0-9 and '-'" in str(raised.value)


def test_an_organization_slug_is_unique(team):
    with pytest.raises(AlreadyExists, match="'acme' exists already"):
        team.create_org("acme", "Another Acme")


def test_an_unknown_organization_is_named_in_the_error(team):
    with pytest.raises(NotFound, match="no organization 'nope'"):
        team.status("nope")


def test_a_new_user_needs_a_password_of_eight_characters(team):
    with pytest.raises(InvalidInput, match="a password is required to create the new user"):
        team.add_user("new@example.com", "acme", "viewer", None)
    with pytest.raises(InvalidInput, match="at least 8 characters"):
        team.add_user("new@example.com", "acme", "viewer", "short")
    assert team.find_user("new@example.com") is None


def test_passwords_are_stored_as_argon2id_hashes(team, home):
    [(stored,)] = tuples(home, "SELECT password_hash FROM users WHERE email = ?", (ADMIN,))

    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_sign_in_checks_the_password_and_ignores_email_case(team):
    assert team.authenticate("Admin@Example.COM", PASSWORD).email == ADMIN
    assert team.authenticate(ADMIN, "wrong password") is None
    assert team.authenticate("nobody@example.com", PASSWORD) is None
    assert team.authenticate("not an email", PASSWORD) is None


def test_adding_an_existing_user_changes_the_role_and_keeps_the_password(team):
    team.create_org("beta", "Beta Ltd")

    team.add_user(VIEWER, "beta", "admin", None)
    changed = team.add_user(VIEWER, "acme", "editor", "a different password")

    assert changed.role == "editor"
    assert [(m.org_slug, m.role) for m in team.memberships(VIEWER)] == [
        ("acme", "editor"),
        ("beta", "admin"),
    ]
    assert team.authenticate(VIEWER, PASSWORD) is not None
    assert team.authenticate(VIEWER, "a different password") is None


def test_unknown_roles_are_refused_with_the_allowed_ones(team):
    with pytest.raises(InvalidInput, match="role 'owner' is not one of admin, editor, viewer"):
        team.add_user(ADMIN, "acme", "owner", None)


def test_a_role_check_names_user_organization_action_and_both_roles(team):
    with pytest.raises(PermissionDenied) as raised:
        team.require_role(VIEWER, "acme", "admin", "connect QuickBooks")

    assert str(raised.value) == (
        "viewer@example.com may not connect QuickBooks for acme: that needs the admin role, "
        "and viewer@example.com is a viewer"
    )
    forbidden = team.audit_log("acme")[0]
    assert (forbidden.action, forbidden.outcome, forbidden.actor) == (
        "forbidden",
        "forbidden",
        VIEWER,
    )
    assert forbidden.detail == {
        "attempted": "connect QuickBooks",
        "role_needed": "admin",
        "role_held": "viewer",
    }


def test_a_non_member_is_refused_with_the_reason(team):
    team.create_org("beta", "Beta Ltd")

    with pytest.raises(PermissionDenied, match=r"admin@example\.com is not a member of beta"):
        team.require_role(ADMIN, "beta", "viewer", "view the integration")


def test_higher_roles_include_lower_ones(team):
    assert team.require_role(ADMIN, "acme", "viewer", "read").role == "admin"
    assert team.require_role("editor@example.com", "acme", "editor", "edit goals").role == "editor"


def test_a_non_member_is_refused_alike_for_an_existing_and_a_missing_organization(team):
    team.create_org("beta", "Beta Ltd")
    their_log = team.audit_log("beta")

    refusals = []
    for slug in ("beta", "gamma"):
        with pytest.raises(NotAMember) as raised:
            team.require_role(ADMIN, slug, "admin", "connect QuickBooks")
        refusals.append(str(raised.value).replace(slug, "SLUG"))

    assert (
        refusals[0]
        == refusals[1]
        == (
            "admin@example.com may not connect QuickBooks for SLUG: that needs the admin role, "
            "and admin@example.com is not a member of SLUG"
        )
    )
    assert team.audit_log("beta") == their_log  # nothing written into the other's log
    newest = team.audit_log("acme", limit=2)  # but into the caller's own
    assert [(e.action, e.actor, e.detail) for e in newest] == [
        (
            "forbidden",
            ADMIN,
            {
                "attempted": "connect QuickBooks",
                "role_needed": "admin",
                "role_held": None,
                "organization": slug,
            },
        )
        for slug in ("gamma", "beta")
    ]


def test_removing_a_member_keeps_the_user_and_their_other_memberships(team):
    team.create_org("beta", "Beta Ltd")
    team.add_user(VIEWER, "beta", "editor")

    removed = team.remove_member(VIEWER, "acme")

    assert (removed.email, removed.org_slug, removed.role) == (VIEWER, "acme", "viewer")
    assert [(m.org_slug, m.role) for m in team.memberships(VIEWER)] == [("beta", "editor")]
    assert team.authenticate(VIEWER, PASSWORD) is not None
    entry = team.audit_log("acme")[0]
    assert (entry.action, entry.detail["email"], entry.detail["role"]) == (
        "member removed",
        VIEWER,
        "viewer",
    )


def test_removing_someone_who_is_not_a_member_names_both(team):
    team.create_org("beta", "Beta Ltd")

    with pytest.raises(NotFound, match=r"viewer@example\.com is not a member of beta"):
        team.remove_member(VIEWER, "beta")
    with pytest.raises(NotFound, match="no organization 'nope'"):
        team.remove_member(VIEWER, "nope")
