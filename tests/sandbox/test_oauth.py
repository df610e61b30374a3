"""The emulator's OAuth authority without HTTP: codes, grants, rotation, revocation."""

from __future__ import annotations

import json
import string
import threading
from datetime import date, datetime
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest

from qb_pipeline.sandbox.accounting.clock import EmulatorClock
from qb_pipeline.sandbox.accounting.companies import Company, EmulatorBackend
from qb_pipeline.sandbox.oauth.backend import (
    ACCOUNTING_SCOPE,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_USER_EMAIL,
    DEMO_USER_PASSWORD,
    AuthenticationError,
    AuthorizationError,
    AuthorizePageError,
    AuthorizeRedirectError,
    FormError,
    OAuthError,
    OAuthServer,
)

REALMS = ("9130350000000001", "9130350000000002", "9130350000000003")
CALLBACK = "http://127.0.0.1:8765/integrations/quickbooks/callback"
DAY = 86_400


def _backend() -> EmulatorBackend:
    clock = EmulatorClock(date(2026, 11, 15))
    companies = {
        realm: Company(
            realm_id=realm,
            name=f"Company {n}",
            fiscal_year_start_month=1,
            home_currency="USD",
            timezone="America/Los_Angeles",
            clock=clock,
        )
        for n, realm in enumerate(REALMS, start=1)
    }
    return EmulatorBackend(companies=companies, clock=clock, seed=1, size="small")


@pytest.fixture
def server() -> OAuthServer:
    backend = _backend()
    return OAuthServer(backend=backend, clock=backend.clock)


def _callback(
    server: OAuthServer,
    realm: str = REALMS[0],
    scope: str = ACCOUNTING_SCOPE,
    state: str | None = "st-1",
    redirect_uri: str = CALLBACK,
    client_id: str = DEMO_CLIENT_ID,
) -> dict[str, str]:
    """Walk the authorize pages as the demo user and return the callback parameters."""
    request = server.begin_authorization(client_id, redirect_uri, "code", scope, state)
    server.sign_in(request.id, DEMO_USER_EMAIL, DEMO_USER_PASSWORD)
    location = server.approve(request.id, realm).location()
    assert location.startswith(redirect_uri)
    return dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))


def _tokens(server: OAuthServer, realm: str = REALMS[0], scope: str = ACCOUNTING_SCOPE) -> dict:
    code = _callback(server, realm=realm, scope=scope)["code"]
    return server.exchange_code(DEMO_CLIENT_ID, code, CALLBACK)


def _invalid_grant(call: object, *args: object, **kwargs: object) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    assert caught.value.error == "invalid_grant"
    assert caught.value.status == 400
    return caught.value


# -- authorize -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:8765/callback",
        "http://127.0.0.1:50123/integrations/quickbooks/callback",
        "http://localhost:3000/cb?org=7",
    ],
)
def test_demo_app_accepts_loopback_redirects_on_any_port(server, redirect_uri):
    request = server.begin_authorization(
        DEMO_CLIENT_ID, redirect_uri, "code", ACCOUNTING_SCOPE, "s"
    )
    assert request.redirect_uri == redirect_uri


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.com/callback",
        "http://127.0.0.2:8765/callback",
        "http://127.0.0.1:8765/callback#fragment",
        "http://user@127.0.0.1:8765/callback",
    ],
)
def test_demo_app_refuses_non_loopback_redirects_with_an_error_page(server, redirect_uri):
    with pytest.raises(AuthorizePageError, match="redirect_uri"):
        server.begin_authorization(DEMO_CLIENT_ID, redirect_uri, "code", ACCOUNTING_SCOPE, "s")


def test_registered_app_needs_an_exact_redirect_uri(server):
    server.register_app("acme", "acme-secret", ["https://app.acme.test/qbo/callback"])
    ok = server.begin_authorization(
        "acme", "https://app.acme.test/qbo/callback", "code", ACCOUNTING_SCOPE, None
    )
    assert ok.client_id == "acme"
    for wrong in ("https://app.acme.test/qbo/callback/", "http://127.0.0.1:9000/cb"):
        with pytest.raises(AuthorizePageError):
            server.begin_authorization("acme", wrong, "code", ACCOUNTING_SCOPE, None)


