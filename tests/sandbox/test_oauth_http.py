"""OAuth 2.0 / OpenID Connect through real HTTP on loopback, as Intuit's clients see it."""

from __future__ import annotations

import base64
import re
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from markupsafe import escape

from qb_pipeline.sandbox.oauth.backend import (
    ACCOUNTING_SCOPE,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_USER_EMAIL,
    DEMO_USER_PASSWORD,
)

TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
CALLBACK = "http://127.0.0.1:8765/integrations/quickbooks/callback"
DEMO_AUTH = (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
DAY = 86_400
TID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
TXN_FIELD = re.compile(r'name="txn" value="([^"]+)"')
REALM_FIELD = re.compile(r'name="realm_id" value="([^"]+)"')


@pytest.fixture
def client(emulator) -> httpx.Client:
    with httpx.Client(base_url=emulator.url, follow_redirects=False, timeout=10) as http:
        yield http


@pytest.fixture
def private(make_emulator):
    """A private emulator (its OAuth clock, rotation mode or grants get changed)."""
    running = make_emulator(limits_enabled=False)
    with httpx.Client(base_url=running.url, follow_redirects=False, timeout=10) as http:
        yield running, http


def _authorize_query(**overrides: str | None) -> dict[str, str]:
    query = {
        "client_id": DEMO_CLIENT_ID,
        "response_type": "code",
        "scope": ACCOUNTING_SCOPE,
        "redirect_uri": CALLBACK,
        "state": "st-1",
    }
    query.update(overrides)
    return {k: v for k, v in query.items() if v is not None}


def _sign_in(http: httpx.Client, authorize_url: str) -> tuple[str, httpx.Response]:
    """Open the authorize page and sign in as the demo user: (txn, company page)."""
    page = http.get(authorize_url)
    assert page.status_code == 200, page.text
    txn = TXN_FIELD.search(page.text).group(1)
    chooser = http.post(
        "/connect/oauth2/signin",
        data={"txn": txn, "email": DEMO_USER_EMAIL, "password": DEMO_USER_PASSWORD},
    )
    assert chooser.status_code == 200
    return txn, chooser


def _approve(http: httpx.Client, authorize_url: str, realm_id: str | None = None) -> str:
    """Sign in, pick a company (the first by default), click Authorize: the Location."""
    txn, chooser = _sign_in(http, authorize_url)
    realm_id = realm_id or REALM_FIELD.search(chooser.text).group(1)
    done = http.post(
        "/connect/oauth2/authorize", data={"txn": txn, "realm_id": realm_id, "action": "authorize"}
    )
    assert done.status_code == 302, done.text
    return done.headers["location"]


def _callback(http: httpx.Client, realm_id: str | None = None, **query: str | None) -> dict:
    location = _approve(http, "/connect/oauth2?" + urlencode(_authorize_query(**query)), realm_id)
    return dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))


def _exchange(
    http: httpx.Client, code: str, redirect_uri: str = CALLBACK, **kwargs
) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    kwargs.setdefault("auth", DEMO_AUTH)
    return http.post(TOKEN_PATH, data=form, **kwargs)


def _refresh(http: httpx.Client, refresh_token: str, **kwargs) -> httpx.Response:
    kwargs.setdefault("auth", DEMO_AUTH)
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return http.post(TOKEN_PATH, data=form, **kwargs)


def _tokens(http: httpx.Client, realm_id: str | None = None, scope: str = ACCOUNTING_SCOPE) -> dict:
    """A fresh grant through the pages; the body plus the callback's realmId."""
    params = _callback(http, realm_id=realm_id, scope=scope)
    response = _exchange(http, params["code"])
    assert response.status_code == 200, response.text
    return response.json() | {"realmId": params.get("realmId")}


def _company_info(http: httpx.Client, realm_id: str, access_token: str) -> httpx.Response:
    return http.get(
        f"/v3/company/{realm_id}/companyinfo/{realm_id}",
        params={"minorversion": "75"},
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )


