"""The sign-in throttle over HTTP: per account and per client address, a growing delay, one
answer whether the account exists or not, an audit row for each refusal, and no way past it
with the right password. Time is the service's clock, moved by the tests; client addresses
come through X-Forwarded-For, which uvicorn believes from loopback (a trusted proxy) only."""

from __future__ import annotations

import json

import httpx
import pytest

from qb_pipeline.connections import sign_in_throttle
from tests.connections.clock import ManualClock
from tests.web.conftest import ORG, PASSWORDS, WebApp, csrf_of, text_of

ADMIN = "admin@acme.test"
NOBODY = "nomad@acme.test"  # as long as ADMIN, so the pages have the same length
WRONG = "not-the-password"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def web(start_web_app, emulator, clock) -> WebApp:
    return start_web_app(emulator, clock=clock)


def attempt(web: WebApp, email: str, password: str, address: str = "192.0.2.10") -> httpx.Response:
    """One sign-in from a fresh browser at `address`."""
    client = web.client()
    page = client.get("/sign-in")
    return client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        headers={"X-Forwarded-For": address},
    )


def fail(web: WebApp, email: str, times: int, address: str = "192.0.2.10") -> None:
    for _ in range(times):
        assert attempt(web, email, WRONG, address).status_code == 401


def test_the_right_password_after_five_wrong_ones_waits_for_the_delay(web, clock):
    fail(web, ADMIN, sign_in_throttle.ACCOUNT_LIMIT)

    refused = attempt(web, ADMIN, PASSWORDS[ADMIN])

    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert "Too many failed sign-in attempts" in text_of(refused.text)
    assert "Wait 1 minute, then try again." in text_of(refused.text)
    assert "set-cookie" not in refused.headers or "sid" not in refused.headers["set-cookie"]
    clock.advance(seconds=59)
    assert attempt(web, ADMIN, PASSWORDS[ADMIN]).status_code == 429
    clock.advance(seconds=2)
    signed_in = attempt(web, ADMIN, PASSWORDS[ADMIN])
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/integrations"


def test_each_further_failure_doubles_the_delay(web, clock):
    fail(web, ADMIN, sign_in_throttle.ACCOUNT_LIMIT)
    delays = []
    for _ in range(3):
        clock.advance(seconds=int(attempt(web, ADMIN, WRONG).headers["retry-after"]))
        assert attempt(web, ADMIN, WRONG).status_code == 401  # let through, and wrong
        delays.append(int(attempt(web, ADMIN, PASSWORDS[ADMIN]).headers["retry-after"]))

    assert delays == [120, 240, 480]


def test_failures_older_than_the_window_no_longer_count(web, clock):
    fail(web, ADMIN, sign_in_throttle.ACCOUNT_LIMIT - 1)
    clock.advance(minutes=15, seconds=1)

    fail(web, ADMIN, sign_in_throttle.ACCOUNT_LIMIT - 1)

    assert attempt(web, ADMIN, PASSWORDS[ADMIN]).status_code == 303


def test_a_successful_sign_in_forgets_the_accounts_failures(web):
    fail(web, ADMIN, sign_in_throttle.ACCOUNT_LIMIT - 1)
    assert attempt(web, ADMIN, PASSWORDS[ADMIN]).status_code == 303

    fail(web, ADMIN, sign_in_throttle.ACCOUNT_LIMIT - 1)

    assert attempt(web, ADMIN, PASSWORDS[ADMIN]).status_code == 303


def test_a_throttled_account_gets_the_same_answer_whether_it_exists_or_not(web):
    answers = []
    for email, address in [(ADMIN, "192.0.2.1"), (NOBODY, "192.0.2.2")]:
        fail(web, email, sign_in_throttle.ACCOUNT_LIMIT, address)
        refused = attempt(web, email, "another-guess", address)
        headers = {k: v for k, v in refused.headers.items() if k not in ("date", "set-cookie")}
        body = refused.text.replace(email, "EMAIL")
        body = body.replace(csrf_of(refused.text), "CSRF")
        answers.append((refused.status_code, headers, body))

    assert answers[0][0] == 429
    assert answers[0] == answers[1]


def test_too_many_failures_from_one_address_throttle_every_account_from_it(web):
    for number in range(sign_in_throttle.ADDRESS_LIMIT):
        fail(web, f"guess{number}@acme.test", 1, address="198.51.100.7")

    refused = attempt(web, ADMIN, PASSWORDS[ADMIN], address="198.51.100.7")
    elsewhere = attempt(web, ADMIN, PASSWORDS[ADMIN], address="198.51.100.8")

    assert refused.status_code == 429
    assert "Too many failed sign-in attempts" in text_of(refused.text)
    assert elsewhere.status_code == 303


def test_each_throttled_attempt_is_audited_without_the_password(web):
    secret_guess = "the-right-password-maybe"
    fail(web, ADMIN, sign_in_throttle.ACCOUNT_LIMIT, "192.0.2.44")
    fail(web, NOBODY, sign_in_throttle.ACCOUNT_LIMIT, "192.0.2.45")
    before = len(web.service.audit_log(limit=1000))

    attempt(web, ADMIN, secret_guess, "192.0.2.44")
    attempt(web, ADMIN, PASSWORDS[ADMIN], "192.0.2.44")
    attempt(web, NOBODY, secret_guess, "192.0.2.45")

    entries = web.service.audit_log(limit=1000)
    assert len(entries) == before + 3
    newest = entries[:3]
    assert [(e.action, e.outcome, e.actor, e.org_slug) for e in newest] == [
        ("sign-in throttled", "refused", NOBODY, None),  # no such user: no organization
        ("sign-in throttled", "refused", ADMIN, ORG),  # the account's organization
        ("sign-in throttled", "refused", ADMIN, ORG),
    ]
    assert newest[1].detail == {
        "client": "192.0.2.44",
        "limit": "account",
        "failures": sign_in_throttle.ACCOUNT_LIMIT,
        "retry_after_s": 60,
    }
    dumped = json.dumps([e.to_dict() for e in entries])
    assert secret_guess not in dumped
    assert PASSWORDS[ADMIN] not in dumped


def test_the_password_form_counts_and_obeys_the_same_throttle(web, clock):
    browser = web.signed_in(ADMIN)

    def change(current: str) -> httpx.Response:
        form = browser.get("/account/password")
        return browser.post(
            "/account/password",
            data={
                "csrf_token": csrf_of(form.text),
                "current_password": current,
                "new_password": "a brand new password",
                "confirm_password": "a brand new password",
            },
        )

    for _ in range(sign_in_throttle.ACCOUNT_LIMIT):
        assert change(WRONG).status_code == 400
    refused = change(PASSWORDS[ADMIN])

    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert attempt(web, ADMIN, PASSWORDS[ADMIN]).status_code == 429
    assert web.service.authenticate(ADMIN, PASSWORDS[ADMIN]) is not None


def test_forwarded_for_from_an_untrusted_peer_is_not_believed(start_web_app, emulator):
    # No proxy is trusted: every request counts for its real peer, whatever it claims.
    web = start_web_app(emulator, forwarded_allow_ips="")
    for number in range(sign_in_throttle.ADDRESS_LIMIT):
        fail(web, f"guess{number}@acme.test", 1, address=f"203.0.113.{number}")

    refused = attempt(web, ADMIN, PASSWORDS[ADMIN], address="203.0.113.200")

    assert refused.status_code == 429