@pytest.mark.parametrize("client_id", [None, "", "nobody"])
def test_unknown_client_gets_an_error_page_not_a_redirect(server, client_id):
    with pytest.raises(AuthorizePageError):
        server.begin_authorization(client_id, CALLBACK, "code", ACCOUNTING_SCOPE, "s")


@pytest.mark.parametrize("scope", ["com.intuit.quickbooks.everything", "", "openid bogus"])
def test_unknown_scope_redirects_with_invalid_scope_and_state(server, scope):
    with pytest.raises(AuthorizeRedirectError) as caught:
        server.begin_authorization(DEMO_CLIENT_ID, CALLBACK, "code", scope, "xyz 1/2")
    assert caught.value.response.params == {"error": "invalid_scope", "state": "xyz 1/2"}
    assert caught.value.response.location().startswith(CALLBACK + "?error=invalid_scope&state=")


def test_response_type_other_than_code_redirects_unsupported(server):
    with pytest.raises(AuthorizeRedirectError) as caught:
        server.begin_authorization(DEMO_CLIENT_ID, CALLBACK, "token", ACCOUNTING_SCOPE, None)
    assert caught.value.response.params == {"error": "unsupported_response_type"}


def test_wrong_password_is_shown_on_the_sign_in_page(server):
    request = server.begin_authorization(DEMO_CLIENT_ID, CALLBACK, "code", ACCOUNTING_SCOPE, "s")
    with pytest.raises(FormError, match="email or password"):
        server.sign_in(request.id, DEMO_USER_EMAIL, "wrong")
    with pytest.raises(FormError):
        server.sign_in(request.id, "nobody@example.com", DEMO_USER_PASSWORD)
    # The request survives a typo: the right password still works.
    assert server.sign_in(request.id, DEMO_USER_EMAIL, DEMO_USER_PASSWORD).user_sub


def test_demo_user_can_choose_every_company(server):
    request = server.begin_authorization(DEMO_CLIENT_ID, CALLBACK, "code", ACCOUNTING_SCOPE, "s")
    signed_in = server.sign_in(request.id, DEMO_USER_EMAIL, DEMO_USER_PASSWORD)
    companies = server.companies_for(signed_in.user_sub)
    assert [c.realm_id for c in companies] == list(REALMS)


def test_user_cannot_authorize_a_company_they_lack(server):
    server.add_user("ann@example.com", "pw", realm_ids=[REALMS[1]])
    request = server.begin_authorization(DEMO_CLIENT_ID, CALLBACK, "code", ACCOUNTING_SCOPE, "s")
    server.sign_in(request.id, "ann@example.com", "pw")
    assert [c.realm_id for c in server.companies_for(request.user_sub)] == [REALMS[1]]
    with pytest.raises(FormError, match="Choose one of your companies"):
        server.approve(request.id, REALMS[0])
    assert server.approve(request.id, REALMS[1]).params["realmId"] == REALMS[1]


def test_approve_needs_a_signed_in_user(server):
    request = server.begin_authorization(DEMO_CLIENT_ID, CALLBACK, "code", ACCOUNTING_SCOPE, "s")
    with pytest.raises(AuthorizePageError, match="Sign in"):
        server.approve(request.id, REALMS[0])


def test_callback_carries_code_state_and_realm_in_that_order(server):
    params = _callback(server, realm=REALMS[2], state="Zq81LmT0")
    assert list(params) == ["code", "state", "realmId"]
    assert params["state"] == "Zq81LmT0"
    assert params["realmId"] == REALMS[2]
    assert params["code"].startswith("AB11")


def test_callback_without_state_echoes_no_state(server):
    assert "state" not in _callback(server, state=None)


def test_empty_state_is_echoed_exactly(server):
    assert _callback(server, state="")["state"] == ""


