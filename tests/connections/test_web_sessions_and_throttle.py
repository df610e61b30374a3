"""Web sessions and the sign-in throttle in the control DB: what ends a session, how the
throttle counts, and that its state is shared by every service on the same control DB."""

from __future__ import annotations

import pytest

from qb_pipeline.connections import IntegrationService, InvalidInput, SignInThrottled
from qb_pipeline.connections.sign_in_throttle import ACCOUNT_LIMIT
from tests.connections.clock import ManualClock
from tests.connections.conftest import ADMIN, PASSWORD, VIEWER, add_team, tuples
from tests.connections.test_control_db import at_once

NEW_PASSWORD = "a brand new password"
ADDRESS = "192.0.2.10"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def team(make_settings, clock) -> IntegrationService:
    service = IntegrationService(make_settings(), clock=clock)
    add_team(service)
    return service


def session_rows(home) -> list[tuple]:
    return tuples(
        home, "SELECT last_seen_at, expires_at, revoked_reason FROM web_sessions ORDER BY id"
    )


def test_a_session_names_its_user_until_it_is_signed_out(team, home):
    session = team.start_web_session(ADMIN)

    assert team.web_session_user(session) == ADMIN
    team.end_web_session(session)

    assert team.web_session_user(session) is None
    assert session_rows(home)[0][2] == "signed_out"


def test_an_unknown_session_id_names_nobody(team):
    assert team.web_session_user("not-a-session-id") is None


def test_use_keeps_a_session_alive_and_eight_idle_hours_end_it(team, clock, home):
    session = team.start_web_session(ADMIN)
    created = session_rows(home)[0]

    clock.advance(seconds=30)
    assert team.web_session_user(session) == ADMIN
    assert session_rows(home)[0] == created  # used within a minute: no write

    clock.advance(hours=7, minutes=59)
    assert team.web_session_user(session) == ADMIN
    clock.advance(hours=7, minutes=59)
    assert team.web_session_user(session) == ADMIN
    clock.advance(hours=8)

    assert team.web_session_user(session) is None


def test_a_role_change_ends_the_users_sessions_but_the_same_role_or_a_new_org_does_not(team):
    session = team.start_web_session(VIEWER)
    others = team.start_web_session(ADMIN)
    team.create_org("beta", "Beta Ltd")

    team.add_user(VIEWER, "acme", "viewer")
    team.add_user(VIEWER, "beta", "admin")
    assert team.web_session_user(session) == VIEWER

    team.add_user(VIEWER, "acme", "editor")

    assert team.web_session_user(session) is None
    assert team.web_session_user(others) == ADMIN
    assert team.audit_log("acme")[0].detail["sessions_ended"] == 1


def test_removing_a_membership_ends_the_users_sessions(team):
    session = team.start_web_session(VIEWER)

    team.remove_member(VIEWER, "acme")

    assert team.web_session_user(session) is None
    assert team.audit_log("acme")[0].detail["sessions_ended"] == 1


def test_a_password_change_needs_the_current_password_and_ends_every_session(team, home):
    sessions = [team.start_web_session(ADMIN) for _ in range(2)]

    with pytest.raises(InvalidInput, match="the current password is not correct"):
        team.change_password(ADMIN, "wrong password", NEW_PASSWORD, ADDRESS)
    assert all(team.web_session_user(s) == ADMIN for s in sessions)
    with pytest.raises(InvalidInput, match="at least 8 characters"):
        team.change_password(ADMIN, PASSWORD, "short", ADDRESS)
    assert team.authenticate(ADMIN, PASSWORD) is not None

    assert team.change_password(ADMIN, PASSWORD, NEW_PASSWORD, ADDRESS) == 2

    assert [team.web_session_user(s) for s in sessions] == [None, None]
    assert team.authenticate(ADMIN, NEW_PASSWORD) is not None
    entry = team.audit_log("acme")[0]
    assert (entry.action, entry.actor, entry.detail) == (
        "password changed",
        ADMIN,
        {"email": ADMIN, "sessions_ended": 2},
    )
    stored = tuples(home, "SELECT detail FROM audit_log")
    assert NEW_PASSWORD not in str(stored)
    assert PASSWORD not in str(stored)


def test_the_operators_reset_ends_sessions_and_lifts_a_lockout(team):
    session = team.start_web_session(ADMIN)
    for _ in range(ACCOUNT_LIMIT):
        assert team.sign_in(ADMIN, "wrong password", ADDRESS) is None
    with pytest.raises(SignInThrottled):
        team.sign_in(ADMIN, PASSWORD, ADDRESS)

    assert team.set_password(ADMIN, NEW_PASSWORD) == 1

    assert team.web_session_user(session) is None
    assert team.sign_in(ADMIN, NEW_PASSWORD, ADDRESS).email == ADMIN
    assert team.audit_log("acme")[0].actor is None  # the operator


def test_parallel_wrong_guesses_cannot_pass_the_account_limit(team):
    # Each guess is counted before its password is checked, so guesses sent at once are
    # counted as strictly as guesses sent one after the other.
    def guess() -> str:
        try:
            return "checked" if team.sign_in(ADMIN, "wrong password", ADDRESS) is None else "in"
        except SignInThrottled:
            return "throttled"

    results, errors = at_once(guess, count=12)

    assert errors == []
    assert sorted(results) == ["checked"] * ACCOUNT_LIMIT + ["throttled"] * (12 - ACCOUNT_LIMIT)


def test_the_throttle_is_shared_by_every_service_on_the_control_db(team, make_settings, clock):
    other_process = IntegrationService(make_settings(), clock=clock)
    for _ in range(ACCOUNT_LIMIT):
        assert team.sign_in(ADMIN, "wrong password", ADDRESS) is None

    with pytest.raises(SignInThrottled) as raised:
        other_process.sign_in(ADMIN, PASSWORD, "192.0.2.99")

    assert raised.value.retry_after == 60
    assert str(raised.value) == (
        "Too many failed sign-in attempts for this account or from this address. "
        "Wait 1 minute, then try again."
    )


def test_text_that_is_not_an_email_is_never_stored_as_an_account(team, home):
    # Someone typing their password into the email field: only the address is counted.
    team.sign_in("my secret password", "whatever", ADDRESS)

    assert tuples(home, "SELECT account, client FROM sign_in_failures") == [(None, ADDRESS)]
