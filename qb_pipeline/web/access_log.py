"""Access log without query strings, plus security headers on every response.

uvicorn's own access log prints the full request line, and the OAuth callback's query
carries the authorization code, so the web app logs requests itself: method, path, status.

HSTS is sent only on requests that came over https: uvicorn sets the scheme from
X-Forwarded-Proto when the proxy is trusted (--forwarded-allow-ips), so a TLS-terminating
proxy in front gets it, and plain http (the demo on loopback) never does.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("qb_pipeline.web.access")

HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(authorize_url: str) -> str:
    """Our own origin only; forms may also lead to Intuit's authorize page (connect redirects)."""
    parts = urlsplit(authorize_url)
    intuit = f"{parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; "
        f"form-action 'self' {intuit}"
    )


class AccessLogAndHeaders:
    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            # The callback URL holds the code: never send it onwards as a Referer.
            "Referrer-Policy": "no-referrer",
        }
        self.https_headers = {**self.headers, "Strict-Transport-Security": HSTS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        extra = self.https_headers if scope.get("scheme") == "https" else self.headers

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.info("%s %s %d %.0fms", scope["method"], scope["path"], status, elapsed_ms)