def test_callback_keeps_the_redirect_uris_own_query(server):
    params = _callback(server, redirect_uri="http://localhost:4000/cb?org=7")
    assert params["org"] == "7"
    assert "code" in params


def test_realm_id_only_comes_with_a_company_scope(server):
    assert "realmId" not in _callback(server, scope="openid email")
    assert "realmId" in _callback(server, scope="openid com.intuit.quickbooks.payment")


def test_cancel_returns_access_denied_with_state(server):
    request = server.begin_authorization(DEMO_CLIENT_ID, CALLBACK, "code", ACCOUNTING_SCOPE, "s-9")
    server.sign_in(request.id, DEMO_USER_EMAIL, DEMO_USER_PASSWORD)
    response = server.deny(request.id)
    assert response.location() == CALLBACK + "?error=access_denied&state=s-9"


def test_authorization_request_is_single_use(server):
    request = server.begin_authorization(DEMO_CLIENT_ID, CALLBACK, "code", ACCOUNTING_SCOPE, "s")
    server.sign_in(request.id, DEMO_USER_EMAIL, DEMO_USER_PASSWORD)
    server.approve(request.id, REALMS[0])
    with pytest.raises(AuthorizePageError, match="expired or was already used"):
        server.approve(request.id, REALMS[0])


def test_authorization_request_expires_after_thirty_minutes(server):
    request = server.begin_authorization(DEMO_CLIENT_ID, CALLBACK, "code", ACCOUNTING_SCOPE, "s")
    server.advance(30 * 60)
    with pytest.raises(AuthorizePageError):
        server.sign_in(request.id, DEMO_USER_EMAIL, DEMO_USER_PASSWORD)


# -- code exchange ---------------------------------------------------------------------


def test_code_exchange_returns_the_reference_token_body(server):
    body = _tokens(server)
    assert list(body) == [
        "token_type",
        "access_token",
        "expires_in",
        "refresh_token",
        "x_refresh_token_expires_in",
    ]
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8_726_400
    assert len(body["access_token"]) >= 900
    assert body["access_token"].startswith("eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..")
    assert body["refresh_token"].startswith("AB11")
    assert len(body["refresh_token"]) == 50


def test_hard_expiry_is_reported_only_when_asked(server):
    code = _callback(server)["code"]
    body = server.exchange_code(DEMO_CLIENT_ID, code, CALLBACK, include_hard_expiry=True)
    assert body["x_refresh_token_hard_expires_in"] == 157_680_000
    server.advance(3600)
    refreshed = server.refresh(DEMO_CLIENT_ID, body["refresh_token"], include_hard_expiry=True)
    assert refreshed["x_refresh_token_hard_expires_in"] == 157_680_000 - 3600
    assert "x_refresh_token_hard_expires_in" not in server.refresh(
        DEMO_CLIENT_ID, body["refresh_token"]
    )


def test_replayed_code_fails_and_revokes_the_tokens_it_issued(server):
    code = _callback(server)["code"]
    first = server.exchange_code(DEMO_CLIENT_ID, code, CALLBACK)
    assert server.authenticate(first["access_token"], REALMS[0])
    _invalid_grant(server.exchange_code, DEMO_CLIENT_ID, code, CALLBACK)
    with pytest.raises(AuthenticationError, match="Token revoked"):
        server.authenticate(first["access_token"], REALMS[0])
    _invalid_grant(server.refresh, DEMO_CLIENT_ID, first["refresh_token"])


def test_code_expires_after_five_minutes(server):
    code = _callback(server)["code"]
    server.advance(5 * 60)
    _invalid_grant(server.exchange_code, DEMO_CLIENT_ID, code, CALLBACK)


def test_code_still_works_just_before_five_minutes(server):
    code = _callback(server)["code"]
    server.advance(5 * 60 - 2)
    assert server.exchange_code(DEMO_CLIENT_ID, code, CALLBACK)["access_token"]


def test_code_exchange_needs_the_authorize_redirect_uri(server):
    code = _callback(server)["code"]
    _invalid_grant(server.exchange_code, DEMO_CLIENT_ID, code, "http://127.0.0.1:8765/other")
    # A mismatch does not burn the code.
    assert server.exchange_code(DEMO_CLIENT_ID, code, CALLBACK)["refresh_token"]


