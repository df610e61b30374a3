"""A scripted person at the emulator's consent pages.

Signs in, chooses a company and presses Authorize (or Cancel) with plain HTTP, following
the forms the pages serve, and returns where "Intuit" redirects the browser. The demo uses
it to connect without a browser; tests use it wherever a real browser is not the point.
It only works against the emulator: Intuit's real pages are not scriptable.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "sandbox"  # the emulator's public demo user


class ConsentError(RuntimeError):
    """The consent pages did not answer as expected."""


def _form(page: httpx.Response) -> tuple[str, str]:
    """(absolute action URL, transaction id) of the page's form."""
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    txn = re.search(r'name="txn" value="([^"]+)"', page.text)
    if not action or not txn:
        raise ConsentError(f"no consent form on {page.url} (status {page.status_code})")
    return urljoin(str(page.url), action.group(1)), txn.group(1)


def companies_on(page: httpx.Response) -> list[str]:
    """Realm ids offered on the "choose your company" page."""
    return re.findall(r'name="realm_id" value="([^"]+)"', page.text)


@contextmanager
def browser_traffic_unlogged() -> Iterator[None]:
    """This stands in for a person's browser, whose traffic (the redirect to the callback
    carries the authorization code) is not the application's: keep it out of the logs."""
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

    Any company the page offers can be chosen, load-test ones too (their realm ids are in
    `GET /_emulator/companies`, or `load_test_realm_id(seed, k)` of the company builder);
    a `realm_id` the page does not offer is a ConsentError.
    Returns the Location the emulator redirects the browser to (the app's callback URL).
    """
    with browser_traffic_unlogged(), httpx.Client(follow_redirects=False, timeout=30) as client:
        page = client.get(authorize_url)
        if page.status_code != 200:
            raise ConsentError(f"authorize page answered {page.status_code}")
        action, txn = _form(page)
        page = client.post(action, data={"txn": txn, "email": email, "password": password})
        if page.status_code != 200:
            raise ConsentError(f"sign-in answered {page.status_code}")
        action, txn = _form(page)
        if cancel:
            data = {"txn": txn, "action": "cancel"}
        else:
            realms = companies_on(page)
            if not realms:
                raise ConsentError("the company choice page offers no company")
            if realm_id and realm_id not in realms:
                raise ConsentError(
                    f"the company choice page does not offer realm {realm_id} "
                    f"({len(realms)} companies offered)"
                )
            data = {"txn": txn, "action": "authorize", "realm_id": realm_id or realms[0]}
        answer = client.post(action, data=data)
        if answer.status_code != 302:
            raise ConsentError(f"authorize answered {answer.status_code}, expected a redirect")
        return answer.headers["location"]


def callback_params(location: str) -> dict[str, str | None]:
    """state, code, realmId and error of a callback URL (None when absent)."""
    query = parse_qs(urlsplit(location).query)
    return {name: query.get(name, [None])[0] for name in ("state", "code", "realmId", "error")}
