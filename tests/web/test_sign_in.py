"""Signing in and out: the session cookie, CSRF on the form, one message for bad credentials."""

from __future__ import annotations

import httpx

from tests.web.conftest import ORG, PASSWORDS, csrf_of, sign_in, text_of

ADMIN = "admin@acme.test"


def session_cookie_header(response: httpx.Response) -> str:
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    matching = [c for c in cookies if c.startswith("qbp_session=")]
    assert matching, f"no session cookie set: {cookies}"
    return matching[-1]


def test_sign_in_page_labels_every_field_and_carries_a_csrf_token(web):
    page = web.client().get("/sign-in")
    assert page.status_code == 200
    assert '<label for="email">Email</label>' in page.text
    assert '<label for="password">Password</label>' in page.text
    assert 'id="email"' in page.text
    assert 'id="password"' in page.text
    assert csrf_of(page.text)
    assert "<h1" in page.text


def test_correct_password_signs_in_with_an_httponly_samesite_cookie(web):
    client = web.client()
    response = sign_in(client, ADMIN, PASSWORDS[ADMIN])
    assert response.headers["location"] == "/integrations"
    cookie = session_cookie_header(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # served over plain http on loopback
    assert PASSWORDS[ADMIN] not in cookie
    home = client.get("/integrations")
    assert home.status_code == 303
    assert home.headers["location"] == f"/orgs/{ORG}/integrations"
    page = client.get(home.headers["location"])
    assert f"Signed in as {ADMIN}" in text_of(page.text)


def test_cookie_is_secure_when_served_over_https(web):
    # uvicorn trusts X-Forwarded-Proto from loopback, as from a TLS-terminating proxy.
    client = web.client()
    page = client.get("/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in session_cookie_header(page)


def test_wrong_password_and_unknown_email_get_the_same_message(web):
    answers = []
    for email, password in [(ADMIN, "not-the-password"), ("nobody@acme.test", "whatever-1")]:
        client = web.client()
        page = client.get("/sign-in")
        response = client.post(
            "/sign-in",
            data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        )
        assert response.status_code == 401
        assert "Email or password is incorrect" in response.text
        assert password not in response.text
        assert client.get("/integrations").headers["location"].startswith("/sign-in")
        answers.append(text_of(response.text).replace(email, "EMAIL"))
    assert answers[0] == answers[1]  # nothing tells which of the two was wrong


def test_sign_in_without_csrf_token_is_refused(web):
    client = web.client()
    client.get("/sign-in")
    response = client.post("/sign-in", data={"email": ADMIN, "password": PASSWORDS[ADMIN]})
    assert response.status_code == 403
    assert "nothing was changed" in text_of(response.text)
    assert client.get("/integrations").headers["location"].startswith("/sign-in")


def test_csrf_token_of_another_session_is_refused(web):
    other = web.client().get("/sign-in")
    client = web.client()
    client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": ADMIN, "password": PASSWORDS[ADMIN], "csrf_token": csrf_of(other.text)},
    )
    assert response.status_code == 403


def test_pages_need_sign_in_and_come_back_after_it(web):
    client = web.client()
    response = client.get(f"/orgs/{ORG}/integrations")
    assert response.status_code == 303
    assert response.headers["location"] == f"/sign-in?next=%2Forgs%2F{ORG}%2Fintegrations"
    page = client.get(response.headers["location"])
    signed = client.post(
        "/sign-in",
        data={
            "email": ADMIN,
            "password": PASSWORDS[ADMIN],
            "csrf_token": csrf_of(page.text),
            "next": f"/orgs/{ORG}/integrations",
        },
    )
    assert signed.headers["location"] == f"/orgs/{ORG}/integrations"


def test_next_parameter_cannot_lead_off_the_site(web):
    for target in ["//evil.example/x", "https://evil.example/", "/\\evil.example"]:
        client = web.client()
        page = client.get("/sign-in", params={"next": target})
        signed = client.post(
            "/sign-in",
            data={
                "email": ADMIN,
                "password": PASSWORDS[ADMIN],
                "csrf_token": csrf_of(page.text),
                "next": target,
            },
        )
        assert signed.headers["location"] == "/integrations"


def test_sign_out_needs_the_csrf_token_and_ends_the_session(web):
    client = web.signed_in(ADMIN)
    page = client.get(f"/orgs/{ORG}/integrations")
    assert client.post("/sign-out", data={}).status_code == 403
    assert client.get(f"/orgs/{ORG}/integrations").status_code == 200
    out = client.post("/sign-out", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/sign-in"
    assert "You have signed out" in client.get("/sign-in").text
    assert client.get(f"/orgs/{ORG}/integrations").status_code == 303


def test_a_tampered_session_cookie_counts_as_signed_out(web):
    client = web.signed_in(ADMIN)
    value = client.cookies["qbp_session"]
    forged = httpx.Client(base_url=web.url)
    web.clients.append(forged)
    # Swap one character of the payload: the signature no longer matches.
    flipped = ("A" if value[3] != "A" else "B").join([value[:3], value[4:]])
    forged.cookies.set("qbp_session", flipped)
    assert forged.get(f"/orgs/{ORG}/integrations").status_code == 303