def test_code_issued_to_another_client_is_rejected(server):
    server.register_app("acme", "acme-secret", [CALLBACK])
    code = _callback(server)["code"]
    _invalid_grant(server.exchange_code, "acme", code, CALLBACK)


def test_unknown_code_is_rejected(server):
    _invalid_grant(server.exchange_code, DEMO_CLIENT_ID, "AB11" + "x" * 46, CALLBACK)


def test_client_authentication_checks_the_secret(server):
    assert (
        server.authenticate_client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).client_id == DEMO_CLIENT_ID
    )
    for client_id, secret in [(DEMO_CLIENT_ID, "nope"), ("nobody", DEMO_CLIENT_SECRET)]:
        with pytest.raises(OAuthError) as caught:
            server.authenticate_client(client_id, secret)
        assert (caught.value.error, caught.value.status) == ("invalid_client", 401)


# -- rotation --------------------------------------------------------------------------


def test_refresh_within_a_day_returns_the_same_refresh_token_counting_down(server):
    first = _tokens(server)
    server.advance(3600)
    second = server.refresh(DEMO_CLIENT_ID, first["refresh_token"])
    assert second["refresh_token"] == first["refresh_token"]
    assert second["x_refresh_token_expires_in"] == 8_726_400 - 3600
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == 3600
    server.advance(20 * 3600)
    third = server.refresh(DEMO_CLIENT_ID, first["refresh_token"])
    assert third["refresh_token"] == first["refresh_token"]
    assert third["x_refresh_token_expires_in"] == 8_726_400 - 21 * 3600


def test_refresh_after_a_day_rotates_and_the_old_token_is_stale(server):
    first = _tokens(server)
    server.advance(DAY)
    second = server.refresh(DEMO_CLIENT_ID, first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["refresh_token"].startswith("AB11")
    # The rolling 100-day clock restarts with the new value.
    assert second["x_refresh_token_expires_in"] == 8_726_400
    error = _invalid_grant(server.refresh, DEMO_CLIENT_ID, first["refresh_token"])
    assert error.body() == {
        "error_description": "Incorrect or invalid refresh token",
        "error": "invalid_grant",
    }
    assert (
        server.refresh(DEMO_CLIENT_ID, second["refresh_token"])["refresh_token"]
        == (second["refresh_token"])
    )


def test_unused_refresh_token_dies_after_its_rolling_lifetime(server):
    first = _tokens(server)
    server.advance(8_726_400)
    _invalid_grant(server.refresh, DEMO_CLIENT_ID, first["refresh_token"])


def test_refresh_token_works_until_the_last_second_of_its_lifetime(server):
    first = _tokens(server)
    server.advance(8_726_400 - 2)
    assert (
        server.refresh(DEMO_CLIENT_ID, first["refresh_token"])["x_refresh_token_expires_in"]
        == 8_726_400
    )


def test_five_year_hard_expiry_caps_a_grant_refreshed_forever(server):
    token = _tokens(server)["refresh_token"]
    elapsed = 0
    # Refresh every 90 days (inside the rolling lifetime) until the 5-year cap stops it.
    while elapsed + 90 * DAY < 157_680_000:
        server.advance(90 * DAY)
        elapsed += 90 * DAY
        body = server.refresh(DEMO_CLIENT_ID, token, include_hard_expiry=True)
        token = body["refresh_token"]
        assert body["x_refresh_token_hard_expires_in"] == 157_680_000 - elapsed
        # The rolling lifetime never reaches past the hard expiry.
        assert body["x_refresh_token_expires_in"] <= body["x_refresh_token_hard_expires_in"]
    server.advance(157_680_000 - elapsed)
    _invalid_grant(server.refresh, DEMO_CLIENT_ID, token)


def test_strict_rotation_issues_a_new_refresh_token_every_time(server):
    server.strict_rotation = True
    first = _tokens(server)
    second = server.refresh(DEMO_CLIENT_ID, first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["x_refresh_token_expires_in"] == 8_726_400
    _invalid_grant(server.refresh, DEMO_CLIENT_ID, first["refresh_token"])
    third = server.refresh(DEMO_CLIENT_ID, second["refresh_token"])
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])


