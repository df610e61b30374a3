"""A token endpoint answer (or a CompanyInfo answer while connecting) in the wrong shape is
an error naming the endpoint and what was wrong, never a token: it stores nothing, changes
no connection and never disconnects the customer, and the next clean answer works."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from qb_pipeline.connections import IntegrationService, IntuitUnavailable
from qb_pipeline.connections.crypto import TokenCipher
from qb_pipeline.quickbooks import UnexpectedAnswer
from tests.answer_proxy import CorruptingProxy, change, drop, replace
from tests.connections.conftest import (
    add_team,
    authorize,
    complete,
    connect_company,
    issued_tokens,
    rows,
)

TOKEN_ENDPOINT = "/oauth2/v1/tokens/bearer"
FORCE = timedelta(hours=2)  # more than an access token's life: the call refreshes
MISSING = "found nothing (the member is missing)"

BROKEN_TOKEN_ANSWERS = {
    "without-access_token": (
        drop("access_token"),
        f"$.access_token: expected non-empty text, {MISSING}",
    ),
    "refresh_token-a-number": (
        replace(("refresh_token",), 12345),
        "$.refresh_token: expected non-empty text, found a whole number",
    ),
    "refresh_token-empty": (
        replace(("refresh_token",), ""),
        "$.refresh_token: expected non-empty text, found empty text",
    ),
    "expires_in-text": (
        change(("expires_in",), str),
        "$.expires_in: expected a whole number of 1 or more, found text",
    ),
    "without-x_refresh_token_expires_in": (
        drop("x_refresh_token_expires_in"),
        f"$.x_refresh_token_expires_in: expected a whole number of 1 or more, {MISSING}",
    ),
    "token_type-not-bearer": (
        replace(("token_type",), "mac"),
        "$.token_type: expected the text bearer, found other text",
    ),
    "a-list": (lambda body: [body], "$: expected an object, found a list"),
    "not-json": (lambda body: b"<html>busy</html>", "$: expected JSON, found another body"),
    # A refusal belongs in a 400; in a 200 it is a broken answer, not a reason to disconnect.
    "an-error-in-a-200": (
        replace((), {"error": "invalid_grant"}),
        f"$.access_token: expected non-empty text, {MISSING}",
    ),
}  # fmt: skip


def connection_row(home) -> dict | None:
    found = rows(home, "SELECT * FROM quickbooks_connections")
    return found[0] if found else None


def assert_no_token_in(text: str, emulator_url: str) -> None:
    for token in issued_tokens(emulator_url):
        assert token["value"] not in text
        assert token["value"][:12] not in text


@pytest.fixture
def proxied(make_emulator, make_settings) -> Iterator[tuple[CorruptingProxy, IntegrationService]]:
    """A private emulator behind a corrupting proxy, `acme` and its team on the proxy."""
    running = make_emulator(limits_enabled=False)
    with CorruptingProxy(running.url) as proxy:
        service = IntegrationService(make_settings(proxy.url))
        add_team(service)
        yield proxy, service


@pytest.mark.parametrize(
    ("rewrite", "problem"), BROKEN_TOKEN_ANSWERS.values(), ids=BROKEN_TOKEN_ANSWERS.keys()
)
def test_a_broken_refresh_answer_changes_nothing_and_the_next_refresh_works(
    proxied, home, secret_key, rewrite, problem
):
    proxy, service = proxied
    connect_company(service)
    before = connection_row(home)
    proxy.corrupt("token", rewrite)

    with pytest.raises(UnexpectedAnswer) as raised:
        service.access_token("acme", min_valid=FORCE)

    error = raised.value
    assert isinstance(error, IntuitUnavailable)  # handled as Intuit failing to answer
    assert (error.endpoint, error.problem) == (TOKEN_ENDPOINT, problem)
    assert str(error) == (
        f"QuickBooks answered {TOKEN_ENDPOINT} in an unexpected shape: {problem} "
        f"(HTTP 200, intuit_tid {error.intuit_tid})"
    )
    assert error.intuit_tid
    assert proxy.rewritten["token"] == 1
    assert connection_row(home) == before  # tokens, expiries, status: all as they were
    assert service.status("acme").status == "connected"
    [failed] = [e for e in service.audit_log("acme") if e.action == "token refresh failed"]
    assert failed.detail["error"] == str(error)
    assert_no_token_in(str(error) + json.dumps([e.detail for e in service.audit_log("acme")]),
                       proxy.upstream)  # fmt: skip

    proxy.clear()
    token = service.access_token("acme", min_valid=FORCE)

    assert token.value != TokenCipher(secret_key).decrypt(before["access_token_encrypted"])
    assert service.audit_log("acme")[0].action == "token refreshed"
    assert service.status("acme").status == "connected"


def test_a_refusal_without_an_error_code_does_not_disconnect(proxied, home):
    """A 400 whose body is not an OAuth error says nothing for sure: not invalid_grant."""
    proxy, service = proxied
    connect_company(service)
    before = connection_row(home)
    httpx.post(f"{proxy.upstream}/_emulator/oauth/revoke-refresh-tokens").raise_for_status()
    proxy.corrupt("token", replace((), {"message": "no"}), statuses=(400,))

    with pytest.raises(UnexpectedAnswer) as raised:
        service.access_token("acme", min_valid=FORCE)

    assert raised.value.problem == f"$.error: expected non-empty text, {MISSING}"
    assert str(raised.value).endswith(f"(HTTP 400, intuit_tid {raised.value.intuit_tid})")
    assert service.status("acme").status == "connected"
    assert connection_row(home) == before


def test_a_broken_answer_to_the_code_exchange_stores_nothing(proxied, home):
    proxy, service = proxied
    callback = authorize(service)
    proxy.corrupt("token", drop("refresh_token"))

    with pytest.raises(UnexpectedAnswer) as raised:
        complete(service, callback)

    assert isinstance(raised.value, IntuitUnavailable)
    assert raised.value.problem == f"$.refresh_token: expected non-empty text, {MISSING}"
    assert connection_row(home) is None
    assert service.status("acme").status == "not_connected"
    failed = service.audit_log("acme")[0]
    assert (failed.action, failed.outcome) == ("connect failed", "failed")
    assert_no_token_in(json.dumps(failed.detail), proxy.upstream)


def test_a_broken_company_info_while_connecting_stores_nothing_and_revokes(proxied, home):
    proxy, service = proxied
    callback = authorize(service)
    proxy.corrupt("companyinfo", replace(("CompanyInfo",), "Acme"))

    with pytest.raises(UnexpectedAnswer) as raised:
        complete(service, callback)

    realm = callback.realm_id
    assert isinstance(raised.value, IntuitUnavailable)
    assert raised.value.endpoint == f"/v3/company/{realm}/companyinfo/{realm}"
    assert raised.value.problem == "$.CompanyInfo: expected a record (an object), found text"
    assert connection_row(home) is None
    # The tokens just issued are not kept, so they are revoked at Intuit.
    refresh = [t for t in issued_tokens(proxy.upstream) if t["kind"] == "refresh"]
    assert [t["status"] for t in refresh] == ["revoked"]
