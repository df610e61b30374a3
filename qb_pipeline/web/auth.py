"""Signing in and out. Passwords are checked by the service; the session only keeps the email."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qb_pipeline.web.csrf import checked_form, rotate_csrf_token
from qb_pipeline.web.pages import flash, render, see_other

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "Email or password is incorrect."
HOME = "/integrations"


class SignInRequired(Exception):
    """The page needs a signed-in user; answered with a redirect to the sign-in page."""


def signed_in_email(request: Request) -> str:
    """The signed-in user's email, or SignInRequired."""
    email = request.session.get("user")
    if not isinstance(email, str) or not email:
        raise SignInRequired()
    return email


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
    if request.session.get("user"):
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
        user = await run_in_threadpool(service.authenticate, email, password)
    if user is None:
        log.info("sign-in refused for %s", email or "(no email)")
        context = {"next": target, "email": email, "error": BAD_CREDENTIALS}
        return render(request, "sign_in.html", context, status=401)
    request.session.clear()
    request.session["user"] = user.email
    rotate_csrf_token(request)
    log.info("signed in: %s", user.email)
    return see_other(target)


async def sign_out(request: Request) -> Response:
    await checked_form(request)
    email = request.session.get("user")
    request.session.clear()
    rotate_csrf_token(request)
    flash(request, "info", "You have signed out.")
    if email:
        log.info("signed out: %s", email)
    return see_other("/sign-in")


def routes() -> list[Route]:
    return [
        Route("/sign-in", sign_in_page, methods=["GET"], name="sign_in_page"),
        Route("/sign-in", sign_in, methods=["POST"], name="sign_in"),
        Route("/sign-out", sign_out, methods=["POST"], name="sign_out"),
    ]