def test_strict_rotation_can_be_turned_off_at_run_time(server):
    server.strict_rotation = True
    first = _tokens(server)
    second = server.refresh(DEMO_CLIENT_ID, first["refresh_token"])
    server.strict_rotation = False
    assert (
        server.refresh(DEMO_CLIENT_ID, second["refresh_token"])["refresh_token"]
        == (second["refresh_token"])
    )


def test_stale_token_grace_period_answers_with_the_current_token(server):
    server.stale_grace_seconds = 60
    first = _tokens(server)
    server.advance(DAY)
    second = server.refresh(DEMO_CLIENT_ID, first["refresh_token"])
    server.advance(30)
    again = server.refresh(DEMO_CLIENT_ID, first["refresh_token"])
    assert again["refresh_token"] == second["refresh_token"]
    server.advance(31)
    _invalid_grant(server.refresh, DEMO_CLIENT_ID, first["refresh_token"])


def test_refresh_token_of_another_client_is_rejected(server):
    server.register_app("acme", "acme-secret", [CALLBACK])
    first = _tokens(server)
    _invalid_grant(server.refresh, "acme", first["refresh_token"])


def test_concurrent_refreshes_after_the_window_have_one_winner(server):
    first = _tokens(server)
    server.advance(DAY)
    results: list[str] = []
    barrier = threading.Barrier(8)

    def refresh() -> None:
        barrier.wait()
        try:
            results.append(server.refresh(DEMO_CLIENT_ID, first["refresh_token"])["refresh_token"])
        except OAuthError as error:
            results.append(error.error)

    threads = [threading.Thread(target=refresh) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if r != "invalid_grant"]
    assert len(winners) == 1
    assert results.count("invalid_grant") == 7


# -- access tokens ---------------------------------------------------------------------


def test_old_access_token_stays_valid_until_its_own_expiry_after_a_refresh(server):
    first = _tokens(server)
    server.advance(1800)
    server.refresh(DEMO_CLIENT_ID, first["refresh_token"])
    assert server.authenticate(first["access_token"], REALMS[0]).realm_id == REALMS[0]
    server.advance(1800)
    with pytest.raises(AuthenticationError, match=r"^Token expired: "):
        server.authenticate(first["access_token"], REALMS[0])


def test_access_grant_describes_the_token(server):
    body = _tokens(server, realm=REALMS[1])
    grant = server.authenticate(body["access_token"], REALMS[1])
    assert (grant.client_id, grant.realm_id, grant.scope) == (
        DEMO_CLIENT_ID,
        REALMS[1],
        ACCOUNTING_SCOPE,
    )
    assert (grant.expires_at - server.now()).total_seconds() == pytest.approx(3600, abs=2)
    # The whole Authorization header value is accepted too.
    assert server.authenticate("Bearer " + body["access_token"], REALMS[1]) == grant


@pytest.mark.parametrize("token", ["", "short", "x" * 63, "x" * 4097])
def test_malformed_bearer_token_is_rejected_by_length(server, token):
    with pytest.raises(AuthenticationError) as caught:
        server.authenticate(token, REALMS[0])
    assert caught.value.detail == "Malformed bearer token: too short or too long"


def test_unknown_token_reads_as_expired_echoing_only_its_header(server):
    forged = _tokens(server)["access_token"][:-10] + "A" * 10
    with pytest.raises(AuthenticationError) as caught:
        server.authenticate(forged, REALMS[0])
    assert caught.value.detail == "Token expired: eyJlbmMiOiJBMTI4Q0JDLUh"


def test_token_for_another_company_is_not_authorized(server):
    body = _tokens(server, realm=REALMS[0])
    with pytest.raises(AuthorizationError) as caught:
        server.authenticate(body["access_token"], REALMS[1])
    assert REALMS[1] in caught.value.detail