def _assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert TID.match(response.headers["intuit_tid"])
    body = response.json()
    assert body["error"] == error
    return body


# -- discovery -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/openid_configuration",
        "/.well-known/openid_configuration/",
        "/.well-known/openid_sandbox_configuration",
        "/.well-known/openid_sandbox_configuration/",
    ],
)
def test_discovery_documents_name_the_emulators_own_origin(emulator, client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert TID.match(response.headers["intuit_tid"])
    origin = emulator.url
    assert response.json() == {
        "issuer": f"{origin}/op/v1",
        "authorization_endpoint": f"{origin}/connect/oauth2",
        "token_endpoint": f"{origin}/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": f"{origin}/v1/openid_connect/userinfo",
        "revocation_endpoint": f"{origin}/v2/oauth2/tokens/revoke",
        "jwks_uri": f"{origin}/op/v1/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }


def test_discovery_origin_follows_the_host_the_client_used(emulator, client):
    port = urlsplit(emulator.url).port
    response = client.get(
        "/.well-known/openid_configuration", headers={"Host": f"localhost:{port}"}
    )
    assert response.json()["token_endpoint"] == f"http://localhost:{port}/oauth2/v1/tokens/bearer"
    assert response.json()["issuer"] == f"http://localhost:{port}/op/v1"


def test_jwks_serves_the_rsa_key_that_signs_id_tokens(client):
    keys = client.get("/op/v1/jwks").json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["alg"] == "RS256"
    assert keys[0]["use"] == "sig"
    assert keys[0]["kid"]


# -- authorize pages -------------------------------------------------------------------


def test_authorize_shows_an_accessible_sign_in_form(client):
    page = client.get("/connect/oauth2", params=_authorize_query())
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert TID.match(page.headers["intuit_tid"])
    html = page.text
    assert '<html lang="en">' in html
    assert '<label for="email">Email</label>' in html
    assert 'id="email" name="email"' in html
    assert '<label for="password">Password</label>' in html
    assert 'type="password" id="password"' in html
    assert 'action="/connect/oauth2/signin"' in html
    assert "<script" not in html


def test_unknown_client_gets_an_error_page_not_a_redirect(client):
    page = client.get("/connect/oauth2", params=_authorize_query(client_id="nobody"))
    assert page.status_code == 400
    assert "location" not in page.headers
    assert 'role="alert"' in page.text
    assert "not registered" in page.text


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(client):
    query = _authorize_query(redirect_uri="https://evil.example.com/callback")
    page = client.get("/connect/oauth2", params=query)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "redirect_uri" in page.text


def test_missing_redirect_uri_gets_an_error_page(client):
    page = client.get("/connect/oauth2", params=_authorize_query(redirect_uri=None))
    assert page.status_code == 400
    assert "location" not in page.headers


def test_unknown_scope_redirects_with_invalid_scope(client):
    response = client.get(
        "/connect/oauth2", params=_authorize_query(scope="com.intuit.quickbooks.everything")
    )
    assert response.status_code == 302
    assert response.headers["location"] == f"{CALLBACK}?error=invalid_scope&state=st-1"


def test_wrong_password_shows_a_clear_message_on_the_sign_in_page(client):
    page = client.get("/connect/oauth2", params=_authorize_query())
    txn = TXN_FIELD.search(page.text).group(1)
    again = client.post(
        "/connect/oauth2/signin",
        data={"txn": txn, "email": DEMO_USER_EMAIL, "password": "not-the-password"},
    )
    assert again.status_code == 200
    assert 'role="alert"' in again.text
    assert "The email or password you entered is incorrect." in again.text
    assert '<label for="password">Password</label>' in again.text
    assert f'value="{DEMO_USER_EMAIL}"' in again.text  # the email is kept, the password not
    assert "not-the-password" not in again.text
    # The same request can still be completed with the right password.
    ok = client.post(
        "/connect/oauth2/signin",
        data={"txn": txn, "email": DEMO_USER_EMAIL, "password": DEMO_USER_PASSWORD},
    )
    assert "Choose your company" in ok.text


def test_company_page_lists_every_company_with_labels(emulator, client):
    _, chooser = _sign_in(client, "/connect/oauth2?" + urlencode(_authorize_query()))
    html = chooser.text
    assert "<h1>Choose your company</h1>" in html
    companies = emulator.state.backend.list_companies()
    assert len(companies) >= 2
    assert REALM_FIELD.findall(html) == [c.realm_id for c in companies]
    for company in companies:
        assert f'<label for="realm-{company.realm_id}">' in html
        assert str(escape(company.name)) in html
    assert 'value="authorize">Authorize</button>' in html
    assert 'value="cancel" formnovalidate>Cancel</button>' in html


def test_sign_in_with_an_unknown_transaction_shows_an_error_page(client):
    response = client.post(
        "/connect/oauth2/signin",
        data={"txn": "made-up", "email": DEMO_USER_EMAIL, "password": DEMO_USER_PASSWORD},
    )
    assert response.status_code == 400
    assert "expired or was already used" in response.text


def test_authorize_redirects_with_code_state_and_realm(emulator, client):
    second = emulator.state.backend.list_companies()[1].realm_id
    state = "Zq81 LmT0/+=&?é"
    location = _approve(
        client, "/connect/oauth2?" + urlencode(_authorize_query(state=state)), realm_id=second
    )
    assert location.startswith(CALLBACK + "?code=AB11")
    params = parse_qsl(urlsplit(location).query)
    assert [k for k, _ in params] == ["code", "state", "realmId"]
    assert dict(params)["state"] == state
    assert dict(params)["realmId"] == second


def test_no_state_sent_means_no_state_echoed(client):
    params = _callback(client, state=None)
    assert set(params) == {"code", "realmId"}


def test_cancel_redirects_with_access_denied_and_the_state(client):
    txn, _ = _sign_in(client, "/connect/oauth2?" + urlencode(_authorize_query(state="keep-me")))
    response = client.post("/connect/oauth2/authorize", data={"txn": txn, "action": "cancel"})
    assert response.status_code == 302
    assert response.headers["location"] == f"{CALLBACK}?error=access_denied&state=keep-me"


def test_authorize_without_choosing_a_company_asks_again(client):
    txn, _ = _sign_in(client, "/connect/oauth2?" + urlencode(_authorize_query()))
    response = client.post("/connect/oauth2/authorize", data={"txn": txn, "action": "authorize"})
    assert response.status_code == 200
    assert "Choose one of your companies to connect." in response.text


# -- token endpoint: code exchange ---------------------------------------------------------


def test_code_exchange_with_basic_auth_returns_the_reference_body(client):
    code = _callback(client)["code"]
    response = _exchange(client, code)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert TID.match(response.headers["intuit_tid"])
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "token_type",
        "access_token",
        "expires_in",
        "refresh_token",
        "x_refresh_token_expires_in",
    }
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8_726_400
    assert len(body["access_token"]) > 900
    assert re.fullmatch(r"AB11[A-Za-z0-9]{46}", body["refresh_token"])


def test_code_exchange_with_client_credentials_in_the_form(client):
    code = _callback(client)["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
    }
    response = client.post(TOKEN_PATH, data=form)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"


def test_tokens_from_the_code_read_company_data(client):
    tokens = _tokens(client)
    response = _company_info(client, tokens["realmId"], tokens["access_token"])
    assert response.status_code == 200, response.text


def test_wrong_secret_by_basic_auth_is_invalid_client(client):
    code = _callback(client)["code"]
    response = _exchange(client, code, auth=(DEMO_CLIENT_ID, "wrong-secret"))
    assert _assert_oauth_error(response, 401, "invalid_client") == {"error": "invalid_client"}
    assert response.headers["www-authenticate"].startswith("Basic")
    # The code was not spent by the failed attempt.
    assert _exchange(client, code).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Basic !!!not-base64!!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Digest abc"],
)
def test_malformed_basic_header_is_invalid_client(client, header):
    response = client.post(
        TOKEN_PATH,
        data={"grant_type": "refresh_token", "refresh_token": "AB11x"},
        headers={"Authorization": header},
    )
    _assert_oauth_error(response, 401, "invalid_client")


