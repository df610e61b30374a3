"""Server-side sessions: a copied cookie stops reading and writing as soon as the session ends.

Every test copies a signed-in browser's cookie into a second client (what a thief would hold),
makes the event happen (sign-out, password change, membership removed, role changed, 8 h of
idleness), then replays the copy: a page read and a settings change with the session's own
CSRF token. Both must fail, and the settings must be unchanged.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import zlib

import httpx
import pytest
from click.testing import CliRunner
from itsdangerous import URLSafeTimedSerializer

from qb_pipeline.cli import main
from qb_pipeline.web.session import COOKIE_NAME, session_signing_key
from tests.connections.clock import ManualClock
from tests.web.conftest import ORG, PASSWORDS, WebApp, csrf_of, sign_in, text_of

ADMIN = "admin@acme.test"
PAGE = f"/orgs/{ORG}/integrations"
SETTINGS = f"/orgs/{ORG}/integrations/settings"
NEW_PASSWORD = "a brand new password"


def settings_change(csrf: str, history_years: int) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "auto_sync": "on",
        "frequency": "hourly",
        "local_time": "04:15",
        "timezone": "UTC",
        "history_years": str(history_years),
    }


def copy_of(web: WebApp, client: httpx.Client) -> httpx.Client:
    """A second client holding the same session cookie, as a thief with a copy would."""
    thief = web.client()
    thief.cookies.set(COOKIE_NAME, client.cookies[COOKIE_NAME])
    return thief


def assert_copy_works(web: WebApp, copy: httpx.Client) -> str:
    """The copy reads and writes while the session lives; returns its CSRF token."""
    page = copy.get(PAGE)
    assert page.status_code == 200, text_of(page.text)
    csrf = csrf_of(page.text)
    assert copy.post(SETTINGS, data=settings_change(csrf, 4)).status_code == 303
    assert web.service.settings(ORG).history_years == 4
    return csrf


def assert_copy_is_dead(web: WebApp, copy: httpx.Client, csrf: str) -> None:
    """The copy can neither read a page nor change anything, even with the CSRF token."""
    page = copy.get(PAGE)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/sign-in")
    before = web.service.settings(ORG)
    write = copy.post(SETTINGS, data=settings_change(csrf, 9))
    assert write.status_code == 303
    assert write.headers["location"].startswith("/sign-in")
    assert web.service.settings(ORG) == before


def cli(web: WebApp, *args: str, input: str | None = None):
    env = {
        "QBP_HOME": str(web.settings.home),
        "QBP_SECRET_KEY": web.settings.secret_key,
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": web.emulator.url,
    }
    result = CliRunner().invoke(main, list(args), env=env, input=input)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def timed_web(start_web_app, emulator, clock) -> WebApp:
    """The web app whose service reads `clock`."""
    return start_web_app(emulator, clock=clock)


def test_a_copied_cookie_stops_working_after_sign_out(web):
    browser = web.signed_in(ADMIN)
    copy = copy_of(web, browser)
    csrf = assert_copy_works(web, copy)

    page = browser.get(PAGE)
    assert browser.post("/sign-out", data={"csrf_token": csrf_of(page.text)}).status_code == 303

    assert_copy_is_dead(web, copy, csrf)


def test_sign_out_ends_only_that_browsers_session(web):
    first = web.signed_in(ADMIN)
    second = web.signed_in(ADMIN)

    page = first.get(PAGE)
    first.post("/sign-out", data={"csrf_token": csrf_of(page.text)})

    assert first.get(PAGE).status_code == 303
    assert second.get(PAGE).status_code == 200


def test_a_password_change_ends_every_session_of_the_user_but_keeps_this_browser_in(web):
    browser = web.signed_in(ADMIN)
    elsewhere = web.signed_in(ADMIN)
    copy = copy_of(web, browser)
    csrf = assert_copy_works(web, copy)
    others = web.signed_in("viewer@acme.test")

    form = browser.get("/account/password")
    assert form.status_code == 200
    changed = browser.post(
        "/account/password",
        data={
            "csrf_token": csrf_of(form.text),
            "current_password": PASSWORDS[ADMIN],
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )

    assert changed.status_code == 303
    landing = browser.get(browser.get(changed.headers["location"]).headers["location"])
    assert landing.status_code == 200
    assert "Your password was changed. 1 other session signed out." in text_of(landing.text)
    assert_copy_is_dead(web, copy, csrf)
    assert elsewhere.get(PAGE).status_code == 303
    assert others.get(PAGE).status_code == 200  # another user's session is untouched
    assert web.service.authenticate(ADMIN, PASSWORDS[ADMIN]) is None
    assert web.service.authenticate(ADMIN, NEW_PASSWORD) is not None


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("not-the-password", NEW_PASSWORD, NEW_PASSWORD, "The current password is not correct"),
        (PASSWORDS[ADMIN], "tiny-pw", "tiny-pw", "is too short: use at least 8 characters"),
        (PASSWORDS[ADMIN], NEW_PASSWORD, NEW_PASSWORD + "x", "its confirmation differ"),
    ],
)
def test_a_refused_password_change_says_why_and_changes_nothing(
    web, current, new, confirm, message
):
    browser = web.signed_in(ADMIN)
    copy = copy_of(web, browser)
    form = browser.get("/account/password")

    refused = browser.post(
        "/account/password",
        data={
            "csrf_token": csrf_of(form.text),
            "current_password": current,
            "new_password": new,
            "confirm_password": confirm,
        },
    )

    assert refused.status_code == 400
    assert message in text_of(refused.text)
    assert new not in refused.text
    assert current not in refused.text
    assert copy.get(PAGE).status_code == 200
    assert web.service.authenticate(ADMIN, PASSWORDS[ADMIN]) is not None


def test_the_password_page_needs_sign_in_and_the_csrf_token(web):
    anonymous = web.client()
    assert anonymous.get("/account/password").headers["location"].startswith("/sign-in")
    browser = web.signed_in(ADMIN)
    forged = browser.post(
        "/account/password",
        data={
            "current_password": PASSWORDS[ADMIN],
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert forged.status_code == 403
    assert web.service.authenticate(ADMIN, PASSWORDS[ADMIN]) is not None


def test_set_password_from_the_cli_ends_the_users_sessions(web):
    browser = web.signed_in(ADMIN)
    copy = copy_of(web, browser)
    csrf = assert_copy_works(web, copy)

    result = cli(web, "users", "set-password", ADMIN, input=NEW_PASSWORD + "\n")

    assert result.stdout == f"Password changed for {ADMIN}; 1 web session ended.\n"
    assert NEW_PASSWORD not in result.output
    assert_copy_is_dead(web, copy, csrf)
    assert browser.get(PAGE).status_code == 303
    sign_in(web.client(), ADMIN, NEW_PASSWORD)


def test_removing_the_membership_ends_the_users_sessions(web):
    browser = web.signed_in(ADMIN)
    copy = copy_of(web, browser)
    csrf = assert_copy_works(web, copy)

    result = cli(web, "users", "remove", ADMIN, "--org", ORG)

    assert result.stdout == (
        f"{ADMIN} is no longer admin of {ORG}; their web sessions have ended.\n"
    )
    assert_copy_is_dead(web, copy, csrf)
    again = web.signed_in(ADMIN)  # the account still exists, without the organization
    assert again.get(PAGE).status_code == 403


def test_a_role_change_ends_the_users_sessions_and_the_old_role_cannot_act(web):
    browser = web.signed_in(ADMIN)
    copy = copy_of(web, browser)
    csrf = assert_copy_works(web, copy)

    cli(web, "users", "add", ADMIN, "--org", ORG, "--role", "viewer")

    assert_copy_is_dead(web, copy, csrf)
    as_viewer = web.signed_in(ADMIN)
    page = as_viewer.get(PAGE)
    assert page.status_code == 200
    refused = as_viewer.post(SETTINGS, data=settings_change(csrf_of(page.text), 9))
    assert refused.status_code == 403
    assert "is a viewer" in text_of(refused.text)


def test_giving_the_same_role_again_keeps_the_sessions(web):
    browser = web.signed_in(ADMIN)

    cli(web, "users", "add", ADMIN, "--org", ORG, "--role", "admin")

    assert browser.get(PAGE).status_code == 200


def test_a_session_ends_after_eight_idle_hours_and_activity_keeps_it(timed_web, clock):
    web = timed_web
    browser = web.signed_in(ADMIN)
    copy = copy_of(web, browser)
    csrf = assert_copy_works(web, copy)

    clock.advance(hours=7, minutes=59)
    assert browser.get(PAGE).status_code == 200  # used: idle time starts again
    clock.advance(hours=7, minutes=59)
    assert copy.get(PAGE).status_code == 200
    clock.advance(hours=8, seconds=1)

    assert_copy_is_dead(web, copy, csrf)
    assert browser.get(PAGE).status_code == 303


def cookie_payload(client: httpx.Client) -> dict:
    """What the signed cookie carries (itsdangerous: base64 JSON, maybe zlib, then signature)."""
    value = client.cookies[COOKIE_NAME]
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return json.loads(zlib.decompress(raw) if compressed else raw)


def test_the_cookie_carries_a_random_session_id_kept_only_as_a_hash(web):
    browser = web.signed_in(ADMIN)

    payload = cookie_payload(browser)

    assert set(payload) <= {"sid", "csrf", "flash", "oauth"}
    assert ADMIN not in json.dumps(payload)
    database = web.settings.home / "control.sqlite3"
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT token_hash, revoked_at FROM web_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE u.email = ?",
            (ADMIN,),
        ).fetchall()
    assert len(rows) == 1
    assert rows[0][1] is None
    assert len(rows[0][0]) == 64
    assert rows[0][0] != payload["sid"]
    for path in web.settings.home.rglob("*"):
        if path.is_file():
            assert payload["sid"].encode() not in path.read_bytes(), path


def test_a_signed_cookie_that_names_a_user_signs_nobody_in(web):
    # Cookies of earlier versions carried the email: a validly signed one must not count.
    serializer = URLSafeTimedSerializer(
        session_signing_key(web.settings), salt="qb-pipeline.web.session"
    )
    forged = web.client()
    forged.cookies.set(COOKIE_NAME, serializer.dumps({"user": ADMIN, "csrf": "x"}))

    response = forged.get(PAGE)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")