def test_token_without_accounting_scope_cannot_read_company_data(server):
    body = _tokens(server, scope="openid email")
    with pytest.raises(AuthorizationError):
        server.authenticate(body["access_token"], REALMS[0])


def test_revoking_the_refresh_token_ends_the_whole_grant(server):
    body = _tokens(server)
    assert server.revoke(DEMO_CLIENT_ID, body["refresh_token"]) is True
    with pytest.raises(AuthenticationError, match=r"^Token revoked$"):
        server.authenticate(body["access_token"], REALMS[0])
    _invalid_grant(server.refresh, DEMO_CLIENT_ID, body["refresh_token"])


def test_revoking_the_access_token_ends_the_whole_grant(server):
    body = _tokens(server)
    server.revoke(DEMO_CLIENT_ID, body["access_token"])
    _invalid_grant(server.refresh, DEMO_CLIENT_ID, body["refresh_token"])


def test_revoking_an_unknown_token_is_accepted(server):
    assert server.revoke(DEMO_CLIENT_ID, "AB11" + "0" * 46) is False


def test_revoking_another_clients_token_is_refused(server):
    server.register_app("acme", "acme-secret", [CALLBACK])
    body = _tokens(server)
    with pytest.raises(OAuthError) as caught:
        server.revoke("acme", body["refresh_token"])
    assert caught.value.error == "invalid_request"
    assert server.authenticate(body["access_token"], REALMS[0])


# -- fault injection and inspection ----------------------------------------------------


def test_expire_access_tokens_forces_token_expired_for_one_realm(server):
    a = _tokens(server, realm=REALMS[0])
    b = _tokens(server, realm=REALMS[1])
    assert server.expire_access_tokens(REALMS[0]) == 1
    with pytest.raises(AuthenticationError, match=r"^Token expired: "):
        server.authenticate(a["access_token"], REALMS[0])
    assert server.authenticate(b["access_token"], REALMS[1])
    # Refreshing still works and yields a usable access token.
    fresh = server.refresh(DEMO_CLIENT_ID, a["refresh_token"])
    assert server.authenticate(fresh["access_token"], REALMS[0])
    assert server.expire_access_tokens() == 2


def test_revoke_refresh_tokens_makes_refresh_fail_with_invalid_grant(server):
    a = _tokens(server, realm=REALMS[0])
    b = _tokens(server, realm=REALMS[1])
    assert server.revoke_refresh_tokens(REALMS[1]) == 1
    _invalid_grant(server.refresh, DEMO_CLIENT_ID, b["refresh_token"])
    with pytest.raises(AuthenticationError, match="Token revoked"):
        server.authenticate(b["access_token"], REALMS[1])
    assert server.refresh(DEMO_CLIENT_ID, a["refresh_token"])
    assert server.revoke_refresh_tokens() == 1
    _invalid_grant(server.refresh, DEMO_CLIENT_ID, a["refresh_token"])


def test_issued_tokens_lists_every_token_with_its_status(server):
    first = _tokens(server)
    server.advance(DAY)
    second = server.refresh(DEMO_CLIENT_ID, first["refresh_token"])
    other = _tokens(server, realm=REALMS[2])
    server.revoke(DEMO_CLIENT_ID, other["refresh_token"])
    rows = {row["value"]: row for row in server.issued_tokens()}
    assert len(rows) == 6
    assert rows[first["access_token"]]["status"] == "expired"
    assert rows[first["refresh_token"]]["status"] == "stale"
    assert rows[second["access_token"]]["status"] == "active"
    assert rows[second["refresh_token"]]["status"] == "active"
    assert rows[other["access_token"]]["status"] == "revoked"
    assert rows[other["refresh_token"]] == {
        "kind": "refresh",
        "value": other["refresh_token"],
        "client_id": DEMO_CLIENT_ID,
        "realm_id": REALMS[2],
        "issued_at": rows[other["access_token"]]["issued_at"],
        "status": "revoked",
    }
    assert datetime.fromisoformat(rows[other["refresh_token"]]["issued_at"]).tzinfo is not None
    json.dumps(server.issued_tokens())  # JSON-ready as it is
    assert [c["used"] for c in server.issued_codes()] == [True, True]


