"""The Integrations area: the QuickBooks card, the OAuth connect flow, disconnect, settings,
"Sync now" and the last syncs.

Every mutating route reads the form through the CSRF check first; the service then checks
the role (admin) and audits a refusal, which reaches the user as a 403 page. The OAuth `state`
is checked twice: this browser session must be the one that started the attempt (the
state is kept in its signed cookie), and the service must still hold it unused.
"""

from __future__ import annotations

import functools
import logging
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import available_timezones

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qb_pipeline.connections.errors import (
    ConnectCancelled,
    IntegrationError,
    InvalidInput,
    NotConnected,
    NotFound,
    StateMismatch,
)
from qb_pipeline.connections.results import (
    CONNECTED,
    ERROR,
    FREQUENCIES,
    REAUTHORIZATION_REQUIRED,
    Membership,
)
from qb_pipeline.web.auth import signed_in_email
from qb_pipeline.web.csrf import FIELD_NAME, checked_form, csrf_token
from qb_pipeline.web.pages import PageError, flash, render, see_other, templates

log = logging.getLogger(__name__)

CALLBACK_PATH = "/integrations/quickbooks/callback"
CANCELLED = "You cancelled the connection to QuickBooks."
INVALID_ATTEMPT = (
    "This connection attempt is not valid (expired or already used). Nothing was stored."
)
SETTINGS_ACTION = "change the QuickBooks integration settings"
RECENT_SYNCS = 10
# The parts of the page that static/live.js keeps current while a sync is under way.
SYNC_FRAGMENTS = {
    "sync-activity": "_sync_activity.html",
    "recent-syncs": "_recent_syncs.html",
    "data-available": "_data_available.html",
}
TIMEZONES = sorted(available_timezones())
_OAUTH_KEY = "oauth"  # session entry: {"state": ..., "org": slug} of the attempt under way


def org_page(slug: str) -> str:
    return f"/orgs/{slug}/integrations"


def redirect_uri(request: Request) -> str:
    """QBO_REDIRECT_URI when set (it must match the app's registration), else our callback."""
    configured = request.app.state.settings.redirect_uri
    if configured:
        return configured
    return str(request.url.replace(path=CALLBACK_PATH, query="", fragment=""))


async def call(request: Request, method: str, *args: Any, **kwargs: Any) -> Any:
    """Run a service method in a worker thread: it talks to SQLite and to Intuit."""
    return await run_in_threadpool(getattr(request.app.state.service, method), *args, **kwargs)


async def member_of(request: Request, email: str, slug: str) -> Membership:
    """The user's membership, or a 403 page; an unknown org looks the same as someone else's."""
    try:
        membership = await call(request, "membership", email, slug)
    except NotFound:
        membership = None
    if membership is None:
        raise PageError(
            403,
            "Not a member",
            f"Your account ({email}) is not a member of the organization '{slug}'.",
        )
    return membership


# -- pages --------------------------------------------------------------------------


async def first_org_slug(request: Request) -> str:
    """The signed-in user's first organization (the landing page of an area), else a 403."""
    email = signed_in_email(request)
    memberships = await call(request, "memberships", email)
    if not memberships:
        raise PageError(
            403,
            "No organization",
            f"Your account ({email}) is not a member of any organization yet. "
            "Ask an admin of your organization to add you.",
        )
    return memberships[0].org_slug


async def integrations_home(request: Request) -> Response:
    return see_other(org_page(await first_org_slug(request)))


async def integrations_page(request: Request) -> Response:
    email = signed_in_email(request)
    slug = request.path_params["slug"]
    membership = await member_of(request, email, slug)
    memberships = await call(request, "memberships", email)
    status = await call(request, "status", slug)
    context = page_context(membership, memberships, status)
    context.update(await sync_context(request, slug, status))
    fragments = _sync_fragments(request, context)
    context["live"] = {
        "url": f"/orgs/{slug}/live/integrations",
        "digest": _digest(fragments),
        "busy": context["activity"].busy,
    }
    return render(request, "integrations.html", context)


async def integrations_live(request: Request) -> Response:
    """The page's sync parts as JSON, for static/live.js."""
    from starlette.responses import JSONResponse

    email = signed_in_email(request)
    slug = request.path_params["slug"]
    membership = await member_of(request, email, slug)
    status = await call(request, "status", slug)
    context = page_context(membership, [], status)
    context.update(await sync_context(request, slug, status))
    fragments = _sync_fragments(request, context)
    activity = context["activity"]
    return JSONResponse(
        {
            "busy": activity.busy,
            "state": activity.state,
            "digest": _digest(fragments),
            "fragments": fragments,
        }
    )


