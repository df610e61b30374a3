"""Signing in and out, and changing one's password.

Passwords are checked by the service, behind its sign-in throttle (per account and per
client address; connections/sign_in_throttle.py); a throttled attempt is answered 429 with
Retry-After and the same words whether the account exists or not. A sign-in starts a
server-side session (session.py) whose id is all the cookie says about the user; sign-out
ends it on the server, so a copy of the cookie is worth nothing afterwards. A password change
ends every session of the user, then signs this browser in again with a new one.

The client address is the socket's peer as uvicorn reports it: uvicorn replaces it with the
X-Forwarded-For address only when the peer is a trusted proxy (`--forwarded-allow-ips`, or
$FORWARDED_ALLOW_IPS; by default loopback only), so a client cannot pick its own address.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qb_pipeline.connections.errors import InvalidInput, SignInThrottled
from qb_pipeline.web.csrf import checked_form, rotate_csrf_token
from qb_pipeline.web.pages import flash, render, see_other
from qb_pipeline.web.session import SESSION_ID_KEY, USER_KEY

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "Email or password is incorrect."
HOME = "/integrations"
PASSWORD_PAGE = "/account/password"


class SignInRequired(Exception):
    """The page needs a signed-in user; answered with a redirect to the sign-in page."""


def signed_in_email(request: Request) -> str:
    """The signed-in user's email, or SignInRequired."""
    email = request.session.get(USER_KEY)
    if not isinstance(email, str) or not email:
        raise SignInRequired()
    return email


def client_address(request: Request) -> str | None:
    """The client's address (see the module docstring for proxies)."""
    return request.client.host if request.client else None


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return see_other(f"/sign-in?next={quote(target, safe='')}")


def safe_next(value: object) -> str:
    """Only same-site paths: an open redirect would let others borrow our sign-in page."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value:
        return HOME
    return value


async def sign_in_page(request: Request) -> Response:
    if request.session.get(USER_KEY):
        return see_other(safe_next(request.query_params.get("next")))
    return render(request, "sign_in.html", {"next": safe_next(request.query_params.get("next"))})


async def sign_in(request: Request) -> Response:
    form = await checked_form(request)
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    target = safe_next(form.get("next"))
    service = request.app.state.service
    user = None
    if email and password:
        # Password hashing is deliberately slow: keep it off the event loop.
        try:
            user = await run_in_threadpool(
                service.sign_in, email, password, client_address(request)
            )
        except SignInThrottled as throttled:
            log.warning("sign-in throttled for %s from %s", email, client_address(request))
            context = {"next": target, "email": email, "error": str(throttled)}
            response = render(request, "sign_in.html", context, status=429)
            response.headers["Retry-After"] = str(throttled.retry_after)
            return response
    if user is None:
        log.info("sign-in refused for %s", email or "(no email)")
        context = {"next": target, "email": email, "error": BAD_CREDENTIALS}
        return render(request, "sign_in.html", context, status=401)
    await start_session(request, user.email)
    log.info("signed in: %s", user.email)
    return see_other(target)


async def start_session(request: Request, email: str) -> None:
    """A new server-side session for `email` in a fresh cookie session (no fixation)."""
    session_id = await run_in_threadpool(request.app.state.service.start_web_session, email)
    request.session.clear()
    request.session[SESSION_ID_KEY] = session_id
    request.session[USER_KEY] = email
    rotate_csrf_token(request)


async def sign_out(request: Request) -> Response:
    await checked_form(request)
    email = request.session.get(USER_KEY)
    session_id = request.session.get(SESSION_ID_KEY)
    if isinstance(session_id, str) and session_id:
        await run_in_threadpool(request.app.state.service.end_web_session, session_id)
    request.session.clear()
    rotate_csrf_token(request)
    flash(request, "info", "You have signed out.")
    if email:
        log.info("signed out: %s", email)
    return see_other("/sign-in")


async def password_page(request: Request) -> Response:
    signed_in_email(request)
    return render(request, "password.html")


async def change_password(request: Request) -> Response:
    form = await checked_form(request)
    email = signed_in_email(request)
    current = str(form.get("current_password") or "")
    new = str(form.get("new_password") or "")
    confirmation = str(form.get("confirm_password") or "")
    if new != confirmation:
        return password_refused(request, "The new password and its confirmation differ.", 400)
    service = request.app.state.service
    try:
        ended = await run_in_threadpool(
            service.change_password, email, current, new, client_address(request)
        )
    except SignInThrottled as throttled:
        log.warning("password change throttled for %s", email)
        response = password_refused(request, str(throttled), 429)
        response.headers["Retry-After"] = str(throttled.retry_after)
        return response
    except InvalidInput as error:
        message = str(error)
        return password_refused(request, message[:1].upper() + message[1:] + ".", 400)
    # Every session of the user has ended, this one too: this browser gets a new one.
    await start_session(request, email)
    others = ended - 1
    message = "Your password was changed."
    if others:
        message += f" {others} other session{'s' if others != 1 else ''} signed out."
    flash(request, "success", message)
    log.info("password changed: %s (%d sessions ended)", email, ended)
    return see_other(HOME)


def password_refused(request: Request, message: str, status: int) -> Response:
    return render(request, "password.html", {"error": message}, status=status)


def routes() -> list[Route]:
    return [
        Route("/sign-in", sign_in_page, methods=["GET"], name="sign_in_page"),
        Route("/sign-in", sign_in, methods=["POST"], name="sign_in"),
        Route("/sign-out", sign_out, methods=["POST"], name="sign_out"),
        Route(PASSWORD_PAGE, password_page, methods=["GET"], name="password_page"),
        Route(PASSWORD_PAGE, change_password, methods=["POST"], name="change_password"),
    ]
