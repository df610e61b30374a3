"""Drive the emulator's sign-in and "choose your company" pages with plain HTTP, as a
person would with a browser: follow the forms, return where Intuit redirects back to."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "sandbox"


def _form(page: httpx.Response) -> tuple[str, str]:
    """(absolute action URL, txn) of the page's form."""
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    txn = re.search(r'name="txn" value="([^"]+)"', page.text)
    assert action, f"no form on the page:\n{page.text[:500]}"
    assert txn, f"no transaction id on the page:\n{page.text[:500]}"
    return urljoin(str(page.url), action.group(1)), txn.group(1)


def companies_on(page: httpx.Response) -> list[str]:
    return re.findall(r'name="realm_id" value="([^"]+)"', page.text)


@contextmanager
def browser_traffic_unlogged() -> Iterator[None]:
    """This stands in for the person's browser, whose traffic (the redirect to the callback
    carries the authorization code) is not the application's and never in its logs; keep
    it out of the test's captured logs so the leak scan checks only the application."""
    names = ["httpx", "httpcore", "httpcore.http11", "httpcore.connection"]
    names += [n for n in logging.root.manager.loggerDict if n.startswith(("httpx.", "httpcore."))]
    loggers = [logging.getLogger(name) for name in dict.fromkeys(names)]
    before = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, disabled in zip(loggers, before, strict=True):
            logger.disabled = disabled


def consent(
    authorize_url: str,
    realm_id: str | None = None,
    cancel: bool = False,
    email: str = DEMO_EMAIL,
    password: str = DEMO_PASSWORD,
) -> str:
    """Sign in, choose `realm_id` (default: the first company) and Authorize, or Cancel.

    Returns the Location Intuit redirects the browser to (the app's callback URL).
    """
    with browser_traffic_unlogged(), httpx.Client(follow_redirects=False, timeout=30) as client:
        page = client.get(authorize_url)
        assert page.status_code == 200, page.text[:500]
        action, txn = _form(page)
        page = client.post(action, data={"txn": txn, "email": email, "password": password})
        assert page.status_code == 200, page.text[:500]
        action, txn = _form(page)
        if cancel:
            data = {"txn": txn, "action": "cancel"}
        else:
            realms = companies_on(page)
            assert realms, "no company to choose"
            data = {"txn": txn, "action": "authorize", "realm_id": realm_id or realms[0]}
        answer = client.post(action, data=data)
        assert answer.status_code == 302, answer.text[:500]
        return answer.headers["location"]


def callback_params(location: str) -> dict[str, str | None]:
    """state, code, realmId and error of a callback URL (None when absent)."""
    query = parse_qs(urlsplit(location).query)
    return {name: query.get(name, [None])[0] for name in ("state", "code", "realmId", "error")}