def test_tokens_are_random_and_never_repeat(server):
    bodies = [_tokens(server) for _ in range(20)]
    values = [b["access_token"] for b in bodies] + [b["refresh_token"] for b in bodies]
    assert len(set(values)) == 40
    alphabet = set(string.ascii_letters + string.digits)
    assert all(set(b["refresh_token"]) <= alphabet for b in bodies)
    # 46 random alphanumerics after the prefix: far beyond guessing.
    assert len({b["refresh_token"][4:12] for b in bodies}) == 20


def test_advance_only_moves_forward(server):
    with pytest.raises(ValueError, match="forward"):
        server.advance(-1)


# -- OpenID ----------------------------------------------------------------------------


def test_id_token_is_rs256_signed_and_verifies_against_the_jwks(server):
    code = _callback(server, scope=f"openid email {ACCOUNTING_SCOPE}")["code"]
    body = server.exchange_code(DEMO_CLIENT_ID, code, CALLBACK, issuer="http://emu.test/op/v1")
    token = body["id_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    key = jwt.PyJWKSet.from_dict(server.jwks())[header["kid"]].key
    claims = jwt.decode(
        token, key, algorithms=["RS256"], audience=DEMO_CLIENT_ID, issuer="http://emu.test/op/v1"
    )
    assert claims["aud"] == [DEMO_CLIENT_ID]
    assert claims["realmid"] == REALMS[0]
    assert claims["exp"] - claims["iat"] == 3600
    # A refresh does not repeat the id_token.
    assert "id_token" not in server.refresh(DEMO_CLIENT_ID, body["refresh_token"])


def test_userinfo_claims_follow_the_granted_scopes(server):
    full = _tokens(server, scope="openid email profile")
    claims = server.userinfo(full["access_token"])
    assert claims == {
        "sub": claims["sub"],
        "email": DEMO_USER_EMAIL,
        "emailVerified": True,
        "givenName": "Demo",
        "familyName": "User",
    }
    assert set(server.userinfo(_tokens(server, scope="openid")["access_token"])) == {"sub"}
    with pytest.raises(AuthorizationError):
        server.userinfo(_tokens(server)["access_token"])


# -- playground issuing ----------------------------------------------------------------


def test_issue_tokens_gives_a_working_grant_without_the_pages(server):
    body = server.issue_tokens(DEMO_CLIENT_ID, REALMS[1])
    assert body["token_type"] == "bearer"
    assert server.authenticate(body["access_token"], REALMS[1]).scope == ACCOUNTING_SCOPE
    assert (
        server.refresh(DEMO_CLIENT_ID, body["refresh_token"])["refresh_token"]
        == (body["refresh_token"])
    )
    assert "id_token" in server.issue_tokens(DEMO_CLIENT_ID, REALMS[1], scope="openid")


def test_issue_tokens_rejects_unknown_client_realm_and_scope(server):
    with pytest.raises(ValueError, match="'nobody' is not a registered app"):
        server.issue_tokens("nobody", REALMS[0])
    with pytest.raises(KeyError):
        server.issue_tokens(DEMO_CLIENT_ID, "123")
    with pytest.raises(ValueError, match="unknown scope 'bogus'"):
        server.issue_tokens(DEMO_CLIENT_ID, REALMS[0], scope="bogus")


@pytest.mark.parametrize(
    ("client_id", "secret", "uris"),
    [
        ("", "s", []),
        ("acme", "", []),
        ("acme", "s", ["/relative/callback"]),
        ("acme", "s", ["ftp://example.com/cb"]),
        ("acme", "s", ["https://example.com/cb#frag"]),
    ],
)
def test_register_app_rejects_unusable_settings(server, client_id, secret, uris):
    with pytest.raises(ValueError, match=r"client_id|redirect URI"):
        server.register_app(client_id, secret, uris)
