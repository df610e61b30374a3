"""HSTS: sent on answers to requests that came over https (a trusted proxy says so with
X-Forwarded-Proto, as uvicorn reads it from loopback), never over plain http."""

from __future__ import annotations

import pytest

HSTS = "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize("path", ["/sign-in", "/no-such-page", "/static/app.css"])
def test_https_answers_carry_hsts(web, path):
    response = web.client().get(path, headers={"X-Forwarded-Proto": "https"})

    assert response.headers["strict-transport-security"] == HSTS


@pytest.mark.parametrize("path", ["/sign-in", "/no-such-page", "/static/app.css"])
def test_plain_http_answers_never_carry_hsts(web, path):
    response = web.client().get(path)

    assert "strict-transport-security" not in response.headers


def test_a_client_cannot_ask_for_https_headers_through_an_untrusted_peer(start_web_app, emulator):
    web = start_web_app(emulator, forwarded_allow_ips="")

    response = web.client().get("/sign-in", headers={"X-Forwarded-Proto": "https"})

    assert "strict-transport-security" not in response.headers
    assert "Secure" not in response.headers["set-cookie"]