async def sync_context(request: Request, slug: str, status: Any) -> dict[str, Any]:
    """What the page says about syncing: the latest request and run, the last syncs, and
    the data available with the dates each dataset covers."""
    activity = await call(request, "sync_activity", slug)
    recent = await call(request, "recent_syncs", slug, RECENT_SYNCS)
    available = await run_in_threadpool(_available, request.app.state.settings, slug, status)
    return {"activity": activity, "recent_syncs": recent, "available": available}


def _available(settings: Any, slug: str, status: Any) -> list:
    # Imported here: DuckDB is needed only once the page shows imported data.
    from qb_pipeline.warehouse.serving import serving_copy
    from qb_pipeline.web.data_available import TRANSACTIONS, describe

    if not status.datasets_available:
        return []
    with serving_copy(settings, slug, raw_date_spans=TRANSACTIONS) as serving:
        return describe(serving.con, slug, status.realm_id, status.datasets_available)


def _sync_fragments(request: Request, context: dict[str, Any]) -> dict[str, str]:
    full = {**context, "csrf_field": FIELD_NAME, "csrf_token": csrf_token(request)}
    return {
        element: templates.env.get_template(name).render(**full)
        for element, name in SYNC_FRAGMENTS.items()
    }


def _digest(fragments: dict[str, str]) -> str:
    import hashlib

    text = "\x00".join(f"{k}\x00{v}" for k, v in sorted(fragments.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def page_context(membership: Membership, memberships: list, status: Any) -> dict[str, Any]:
    is_admin = membership.allows("admin")
    return {
        "org": membership.organization,
        "role": membership.role,
        "is_admin": is_admin,
        "memberships": memberships,
        "qbo": status,
        "connected": status.status == CONNECTED,
        "needs_reauth": status.status in (REAUTHORIZATION_REQUIRED, ERROR),
        "settings": status.settings,
        "tz": status.settings.timezone,
        "frequencies": FREQUENCIES,
        "timezones": TIMEZONES,
        "admin_only_reason": f"Only admins can connect QuickBooks. Your role: {membership.role}.",
        "settings_reason": f"Only admins can change these settings. Your role: {membership.role}.",
    }


async def confirm_disconnect_page(request: Request) -> Response:
    email = signed_in_email(request)
    slug = request.path_params["slug"]
    membership = await member_of(request, email, slug)
    if not membership.allows("admin"):
        raise PageError(
            403,
            "Not allowed",
            f"Only admins can disconnect QuickBooks. Your role in '{slug}': {membership.role}.",
        )
    status = await call(request, "status", slug)
    if not status.realm_id or status.status not in (CONNECTED, REAUTHORIZATION_REQUIRED, ERROR):
        flash(request, "info", "QuickBooks is not connected, so there is nothing to disconnect.")
        return see_other(org_page(slug))
    return render(
        request, "confirm_disconnect.html", {"org": membership.organization, "qbo": status}
    )


# -- actions ------------------------------------------------------------------------


async def connect(request: Request) -> Response:
    await checked_form(request)
    email = signed_in_email(request)
    slug = request.path_params["slug"]
    # The service checks the role (admin) and audits a refusal; PermissionDenied -> 403 page.
    url = await call(request, "begin_connect", slug, email, redirect_uri(request))
    state = parse_qs(urlsplit(url).query).get("state", [""])[0]
    request.session[_OAUTH_KEY] = {"state": state, "org": slug}
    log.info("connect started: org=%s by=%s", slug, email)
    return see_other(url)


async def callback(request: Request) -> Response:
    query = request.query_params
    state = query.get("state") or ""
    pending = request.session.pop(_OAUTH_KEY, None)
    if not isinstance(pending, dict) or not state or pending.get("state") != state:
        # Not started from this browser session, or already completed: refuse before the
        # code goes anywhere, so nothing is exchanged or stored.
        log.warning("callback refused: state does not match this session's attempt")
        raise PageError(400, "Connection attempt not valid", INVALID_ATTEMPT)
    slug = str(pending.get("org") or "")
    try:
        status = await call(
            request,
            "complete_connect",
            state=state,
            code=query.get("code"),
            realm_id=query.get("realmId"),
            error=query.get("error"),
            redirect_uri=redirect_uri(request),
        )
    except StateMismatch:
        log.warning("callback refused by the service: unknown, used or expired state")
        raise PageError(400, "Connection attempt not valid", INVALID_ATTEMPT) from None
    except ConnectCancelled:
        flash(request, "info", CANCELLED)
        return see_other(org_page(slug))
    except IntegrationError as error:
        flash(request, "error", str(error))
        return see_other(org_page(slug))
    flash(request, "success", f"Connected to {status.company_name}.")
    log.info("connected: org=%s realm=%s", status.org_slug, status.realm_id)
    return see_other(org_page(status.org_slug))


async def disconnect(request: Request) -> Response:
    await checked_form(request)
    email = signed_in_email(request)
    slug = request.path_params["slug"]
    try:
        status = await call(request, "disconnect", slug, email)
    except NotConnected as error:
        flash(request, "info", str(error))
        return see_other(org_page(slug))
    company = status.company_name or "QuickBooks"
    flash(request, "success", f"Disconnected from {company}. Data already imported is kept.")
    log.info("disconnected: org=%s by=%s", slug, email)
    return see_other(org_page(slug))


async def sync_now(request: Request) -> Response:
    """Admins: queue a `quickbooks_sync` run of the organization in Dagster's run queue."""
    from qb_pipeline.connections.sync_requests import SyncBusy
    from qb_pipeline.sync.launcher import submit_sync

    await checked_form(request)
    email = signed_in_email(request)
    slug = request.path_params["slug"]
    try:
        # The role first (PermissionDenied -> 403 page, audited), then the connection.
        _, status = await call(request, "sync_requester", email, slug)
    except (SyncBusy, NotConnected) as error:
        flash(request, "error", f"Not synced: {error}.")
        return see_other(org_page(slug))
    settings = request.app.state.settings
    submission = await run_in_threadpool(
        functools.partial(submit_sync, requested_by=email, realm_id=status.realm_id),
        settings,
        slug,
    )
    await call(
        request,
        "record_sync_request",
        slug,
        email,
        status.realm_id,
        submission.run_id,
        submission.problem,
    )
    if submission.submitted:
        flash(
            request,
            "success",
            f"Sync queued in Dagster (run {submission.run_id}). This page shows it running and "
            "finishing.",
        )
        log.info("sync now: org=%s by=%s run=%s", slug, email, submission.run_id)
    else:
        flash(
            request,
            "error",
            f"The sync could not be queued: {submission.problem}. Nothing was started; try "
            f"again once Dagster runs, or run `qb-pipeline sync --org {slug}`.",
        )
    return see_other(org_page(slug))


async def update_settings(request: Request) -> Response:
    form = await checked_form(request)
    email = signed_in_email(request)
    slug = request.path_params["slug"]
    # Checked before the values are read, so a viewer gets 403, not a validation message.
    await call(request, "require_role", email, slug, "admin", SETTINGS_ACTION)
    changes = {
        "auto_sync": form.get("auto_sync") == "on",
        "frequency": str(form.get("frequency") or ""),
        "local_time": str(form.get("local_time") or ""),
        "timezone": str(form.get("timezone") or ""),
        "history_years": str(form.get("history_years") or ""),
    }
    try:
        changes["history_years"] = int(changes["history_years"])
    except ValueError:
        message = f"History must be a whole number of years, not '{changes['history_years']}'."
        return await settings_refused(request, email, slug, changes, message)
    try:
        await call(request, "update_settings", slug, email, **changes)
    except InvalidInput as error:
        return await settings_refused(request, email, slug, changes, str(error))
    flash(request, "success", "Integration settings saved.")
    return see_other(org_page(slug))


async def settings_refused(
    request: Request, email: str, slug: str, submitted: dict[str, Any], message: str
) -> Response:
    """The page again, the form keeping what was typed, the reason above it; nothing saved."""
    membership = await member_of(request, email, slug)
    memberships = await call(request, "memberships", email)
    status = await call(request, "status", slug)
    context = page_context(membership, memberships, status)
    context.update(await sync_context(request, slug, status))
    context["live"] = None
    context["settings"] = SimpleNamespace(**{**status.settings.to_dict(), **submitted})
    context["settings_error"] = message
    return render(request, "integrations.html", context, status=400)


def routes() -> list[Route]:
    return [
        Route("/integrations", integrations_home, methods=["GET"]),
        Route(CALLBACK_PATH, callback, methods=["GET"], name="quickbooks_callback"),
        Route("/orgs/{slug}/integrations", integrations_page, methods=["GET"]),
        Route("/orgs/{slug}/integrations/quickbooks/connect", connect, methods=["POST"]),
        Route(
            "/orgs/{slug}/integrations/quickbooks/disconnect",
            confirm_disconnect_page,
            methods=["GET"],
        ),
        Route("/orgs/{slug}/integrations/quickbooks/disconnect", disconnect, methods=["POST"]),
        Route("/orgs/{slug}/integrations/settings", update_settings, methods=["POST"]),
        Route("/orgs/{slug}/integrations/sync", sync_now, methods=["POST"]),
        Route("/orgs/{slug}/live/integrations", integrations_live, methods=["GET"]),
    ]