def test_wrong_secret_in_the_form_is_invalid_client(client):
    code = _callback(client)["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": "wrong-secret",
    }
    _assert_oauth_error(client.post(TOKEN_PATH, data=form), 401, "invalid_client")


def test_unknown_client_in_the_form_is_invalid_client(client):
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "AB11x",
        "client_id": "nobody",
        "client_secret": "x",
    }
    _assert_oauth_error(client.post(TOKEN_PATH, data=form), 401, "invalid_client")


def test_missing_client_credentials_is_invalid_client(client):
    code = _callback(client)["code"]
    response = _exchange(client, code, auth=None)
    _assert_oauth_error(response, 401, "invalid_client")


def test_wrong_redirect_uri_at_exchange_is_invalid_grant(client):
    code = _callback(client)["code"]
    response = _exchange(client, code, redirect_uri="http://127.0.0.1:8765/somewhere-else")
    assert _assert_oauth_error(response, 400, "invalid_grant") == {"error": "invalid_grant"}


def test_reused_code_is_invalid_grant_and_revokes_its_tokens(client):
    params = _callback(client)
    first = _exchange(client, params["code"]).json()
    assert _company_info(client, params["realmId"], first["access_token"]).status_code == 200
    _assert_oauth_error(_exchange(client, params["code"]), 400, "invalid_grant")
    revoked = _company_info(client, params["realmId"], first["access_token"])
    assert revoked.status_code == 401
    assert revoked.json()["fault"]["error"][0]["detail"] == "Token revoked"
    _assert_oauth_error(_refresh(client, first["refresh_token"]), 400, "invalid_grant")


