"""Session cookies: the server-side session's id, the CSRF token, flash messages, the OAuth state.

Who is signed in is decided on the server: the cookie carries the random id of a row in the
control DB's web_sessions table (see connections/web_sessions.py), which the server can end
at any time (sign-out, password change, membership removed, role changed) and which ends by
itself after 8 h without a request. On every request this middleware looks the id up and sets
`session["user"]` to that row's user's email, or leaves it out; a "user" written into the
cookie is never believed (cookies of older versions carried one) nor written back.

The rest of the session stays in the cookie, signed with itsdangerous (not encrypted): the
CSRF token, flash messages and the pending OAuth state, none of them secret and none of them
worth anything without a live session id (the CSRF token only guards forms of its own
session). Cookie attributes: HttpOnly, SameSite=Lax (the OAuth callback is a top-level GET
from Intuit, which Lax allows), Secure whenever the request came over https (uvicorn sets
the scheme from X-Forwarded-Proto for trusted proxies), and an expiry that slides while the
user is active.

The signing key is derived from QBP_SECRET_KEY through HKDF-SHA256 with a purpose label,
so it is never the token-encryption key itself and one secret serves both; changing
QBP_SECRET_KEY signs everyone out. (The service refuses to start without QBP_SECRET_KEY.)
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qb_pipeline.config import ConfigError, Settings

COOKIE_NAME = "qbp_session"
# An idle user is signed out after this long; any request in the second half renews it.
SESSION_MAX_AGE = 8 * 3600
# Session entries: the server-side session's id (in the cookie) and its user's email (filled
# from the control DB on each request, never stored in the cookie).
SESSION_ID_KEY = "sid"
USER_KEY = "user"
_HKDF_INFO = b"qb-pipeline web session cookie v1"
_SALT = "qb-pipeline.web.session"


def session_signing_key(settings: Settings) -> bytes:
    """The key that signs session cookies, derived from QBP_SECRET_KEY."""
    if not settings.secret_key:
        raise ConfigError("QBP_SECRET_KEY must be set: it also signs the web app's sessions")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return hkdf.derive(settings.secret_key.encode("utf-8"))


class SessionStore(Protocol):
    """What the middleware needs of the service: the user of a live session id."""

    def web_session_user(self, session_id: str) -> str | None: ...


class SessionMiddleware:
    """Load `scope["session"]` from the cookie and the signed-in user from the server-side
    session; write the cookie back when it changed."""

    def __init__(
        self, app: ASGIApp, key: bytes, store: SessionStore, max_age: int = SESSION_MAX_AGE
    ) -> None:
        self.app = app
        self.max_age = max_age
        self.store = store
        self.serializer = URLSafeTimedSerializer(key, salt=_SALT)

    def _load(self, raw: str | None) -> tuple[dict[str, Any], float]:
        if not raw:
            return {}, 0.0
        try:
            data, signed_at = self.serializer.loads(
                raw, max_age=self.max_age, return_timestamp=True
            )
        except BadSignature:  # also covers SignatureExpired
            return {}, 0.0
        if not isinstance(data, dict):
            return {}, 0.0
        return data, signed_at.timestamp()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = HTTPConnection(scope).cookies.get(COOKIE_NAME)
        data, signed_at = self._load(raw)
        data.pop(USER_KEY, None)
        before = json.dumps(data, sort_keys=True)
        session_id = data.get(SESSION_ID_KEY)
        email = None
        if isinstance(session_id, str) and session_id:
            # A control-DB read (and at most one write a minute): off the event loop.
            email = await run_in_threadpool(self.store.web_session_user, session_id)
        if email is None:
            data.pop(SESSION_ID_KEY, None)  # ended or unknown: dropped from the cookie
        else:
            data[USER_KEY] = email
        scope["session"] = data
        secure = scope.get("scheme") == "https"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                session = {k: v for k, v in scope["session"].items() if k != USER_KEY}
                changed = json.dumps(session, sort_keys=True) != before
                stale = time.time() - signed_at > self.max_age / 2
                headers = MutableHeaders(scope=message)
                if session and (changed or stale):
                    value = self.serializer.dumps(session)
                    headers.append("Set-Cookie", _cookie(value, self.max_age, secure))
                elif not session and raw:
                    headers.append("Set-Cookie", _cookie("", 0, secure))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _cookie(value: str, max_age: int, secure: bool) -> str:
    parts = [f"{COOKIE_NAME}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
