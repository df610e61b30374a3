"""CSRF protection: a per-session random token that every form sends back.

The token lives in the signed session cookie and in a hidden field of each form; a POST is
accepted only when the two match. Cross-site pages cannot read either, so they cannot forge
the field. Every visitor gets a token, signed in or not, so the sign-in form is covered too.
The token is rotated whenever the user behind the session changes; it guards forms and
proves nothing about who is signed in (the server-side session does that, session.py).
The form is read with the body limits of body_limit.py (too many fields: 413).
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.requests import Request

from qb_pipeline.web.body_limit import limited_form

FIELD_NAME = "csrf_token"
_SESSION_KEY = "csrf"


class CsrfRejected(Exception):
    """A form came back without this session's CSRF token."""


def csrf_token(request: Request) -> str:
    """This session's token, created on first use."""
    token = request.session.get(_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[_SESSION_KEY] = token
    return token


def rotate_csrf_token(request: Request) -> None:
    """A new token when the user behind the session changes (sign-in, sign-out)."""
    request.session[_SESSION_KEY] = secrets.token_urlsafe(32)


async def checked_form(request: Request) -> FormData:
    """The submitted form, or CsrfRejected when its token is missing or wrong."""
    form = await limited_form(request)
    sent = form.get(FIELD_NAME)
    expected = request.session.get(_SESSION_KEY)
    if not isinstance(sent, str) or not isinstance(expected, str) or not expected:
        raise CsrfRejected()
    if not hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8")):
        raise CsrfRejected()
    return form
