"""Goal alerts in the web app: each member's own subscriptions, the organization's webhook
endpoints, and the delivery log (docs/alerts.md).

Any member subscribes and unsubscribes themselves (to one goal or to all, by email or by
one of the organization's endpoints). Only admins add and remove endpoints and read the
delivery log: AlertService checks the role (and audits a refusal) before it reads the
values, and a refusal reaches the user as a 403 page. Every form goes through the CSRF
check first. A refused value is the page again with the reason (naming the field and the
value) beside the form it came from, status 400, nothing saved.

An endpoint's signing secret is shown once: on the page that answers the form that added
it. It is never put in a flash message (those live in the session cookie, which is signed,
not encrypted) nor in a redirect, and no page shows it again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qb_pipeline.connections.errors import AlreadyExists, InvalidInput, NotFound
from qb_pipeline.connections.results import Membership
from qb_pipeline.web.auth import signed_in_email
from qb_pipeline.web.csrf import checked_form
from qb_pipeline.web.pages import flash, render, see_other
from qb_pipeline.web.routes_integrations import call, first_org_slug, member_of

if TYPE_CHECKING:
    from qb_pipeline.alerts.service import AlertService

log = logging.getLogger(__name__)

ADMIN = "admin"
EMAIL_CHOICE = "email"
WEBHOOK_PREFIX = "webhook:"  # a "Send to" choice naming an endpoint: webhook:<name>
DELIVERY_LOG_LIMIT = 100
REFUSED = (InvalidInput, NotFound, AlreadyExists)


def alerts_url(slug: str) -> str:
    return f"/orgs/{slug}/alerts"


def deliveries_url(slug: str) -> str:
    return f"/orgs/{slug}/alerts/deliveries"


def _alerts(request: Request) -> AlertService:
    """The app's AlertService, made on the first alerts request: it brings the goal store's
    modules (PyYAML, pydantic models), which the other pages load lazily too."""
    service = getattr(request.app.state, "alerts", None)
    if service is None:
        from qb_pipeline.alerts.service import AlertService

        service = AlertService(request.app.state.settings)
        request.app.state.alerts = service
    return service


async def alert_call(request: Request, method: str, *args: Any) -> Any:
    """Run an AlertService method in a worker thread: it talks to the control DB."""
    return await run_in_threadpool(getattr(_alerts(request), method), *args)


def _goals(request: Request, slug: str) -> list[tuple[str, str]]:
    """(id, name) of the organization's goals that can be subscribed to (not archived)."""
    from qb_pipeline.goals.store import ARCHIVED, GoalStore

    store = GoalStore(request.app.state.service.db)
    return [(g.goal_id, g.definition.name) for g in store.list(slug) if g.state != ARCHIVED]


async def _page_context(request: Request, membership: Membership) -> dict[str, Any]:
    email, slug = membership.email, membership.org_slug
    goals = await run_in_threadpool(_goals, request, slug)
    return {
        "org": membership.organization,
        "role": membership.role,
        "email": email,
        "is_admin": membership.allows(ADMIN),
        "goals": goals,
        "goal_names": dict(goals),
        "subscriptions": await alert_call(request, "subscriptions", email, slug),
        "endpoints": await alert_call(request, "endpoints", email, slug),
        "webhook_prefix": WEBHOOK_PREFIX,
        "admin_reason": (
            f"Only admins can add or remove webhook endpoints. Your role: {membership.role}."
        ),
        "subscribe_form": {"goal": "*", "deliver_to": EMAIL_CHOICE},
        "endpoint_form": {"name": "", "url": ""},
    }


async def _page(request: Request, status: int = 200, **extra: Any) -> Response:
    """The alerts page; `extra` is what the answer to a form adds (an error, the values
    typed, a new endpoint's secret)."""
    email, slug = signed_in_email(request), request.path_params["slug"]
    membership = await member_of(request, email, slug)
    context = await _page_context(request, membership)
    context.update(extra)
    return render(request, "alerts.html", context, status=status)


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


# -- pages --------------------------------------------------------------------------


async def alerts_home(request: Request) -> Response:
    return see_other(alerts_url(await first_org_slug(request)))


async def alerts_page(request: Request) -> Response:
    return await _page(request)


async def deliveries_page(request: Request) -> Response:
    email, slug = signed_in_email(request), request.path_params["slug"]
    membership = await member_of(request, email, slug)
    # The service checks the admin role and audits a refusal (PermissionDenied: a 403 page).
    entries = await alert_call(request, "delivery_log", email, slug, DELIVERY_LOG_LIMIT)
    status = await call(request, "status", slug)
    context = {
        "org": membership.organization,
        "role": membership.role,
        "entries": entries,
        "limit": DELIVERY_LOG_LIMIT,
        "tz": status.settings.timezone,
    }
    return render(request, "alert_deliveries.html", context)