def test_code_expires_after_five_minutes_of_emulator_time(private):
    running, http = private
    code = _callback(http)["code"]
    running.state.oauth.advance(5 * 60)
    _assert_oauth_error(_exchange(http, code), 400, "invalid_grant")


def test_hard_expiry_is_reported_only_on_request(client):
    code = _callback(client)["code"]
    header = {"x-include-refresh-token-hard-expires-in": "true"}
    body = _exchange(client, code, headers=header).json()
    assert body["x_refresh_token_hard_expires_in"] == 157_680_000
    assert "x_refresh_token_hard_expires_in" not in _refresh(client, body["refresh_token"]).json()
    again = _refresh(client, body["refresh_token"], headers=header).json()
    assert 157_680_000 - 5 <= again["x_refresh_token_hard_expires_in"] <= 157_680_000


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"code": "x", "redirect_uri": CALLBACK}, "invalid_request"),
        ({"grant_type": "password", "username": "u", "password": "p"}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "redirect_uri": CALLBACK}, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "AB11x"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
    ],
)
def test_malformed_token_requests_are_400(client, form, error):
    _assert_oauth_error(client.post(TOKEN_PATH, data=form, auth=DEMO_AUTH), 400, error)


def test_json_token_request_is_invalid_request(client):
    response = client.post(
        TOKEN_PATH, json={"grant_type": "refresh_token", "refresh_token": "x"}, auth=DEMO_AUTH
    )
    _assert_oauth_error(response, 400, "invalid_request")


# -- token endpoint: refresh and rotation ----------------------------------------------------


