"""The request body cap: a declared length over it is refused before the body is read, a
streamed (chunked) body is cut off when it passes it, forms have a field limit, and the cap
holds on every path, before sign-in and before the CSRF check."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from qb_pipeline.web.body_limit import MAX_BODY_BYTES, MAX_FORM_FIELDS
from tests.web.conftest import ORG, WebApp, csrf_of, text_of

ADMIN = "admin@acme.test"
SETTINGS = f"/orgs/{ORG}/integrations/settings"


def raw_exchange(web: WebApp, head: str, body: bytes = b"") -> tuple[int, dict[str, str], str]:
    """Send bytes as they are (a declared length need not be honoured) and read the answer."""
    parts = urlsplit(web.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    head_bytes, _, payload = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, payload.decode()


def settings_form(csrf: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "auto_sync": "on",
        "frequency": "hourly",
        "local_time": "04:15",
        "timezone": "UTC",
        "history_years": "9",
        **extra,
    }


def signed_in_admin(web: WebApp) -> tuple[str, str]:
    """A signed-in admin's cookie header and CSRF token."""
    client = web.signed_in(ADMIN)
    page = client.get(f"/orgs/{ORG}/integrations")
    return f"qbp_session={client.cookies['qbp_session']}", csrf_of(page.text)


@pytest.mark.parametrize("path", ["/sign-in", SETTINGS, "/api/v1/goals", "/no-such-page"])
def test_a_declared_body_over_the_cap_is_refused_before_a_byte_is_read(web, path):
    # 400 MB announced, nothing sent: the answer comes at once, so nothing waited for it.
    head = (
        f"POST {path} HTTP/1.1\nHost: 127.0.0.1\n"
        "Content-Type: application/x-www-form-urlencoded\n"
        f"Content-Length: {400 * 1024 * 1024}\n"
    )

    status, headers, body = raw_exchange(web, head)

    assert status == 413
    assert "Request body too large: this site accepts at most 64 KiB per request." in body
    assert headers["connection"] == "close"
    assert headers["x-frame-options"] == "DENY"  # still an answer of this site


def test_the_json_api_is_refused_in_its_own_error_shape(web):
    head = (
        f"POST /api/v1/orgs/{ORG}/goals HTTP/1.1\nHost: 127.0.0.1\n"
        f"Content-Type: application/json\nContent-Length: {400 * 1024 * 1024}\n"
    )

    status, headers, body = raw_exchange(web, head)

    assert status == 413
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["problems"] == [{"field": "body", "reason": "too large"}]


def test_a_streamed_body_is_cut_off_when_it_passes_the_cap_and_changes_nothing(web):
    cookie, csrf = signed_in_admin(web)
    before = web.service.settings(ORG)
    fields = "&".join(f"{k}={v}" for k, v in settings_form(csrf).items())
    body = (fields + "&padding=" + "x" * MAX_BODY_BYTES).encode()
    chunks = b"".join(
        f"{len(body[i : i + 8192]):x}\r\n".encode() + body[i : i + 8192] + b"\r\n"
        for i in range(0, len(body), 8192)
    )
    head = (
        f"POST {SETTINGS} HTTP/1.1\nHost: 127.0.0.1\nCookie: {cookie}\n"
        "Content-Type: application/x-www-form-urlencoded\nTransfer-Encoding: chunked\n"
    )

    status, _headers, answer = raw_exchange(web, head, chunks + b"0\r\n\r\n")

    assert status == 413
    assert "at most 64 KiB" in answer
    assert web.service.settings(ORG) == before


def test_a_body_just_under_the_cap_is_accepted(web):
    cookie, csrf = signed_in_admin(web)
    client = web.client()
    client.cookies.set("qbp_session", cookie.split("=", 1)[1])
    form = settings_form(csrf)
    used = len("&".join(f"{k}={v}" for k, v in form.items()))
    padding = "x" * (MAX_BODY_BYTES - used - len("&padding=") - 10)

    response = client.post(SETTINGS, data={**form, "padding": padding})

    assert response.status_code == 303
    assert web.service.settings(ORG).history_years == 9


def test_a_form_with_too_many_fields_is_refused_and_changes_nothing(web):
    client = web.signed_in(ADMIN)
    page = client.get(f"/orgs/{ORG}/integrations")
    before = web.service.settings(ORG)
    form = settings_form(csrf_of(page.text))
    many = list(form.items()) + [(f"f{i}", "") for i in range(MAX_FORM_FIELDS)]

    response = client.post(
        SETTINGS,
        content="&".join(f"{k}={v}" for k, v in many),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 413
    assert f"Maximum number of fields is {MAX_FORM_FIELDS}" in text_of(response.text)
    assert web.service.settings(ORG) == before


def test_a_form_with_a_file_is_refused(web):
    client = web.signed_in(ADMIN)
    page = client.get(f"/orgs/{ORG}/integrations")
    before = web.service.settings(ORG)

    response = client.post(
        SETTINGS,
        data=settings_form(csrf_of(page.text)),
        files={"upload": ("notes.txt", b"hello", "text/plain")},
    )

    assert response.status_code == 413
    assert web.service.settings(ORG) == before
