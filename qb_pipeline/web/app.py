"""The web app: sign-in, the Integrations area, the goals pages, goal alerts and the JSON API
(/api/v1).

Pages are server-rendered and work without JavaScript; one small static script
(static/live.js, allowed by the CSP's 'self') refreshes the parts of a page that change while
it is open (a goal being computed, a sync under way). No build step."""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from qb_pipeline.config import Settings
from qb_pipeline.connections.errors import (
    IntegrationError,
    IntuitUnavailable,
    NotAMember,
    NotFound,
    PermissionDenied,
)
from qb_pipeline.connections.service import IntegrationService
from qb_pipeline.web import api, auth, routes_alerts, routes_goals, routes_integrations
from qb_pipeline.web.access_log import AccessLogAndHeaders, content_security_policy
from qb_pipeline.web.api.errors import error_response
from qb_pipeline.web.body_limit import BodyLimit
from qb_pipeline.web.csrf import CsrfRejected
from qb_pipeline.web.pages import PageError, error_page, see_other
from qb_pipeline.web.session import SessionMiddleware, session_signing_key

log = logging.getLogger(__name__)

CSRF_MESSAGE = (
    "This form was not sent from this site or has expired, so nothing was changed. "
    "Go back, reload the page and try again."
)
HTTP_TITLES = {404: "Page not found", 405: "Method not allowed", 413: "Request too large"}


async def home(request: Request) -> Response:
    # session["user"] comes from the server-side session (session.py), never from the cookie.
    return see_other("/integrations" if request.session.get("user") else "/sign-in")


async def on_page_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageError)
    return error_page(request, error.status, error.title, error.message)


async def on_sign_in_required(request: Request, _error: Exception) -> Response:
    return auth.sign_in_redirect(request)


async def on_csrf_rejected(request: Request, _error: Exception) -> Response:
    log.warning("CSRF check failed: %s %s", request.method, request.url.path)
    return error_page(request, 403, "Form not accepted", CSRF_MESSAGE)


def not_a_member_page(request: Request, slug: str) -> Response:
    """One answer for "no such organization" and "not a member" (the pages' own check says
    the same words), so that nobody can tell which organizations exist."""
    email = request.session.get("user")
    message = f"Your account ({email}) is not a member of the organization '{slug}'."
    return error_page(request, 403, "Not a member", message)


async def on_integration_error(request: Request, error: Exception) -> Response:
    slug = request.path_params.get("slug")
    if isinstance(error, NotAMember) and slug:
        return not_a_member_page(request, slug)
    if isinstance(error, PermissionDenied):
        return error_page(request, 403, "Not allowed", str(error))
    if isinstance(error, NotFound):
        if slug:
            return not_a_member_page(request, slug)
        return error_page(request, 404, "Not found", str(error))
    if isinstance(error, IntuitUnavailable):
        return error_page(request, 502, "QuickBooks unavailable", str(error))
    return error_page(request, 400, "Request not completed", str(error))


async def on_http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if request.url.path.startswith(api.PREFIX + "/"):
        # The JSON API answers in JSON even when routing fails (wrong method, too large).
        return error_response(error.status_code, str(error.detail), [], error.headers)
    title = HTTP_TITLES.get(error.status_code, "Request not completed")
    message = "There is no page at this address." if error.status_code == 404 else error.detail
    response = error_page(request, error.status_code, title, message)
    if error.headers:
        response.headers.update(error.headers)
    return response


def create_app(settings: Settings, service: IntegrationService | None = None) -> Starlette:
    """The Starlette app; `service` defaults to one built from `settings`.

    Raises ConfigError (naming the variable) when the settings cannot work."""
    service = service or IntegrationService(settings)
    routes = [
        Route("/", home, methods=["GET"]),
        *auth.routes(),
        *routes_integrations.routes(),
        *routes_goals.routes(),
        *routes_alerts.routes(),
        *api.routes(),
        Mount(
            "/static", app=StaticFiles(directory=Path(__file__).parent / "static"), name="static"
        ),
    ]
    csp = content_security_policy(settings.endpoints.authorize_url)
    app = Starlette(
        routes=routes,
        middleware=[
            # Outermost, so that every answer (a 413 too) is logged and carries the headers.
            Middleware(AccessLogAndHeaders, csp=csp),
            # Before anything reads the body: the session, the CSRF check, the routes.
            Middleware(BodyLimit),
            Middleware(SessionMiddleware, key=session_signing_key(settings), store=service),
        ],
        exception_handlers={
            PageError: on_page_error,
            auth.SignInRequired: on_sign_in_required,
            CsrfRejected: on_csrf_rejected,
            IntegrationError: on_integration_error,
            HTTPException: on_http_exception,
        },
    )
    app.state.settings = settings
    app.state.service = service
    return app