def test_refresh_within_a_day_returns_the_same_refresh_token(private):
    running, http = private
    first = _tokens(http)
    running.state.oauth.advance(1800)
    response = _refresh(http, first["refresh_token"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert TID.match(response.headers["intuit_tid"])
    second = response.json()
    assert second["refresh_token"] == first["refresh_token"]
    assert second["x_refresh_token_expires_in"] == 8_726_400 - 1800
    assert second["access_token"] != first["access_token"]
    # The previous access token keeps working until its own expiry.
    assert _company_info(http, first["realmId"], first["access_token"]).status_code == 200
    assert _company_info(http, first["realmId"], second["access_token"]).status_code == 200
    running.state.oauth.advance(1800)
    assert _company_info(http, first["realmId"], first["access_token"]).status_code == 401
    assert _company_info(http, first["realmId"], second["access_token"]).status_code == 200


def test_refresh_after_a_day_rotates_and_the_old_token_goes_stale(private):
    running, http = private
    first = _tokens(http)
    running.state.oauth.advance(DAY)
    second = _refresh(http, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["x_refresh_token_expires_in"] == 8_726_400
    stale = _refresh(http, first["refresh_token"])
    assert _assert_oauth_error(stale, 400, "invalid_grant") == {
        "error_description": "Incorrect or invalid refresh token",
        "error": "invalid_grant",
    }
    assert first["refresh_token"] not in stale.text
    assert _refresh(http, second["refresh_token"]).status_code == 200


def test_strict_rotation_issues_a_new_refresh_token_on_every_refresh(make_emulator):
    running = make_emulator(limits_enabled=False, strict_rotation=True)
    with httpx.Client(base_url=running.url, follow_redirects=False) as http:
        first = _tokens(http)
        second = _refresh(http, first["refresh_token"]).json()
        assert second["refresh_token"] != first["refresh_token"]
        _assert_oauth_error(_refresh(http, first["refresh_token"]), 400, "invalid_grant")
        third = _refresh(http, second["refresh_token"]).json()
        assert third["refresh_token"] != second["refresh_token"]


def test_concurrent_refreshes_after_the_window_have_exactly_one_winner(private):
    running, http = private
    first = _tokens(http)
    running.state.oauth.advance(DAY)
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def refresh() -> None:
        with httpx.Client(base_url=running.url) as own:
            barrier.wait()
            statuses.append(_refresh(own, first["refresh_token"]).status_code)

    threads = [threading.Thread(target=refresh) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 400, 400, 400, 400, 400]


def test_expired_access_token_gets_401_and_a_refresh_recovers(private):
    running, http = private
    tokens = _tokens(http)
    running.state.oauth.expire_access_tokens()
    expired = _company_info(http, tokens["realmId"], tokens["access_token"])
    assert expired.status_code == 401
    assert expired.json()["fault"]["error"][0]["detail"].startswith("Token expired: ")
    fresh = _refresh(http, tokens["refresh_token"]).json()
    assert _company_info(http, tokens["realmId"], fresh["access_token"]).status_code == 200


def test_revoked_refresh_tokens_fault_gives_invalid_grant(private):
    running, http = private
    tokens = _tokens(http)
    assert running.state.oauth.revoke_refresh_tokens(tokens["realmId"]) == 1
    _assert_oauth_error(_refresh(http, tokens["refresh_token"]), 400, "invalid_grant")


# -- revoke ----------------------------------------------------------------------------


def test_revoke_ends_the_grant_then_refresh_is_invalid_grant(client):
    tokens = _tokens(client)
    response = client.post(REVOKE_PATH, json={"token": tokens["refresh_token"]}, auth=DEMO_AUTH)
    assert response.status_code == 200
    assert response.content == b""
    assert TID.match(response.headers["intuit_tid"])
    _assert_oauth_error(_refresh(client, tokens["refresh_token"]), 400, "invalid_grant")
    gone = _company_info(client, tokens["realmId"], tokens["access_token"])
    assert gone.status_code == 401
    assert gone.json()["fault"]["error"][0]["detail"] == "Token revoked"


def test_revoke_by_access_token_ends_the_grant(client):
    tokens = _tokens(client)
    response = client.post(REVOKE_PATH, json={"token": tokens["access_token"]}, auth=DEMO_AUTH)
    assert response.status_code == 200
    _assert_oauth_error(_refresh(client, tokens["refresh_token"]), 400, "invalid_grant")


@pytest.mark.parametrize("auth", [(DEMO_CLIENT_ID, "wrong-secret"), ("nobody", "x"), None])
def test_revoke_with_a_bad_client_is_invalid_client(client, auth):
    tokens = _tokens(client)
    response = client.post(REVOKE_PATH, json={"token": tokens["refresh_token"]}, auth=auth)
    _assert_oauth_error(response, 401, "invalid_client")
    assert _refresh(client, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": 5}])
def test_revoke_without_a_token_is_invalid_request(client, body):
    response = client.post(REVOKE_PATH, json=body, auth=DEMO_AUTH)
    _assert_oauth_error(response, 400, "invalid_request")


def test_revoke_with_a_non_json_body_is_invalid_request(client):
    response = client.post(
        REVOKE_PATH,
        content=b"{not json",
        headers={"Content-Type": "application/json"},
        auth=DEMO_AUTH,
    )
    _assert_oauth_error(response, 400, "invalid_request")


# -- OpenID ----------------------------------------------------------------------------


def test_userinfo_returns_the_users_claims(client):
    tokens = _tokens(client, scope="openid email profile")
    response = client.get(
        "/v1/openid_connect/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert response.status_code == 200
    assert TID.match(response.headers["intuit_tid"])
    claims = response.json()
    assert claims["email"] == DEMO_USER_EMAIL
    assert claims["emailVerified"] is True
    assert (claims["givenName"], claims["familyName"]) == ("Demo", "User")
    assert re.fullmatch(r"[0-9a-f-]{36}", claims["sub"])


def test_userinfo_without_a_valid_token_is_401(client):
    response = client.get("/v1/openid_connect/userinfo", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


# -- third-party clients ---------------------------------------------------------------


@pytest.fixture
def insecure_transport(monkeypatch):
    # authlib and oauthlib refuse plain http unless told this is a local test.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_client_exchanges_the_code_and_refreshes(private, insecure_transport, method):
    running, http = private
    discovery = http.get("/.well-known/openid_configuration").json()
    with OAuth2Client(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        scope=ACCOUNTING_SCOPE,
        redirect_uri=CALLBACK,
        token_endpoint_auth_method=method,
    ) as oauth:
        url, state = oauth.create_authorization_url(discovery["authorization_endpoint"])
        callback = _approve(http, url)
        token = oauth.fetch_token(discovery["token_endpoint"], authorization_response=callback)
        assert token["token_type"] == "bearer"
        realm_id = dict(parse_qsl(urlsplit(callback).query))["realmId"]
        assert _company_info(http, realm_id, token["access_token"]).status_code == 200

        running.state.oauth.advance(DAY)
        refreshed = oauth.refresh_token(discovery["token_endpoint"])
        assert refreshed["refresh_token"] != token["refresh_token"]
        assert refreshed["access_token"] != token["access_token"]
        assert _company_info(http, realm_id, refreshed["access_token"]).status_code == 200
    assert state in callback


def test_intuit_oauth_client_connects_refreshes_and_revokes(private, insecure_transport):
    from intuitlib.client import AuthClient
    from intuitlib.enums import Scopes

    running, http = private
    auth_client = AuthClient(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        CALLBACK,
        environment=f"{running.url}/.well-known/openid_sandbox_configuration/",
    )
    url = auth_client.get_authorization_url([Scopes.ACCOUNTING, Scopes.OPENID, Scopes.EMAIL])
    params = dict(parse_qsl(urlsplit(_approve(http, url)).query))
    assert params["state"] == auth_client.state_token
    auth_client.get_bearer_token(params["code"], realm_id=params["realmId"])
    # intuitlib keeps the id_token only after checking its signature against our JWKS.
    assert auth_client.id_token
    assert auth_client.x_refresh_token_expires_in == 8_726_400
    first_refresh = auth_client.refresh_token

    running.state.oauth.advance(DAY)
    auth_client.refresh()
    assert auth_client.refresh_token != first_refresh
    assert auth_client.get_user_info().json()["email"] == DEMO_USER_EMAIL

    assert auth_client.revoke() is True
    _assert_oauth_error(_refresh(http, auth_client.refresh_token), 400, "invalid_grant")