# -- subscriptions (every member, their own) ----------------------------------------------


def parse_deliver_to(value: str) -> tuple[str, str | None]:
    """`email` or `webhook:<endpoint name>` -> (channel, endpoint name)."""
    if value == EMAIL_CHOICE:
        return "email", None
    if value.startswith(WEBHOOK_PREFIX) and value != WEBHOOK_PREFIX:
        return "webhook", value.removeprefix(WEBHOOK_PREFIX)
    raise InvalidInput(
        f"send to {value!r} is not a choice: pick email or one of the organization's "
        "webhook endpoints"
    )


async def subscribe(request: Request) -> Response:
    form = await checked_form(request)
    email, slug = signed_in_email(request), request.path_params["slug"]
    goal = str(form.get("goal") or "").strip()
    deliver_to = str(form.get("deliver_to") or "").strip()
    try:
        channel, endpoint = parse_deliver_to(deliver_to)
        made = await alert_call(request, "subscribe", email, slug, goal or None, channel, endpoint)
    except REFUSED as error:
        submitted = {"goal": goal, "deliver_to": deliver_to}
        message = _sentence(error)
        return await _page(request, 400, subscribe_error=message, subscribe_form=submitted)
    what = "every goal" if made.all_goals else f"goal {made.goal_id}"
    how = "by email" if made.channel == "email" else f"by webhook {made.endpoint_name}"
    flash(request, "success", f"Subscribed to alerts of {what} {how}.")
    log.info("alerts: %s subscribed to %s in %s (%s)", email, made.goal_id, slug, made.channel)
    return see_other(alerts_url(slug))


async def unsubscribe(request: Request) -> Response:
    await checked_form(request)
    email, slug = signed_in_email(request), request.path_params["slug"]
    subscription_id = request.path_params["subscription_id"]
    try:
        ended = await alert_call(request, "unsubscribe", email, slug, subscription_id)
    except NotFound as error:
        return await _page(request, 404, subscriptions_error=_sentence(error))
    what = "every goal" if ended.all_goals else f"goal {ended.goal_id}"
    flash(request, "success", f"Unsubscribed from alerts of {what} ({ended.channel}).")
    return see_other(alerts_url(slug))


# -- webhook endpoints (admins) -------------------------------------------------------------


def _shown_url(url: str) -> str:
    """What typed URL the form may show again: not one with credentials in it."""
    try:
        parts = urlsplit(url)
        return "" if parts.username or parts.password else url
    except ValueError:
        return url


async def add_endpoint(request: Request) -> Response:
    form = await checked_form(request)
    email, slug = signed_in_email(request), request.path_params["slug"]
    name = str(form.get("name") or "").strip()
    url = str(form.get("url") or "").strip()
    try:
        # Admins only: the service checks the role before it looks at the values.
        added = await alert_call(request, "add_endpoint", email, slug, name, url)
    except REFUSED as error:
        submitted = {"name": name, "url": _shown_url(url)}
        return await _page(request, 400, endpoint_error=_sentence(error), endpoint_form=submitted)
    log.info("alerts: webhook endpoint %s added in %s by %s", added.endpoint.name, slug, email)
    # Answered here, not after a redirect: this page is the one place the secret is shown.
    return await _page(request, new_endpoint=added)


async def remove_endpoint(request: Request) -> Response:
    await checked_form(request)
    email, slug = signed_in_email(request), request.path_params["slug"]
    name = request.path_params["name"]
    try:
        removed = await alert_call(request, "remove_endpoint", email, slug, name)
    except NotFound as error:
        return await _page(request, 404, endpoint_error=_sentence(error))
    flash(
        request,
        "success",
        f"Webhook endpoint {removed.name} removed; its subscriptions ended. Its deliveries "
        "stay in the delivery log.",
    )
    log.info("alerts: webhook endpoint %s removed in %s by %s", name, slug, email)
    return see_other(alerts_url(slug))


def routes() -> list[Route]:
    return [
        Route("/alerts", alerts_home, methods=["GET"]),
        Route("/orgs/{slug}/alerts", alerts_page, methods=["GET"]),
        Route("/orgs/{slug}/alerts/subscriptions", subscribe, methods=["POST"]),
        Route(
            "/orgs/{slug}/alerts/subscriptions/{subscription_id:int}/delete",
            unsubscribe,
            methods=["POST"],
        ),
        Route("/orgs/{slug}/alerts/endpoints", add_endpoint, methods=["POST"]),
        Route("/orgs/{slug}/alerts/endpoints/{name}/delete", remove_endpoint, methods=["POST"]),
        Route("/orgs/{slug}/alerts/deliveries", deliveries_page, methods=["GET"]),
    ]
