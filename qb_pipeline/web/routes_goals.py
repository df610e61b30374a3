"""QuickBooks Goals in the web app: the goals list (current and archived), a goal's page, the
new-goal and edit forms with their preview, and archive / restore / confirm.

Reading needs membership (any role). Every change needs editor or admin, checked by the
service (audited) after the CSRF check and before the form's values are read; the change
itself goes through goal_changes.py, the same path as the JSON API's, which stores the goal
and submits a goals run to Dagster's run queue. Pages stay server-rendered and work without
JavaScript; static/live.js polls the `/live` JSON of a page to replace its computing state
and values in place when a run has published them.

The goal modules bring DuckDB, PyYAML and pyarrow (about a second of imports): they are
imported by the handlers that need them, on the first goals request, so that the web app
starts as fast as it did without them.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qb_pipeline.connections.errors import NotConnected
from qb_pipeline.connections.results import DISCONNECTED, NOT_CONNECTED, Membership
from qb_pipeline.web.auth import signed_in_email
from qb_pipeline.web.csrf import checked_form
from qb_pipeline.web.goal_chart import format_amount
from qb_pipeline.web.pages import PageError, flash, render, see_other, templates
from qb_pipeline.web.routes_integrations import call, first_org_slug, member_of

if TYPE_CHECKING:
    from qb_pipeline.goals.store import GoalStore
    from qb_pipeline.web.goal_changes import GoalChanges
    from qb_pipeline.web.goal_form import FormState
    from qb_pipeline.web.goals_data import GoalDetail, GoalsOverview

log = logging.getLogger(__name__)

EDITOR = "editor"  # the least role that may change goals (the service's goal_editor says so)
ARCHIVED_VIEW = "archived"
# The parts of a goal's page (and of the list) that static/live.js keeps current.
GOAL_FRAGMENTS = {
    "goal-state": "_goal_state.html",
    "goal-values": "_goal_values.html",
    "goal-history": "_goal_history.html",
}
LIST_FRAGMENTS = {"goal-rows": "_goal_rows.html"}


def goals_url(slug: str) -> str:
    return f"/orgs/{slug}/goals"


def goal_url(slug: str, goal_id: str) -> str:
    return f"/orgs/{slug}/goals/{goal_id}"


def new_goal_url(slug: str) -> str:
    return f"/orgs/{slug}/new-goal"


def _store(request: Request) -> GoalStore:
    from qb_pipeline.goals.store import GoalStore

    return GoalStore(request.app.state.service.db)


def _changes(request: Request) -> GoalChanges:
    from qb_pipeline.web.goal_changes import GoalChanges

    return GoalChanges(request.app.state.settings, request.app.state.service, "web")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _org_context(membership: Membership) -> dict[str, Any]:
    return {
        "org": membership.organization,
        "role": membership.role,
        "can_edit": membership.allows(EDITOR),
        "edit_reason": f"Only editors and admins can change goals. Your role: {membership.role}.",
    }


def _shared(tz: str) -> dict[str, Any]:
    """What every goals template uses: formatting helpers and labels."""
    from qb_pipeline.web import goal_text

    return {
        "tz": tz,
        "amount": format_amount,
        "period_label": goal_text.period_label,
        "tracks_text": goal_text.tracks_text,
        "symbols": goal_text.STATUS_SYMBOLS,
        "state_labels": goal_text.STATE_LABELS,
        "change_labels": goal_text.CHANGE_LABELS,
        "change_text": goal_text.change_text,
    }


def _fragments(names: dict[str, str], context: dict[str, Any]) -> dict[str, str]:
    return {
        element: templates.env.get_template(template).render(**context)
        for element, template in names.items()
    }


def _digest(fragments: dict[str, str]) -> str:
    """Changes when any fragment does: the script replaces the page's parts only then."""
    text = "\x00".join(f"{k}\x00{v}" for k, v in sorted(fragments.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# -- the goals list -----------------------------------------------------------------


async def goals_home(request: Request) -> Response:
    return see_other(goals_url(await first_org_slug(request)))


async def _overview_context(request: Request) -> dict[str, Any]:
    from qb_pipeline.web.goals_data import goals_overview

    email, slug = signed_in_email(request), request.path_params["slug"]
    membership = await member_of(request, email, slug)
    status = await call(request, "status", slug)
    archived = request.query_params.get("state") == ARCHIVED_VIEW
    context: dict[str, Any] = {
        **_org_context(membership),
        **_shared(status.settings.timezone),
        "archived_view": archived,
        "overview": None,
        "problem": None,
    }
    try:
        overview: GoalsOverview = await run_in_threadpool(
            goals_overview, request.app.state.settings, _store(request), slug, archived=archived
        )
    except ValueError as error:  # a stored definition this version cannot read
        log.exception("goals of %s cannot be read", slug)
        context["problem"] = (
            f"The goals of {membership.organization.name} cannot be read now: "
            + (" ".join(str(error).split())[:300])
        )
        return context
    context["overview"] = overview
    return context


async def goals_page(request: Request) -> Response:
    context = await _overview_context(request)
    if context["overview"] is not None and not context["archived_view"]:
        fragments = _fragments(LIST_FRAGMENTS, context)
        context["live"] = {
            "url": f"/orgs/{context['org'].slug}/live/goals",
            "digest": _digest(fragments),
            "busy": context["overview"].computing,
        }
    return render(request, "goals.html", context)


async def goals_live(request: Request) -> Response:
    context = await _overview_context(request)
    if context["overview"] is None:
        return JSONResponse({"busy": False, "digest": "", "fragments": {}}, status_code=500)
    fragments = _fragments(LIST_FRAGMENTS, context)
    busy = context["overview"].computing
    return JSONResponse({"busy": busy, "digest": _digest(fragments), "fragments": fragments})


# -- one goal -----------------------------------------------------------------------


async def _goal_context(request: Request) -> dict[str, Any]:
    from qb_pipeline.goals.store import GoalNotFound
    from qb_pipeline.web import goal_text
    from qb_pipeline.web.goal_chart import (
        ChartPoint,
        HistoryPoint,
        actual_vs_target_svg,
        history_svg,
    )
    from qb_pipeline.web.goals_data import goal_detail

    email, slug = signed_in_email(request), request.path_params["slug"]
    membership = await member_of(request, email, slug)
    goal_id = request.path_params["goal_id"]
    status = await call(request, "status", slug)
    zone = _zone(status.settings.timezone)
    try:
        detail: GoalDetail = await run_in_threadpool(
            goal_detail,
            request.app.state.settings,
            _store(request),
            slug,
            goal_id,
            status.realm_id,
            datetime.now(zone).date(),
        )
    except GoalNotFound:
        raise PageError(
            404, "Goal not found", f"{membership.organization.name} has no goal '{goal_id}'."
        ) from None
    except ValueError as error:  # a stored definition this version cannot read
        log.exception("goal %s of %s cannot be read", goal_id, slug)
        raise PageError(
            500,
            "Goal cannot be read",
            f"The goal '{goal_id}' of {membership.organization.name} cannot be read now: "
            + " ".join(str(error).split())[:300],
        ) from None
    name = detail.goal.definition.name
    points = [
        ChartPoint(
            goal_text.period_label(p.period_start, p.period_end),
            p.actual,
            p.target,
            p.status,
            p.projected,
            p.pace_status,
        )
        for p in detail.periods
    ]
    chart = actual_vs_target_svg(points, f"{name}: actual and target by period") if points else None
    history_chart = None
    if detail.current is not None and detail.history:
        label = goal_text.period_label(detail.current.period_start, detail.current.period_end)
        history_chart = history_svg(
            [
                HistoryPoint(h.as_of.astimezone(zone), h.actual, h.target, h.status)
                for h in detail.history
            ],
            f"{name}: how {label}'s actual moved, computation by computation",
        )
    return {
        **_org_context(membership),
        **_shared(status.settings.timezone),
        "goal": detail,
        "stored": detail.goal,
        "definition_rows": goal_text.definition_rows(
            detail.goal.definition, detail.names, detail.budgets
        ),
        # Where the published targets come from, as the goal step recorded it.
        "target_source": goal_text.source_text(detail.latest.target_source)
        if detail.latest is not None
        else None,
        "yaml_text": goal_text.yaml_text(detail.goal.definition),
        "chart": chart,
        "history_chart": history_chart,
        "connected_company": status.company_name,
        "connected_realm": status.realm_id,
    }


async def goal_page(request: Request) -> Response:
    context = await _goal_context(request)
    fragments = _fragments(GOAL_FRAGMENTS, context)
    stored = context["stored"]
    context["live"] = {
        "url": f"/orgs/{stored.org_slug}/live/goals/{stored.goal_id}",
        "digest": _digest(fragments),
        "busy": context["goal"].computing,
    }
    return render(request, "goal.html", context)


async def goal_live(request: Request) -> Response:
    context = await _goal_context(request)
    detail = context["goal"]
    fragments = _fragments(GOAL_FRAGMENTS, context)
    return JSONResponse(
        {
            "busy": detail.computing,
            "state": detail.goal.state,
            "version": detail.goal.version,
            "computed_version": detail.computed_version,
            "digest": _digest(fragments),
            "fragments": fragments,
        }
    )


# -- the forms ----------------------------------------------------------------------


async def new_goal_page(request: Request) -> Response:
    email, slug = signed_in_email(request), request.path_params["slug"]
    membership = await member_of(request, email, slug)
    _require_editor(membership)
    return await _form_page(request, membership, None, request.query_params.get("dataset"))


async def edit_goal_page(request: Request) -> Response:
    from qb_pipeline.goals.store import GoalNotFound
    from qb_pipeline.web.goal_form import state_from_definition

    email, slug = signed_in_email(request), request.path_params["slug"]
    membership = await member_of(request, email, slug)
    _require_editor(membership)
    goal_id = request.path_params["goal_id"]
    try:
        stored = await run_in_threadpool(_store(request).get, slug, goal_id)
    except GoalNotFound:
        raise PageError(
            404, "Goal not found", f"{membership.organization.name} has no goal '{goal_id}'."
        ) from None
    _require_editable(stored)
    state = state_from_definition(stored.definition)
    wanted = request.query_params.get("dataset")
    if wanted:
        state.values["dataset"] = wanted
    return await _form_page(request, membership, state, state.value("dataset"), stored=stored)


async def create_goal_action(request: Request) -> Response:
    return await _form_action(request, None)


async def edit_goal_action(request: Request) -> Response:
    return await _form_action(request, request.path_params["goal_id"])


async def _form_action(request: Request, goal_id: str | None) -> Response:
    """Preview, choices (another dataset's lines and accounts) or save, for a new goal
    (`goal_id` None) or an existing one."""
    from qb_pipeline.goals.editing import GoalRefused
    from qb_pipeline.goals.store import GoalConflict, GoalNotFound
    from qb_pipeline.web import goal_form

    form = await checked_form(request)
    email, slug = signed_in_email(request), request.path_params["slug"]
    # Checked before the values are read, so a viewer gets 403, not a validation message.
    membership, _ = await call(request, "goal_editor", email, slug, needs_connection=False)
    stored = None
    if goal_id is not None:
        try:
            stored = await run_in_threadpool(_store(request).get, slug, goal_id)
        except GoalNotFound:
            raise PageError(
                404, "Goal not found", f"{membership.organization.name} has no goal '{goal_id}'."
            ) from None
        _require_editable(stored)
    action = str(form.get("action") or "save")
    raw, state = goal_form.read_form(form)
    dataset = state.value("dataset") or None
    if action == "choices":
        state.errors.clear()
        return await _form_page(request, membership, state, dataset, stored=stored)
    if raw is None:
        return await _form_page(request, membership, state, dataset, stored=stored, status=400)
    changes = _changes(request)
    if stored is not None:
        raw = goal_form.with_kept_fields(raw, stored.definition)
    try:
        if action == "preview":
            preview = await run_in_threadpool(changes.preview, email, slug, raw, goal_id)
            return await _form_page(
                request, membership, state, dataset, stored=stored, preview=preview
            )
        if stored is None:
            outcome = await run_in_threadpool(changes.create, email, slug, raw)
        else:
            version = _version(form)
            outcome = await run_in_threadpool(
                changes.update, email, slug, stored.goal_id, raw, version
            )
    except GoalRefused as refusal:
        goal_form.place_issues(state, refusal.issues)
        log.info("goal not saved: org=%s by=%s: %s", slug, email, "; ".join(refusal.problems))
        return await _form_page(request, membership, state, dataset, stored=stored, status=400)
    except GoalConflict as conflict:
        goal_form.refused_state(state, str(conflict))
        return await _form_page(request, membership, state, dataset, stored=stored, status=409)
    except NotConnected as error:
        goal_form.refused_state(state, str(error))
        return await _form_page(request, membership, state, dataset, stored=stored, status=400)
    goal = outcome.goal
    verb = "Created" if stored is None else "Saved"
    if outcome.changed:
        flash(
            request,
            "success",
            f"{verb} the goal “{goal.definition.name}” ({goal.goal_id}, version "
            f"{goal.version}). {outcome.values_note()}",
        )
    else:
        flash(request, "info", f"Nothing to save: “{goal.definition.name}” is already so.")
    log.info("goal %s: org=%s id=%s by=%s", outcome.change, slug, goal.goal_id, email)
    return see_other(goal_url(slug, goal.goal_id))


def _version(form: FormData) -> int | None:
    text = str(form.get("version") or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise PageError(
            400, "Request not completed", f"version must be a whole number, not {text!r}."
        )
    return int(text)


async def _form_page(
    request: Request,
    membership: Membership,
    state: FormState | None,
    wanted_dataset: str | None,
    *,
    stored: Any = None,
    preview: Any = None,
    status: int = 200,
) -> Response:
    """The form for one dataset (or why there can be none), with `state`'s values and errors
    and, after "Preview", the latest periods the goal would have."""
    from qb_pipeline.web import goal_form
    from qb_pipeline.web.goals_data import imported_catalog

    slug = membership.org_slug
    connection = await call(request, "status", slug)
    context: dict[str, Any] = {
        **_org_context(membership),
        **_shared(connection.settings.timezone),
        "state": state,
        "stored": stored,
        "preview": preview,
        "form_action": goal_url(slug, stored.goal_id) + "/edit" if stored else new_goal_url(slug),
    }
    if connection.status in (NOT_CONNECTED, DISCONNECTED):
        context["unavailable"] = (
            f"{membership.organization.name} has no QuickBooks connection "
            f"({connection.status.replace('_', ' ')}), so its goals cannot be created or "
            "changed. An admin connects QuickBooks on the Integrations page."
        )
        return render(request, "goal_form.html", context, status=max(status, 400))
    catalog, note = await run_in_threadpool(
        imported_catalog, request.app.state.settings, slug, connection.realm_id
    )
    if catalog is None:
        context["unavailable"] = (
            f"Nothing to set a goal on yet: {note}. Goals can be created once the first sync "
            f"of {membership.organization.name} has finished (`qb-pipeline sync --org {slug}`)."
        )
        return render(request, "goal_form.html", context, status=max(status, 400))
    datasets = goal_form.imported_datasets(catalog)
    if not datasets:
        context["unavailable"] = (
            f"Nothing to set a goal on yet: no report of {membership.organization.name} has "
            "been imported (only its accounts). The next sync imports them."
        )
        return render(request, "goal_form.html", context, status=max(status, 400))
    dataset = wanted_dataset or datasets[0]
    if dataset not in datasets:
        context["dataset_problem"] = (
            f"'{dataset}' has not been imported for {slug} yet; imported: "
            f"{', '.join(sorted(datasets))}"
        )
        if state is None or not stored:
            dataset = datasets[0]
    if state is None:
        state = goal_form.initial_state(dataset, catalog)
    state.values["dataset"] = dataset
    context.update(
        state=state,
        dataset=dataset,
        choices=goal_form.choices(catalog, dataset, state),
        labels=goal_form.LABELS,
    )
    return render(request, "goal_form.html", context, status=status)


# -- archive, restore, confirm ------------------------------------------------------


async def _state_action(request: Request, what: str) -> Response:
    from qb_pipeline.goals.store import GoalConflict, GoalNotFound

    form = await checked_form(request)
    email, slug = signed_in_email(request), request.path_params["slug"]
    goal_id = request.path_params["goal_id"]
    await call(request, "goal_editor", email, slug, needs_connection=False)
    version = _version(form)
    changes = _changes(request)
    try:
        outcome = await run_in_threadpool(getattr(changes, what), email, slug, goal_id, version)
    except GoalNotFound:
        raise PageError(404, "Goal not found", f"There is no goal '{goal_id}' in {slug}.") from None
    except GoalConflict as conflict:
        flash(request, "error", f"Not done: {conflict}.")
        return see_other(goal_url(slug, goal_id))
    except NotConnected as error:
        flash(request, "error", f"Not done: {error}.")
        return see_other(goal_url(slug, goal_id))
    name = outcome.goal.definition.name
    log.info("goal %s: org=%s id=%s by=%s", what, slug, goal_id, email)
    if what == "archive":
        if outcome.changed:
            flash(
                request,
                "success",
                f"Archived “{name}”: it is no longer computed; its values and history are "
                "kept under Archived.",
            )
        return see_other(goals_url(slug))
    if outcome.changed:
        done = {"restore": "Restored", "confirm": "Confirmed"}[what]
        flash(request, "success", f"{done} “{name}”. {outcome.values_note()}")
    return see_other(goal_url(slug, goal_id))


async def archive_action(request: Request) -> Response:
    return await _state_action(request, "archive")


async def restore_action(request: Request) -> Response:
    return await _state_action(request, "restore")


async def confirm_action(request: Request) -> Response:
    return await _state_action(request, "confirm")


# -- helpers ------------------------------------------------------------------------


def _require_editor(membership: Membership) -> None:
    if not membership.allows(EDITOR):
        raise PageError(
            403,
            "Not allowed",
            f"Only editors and admins can create or change goals. Your role in "
            f"'{membership.org_slug}': {membership.role}.",
        )


def _require_editable(stored: Any) -> None:
    if stored.file_managed:
        raise PageError(
            409,
            "Managed by a goal file",
            f"The goal '{stored.goal_id}' is managed by the goal file {stored.managed_by}: "
            "change the file and run `qb-pipeline goals apply`.",
        )
    if stored.is_archived:
        raise PageError(
            409,
            "Archived goal",
            f"The goal '{stored.goal_id}' is archived: restore it before changing it.",
        )


def routes() -> list[Route]:
    return [
        Route("/goals", goals_home, methods=["GET"]),
        Route("/orgs/{slug}/goals", goals_page, methods=["GET"]),
        # Live JSON lives outside the goal id space: no goal id is reserved.
        Route("/orgs/{slug}/live/goals", goals_live, methods=["GET"]),
        Route("/orgs/{slug}/new-goal", new_goal_page, methods=["GET"]),
        Route("/orgs/{slug}/new-goal", create_goal_action, methods=["POST"]),
        Route("/orgs/{slug}/goals/{goal_id}", goal_page, methods=["GET"]),
        Route("/orgs/{slug}/live/goals/{goal_id}", goal_live, methods=["GET"]),
        Route("/orgs/{slug}/goals/{goal_id}/edit", edit_goal_page, methods=["GET"]),
        Route("/orgs/{slug}/goals/{goal_id}/edit", edit_goal_action, methods=["POST"]),
        Route("/orgs/{slug}/goals/{goal_id}/archive", archive_action, methods=["POST"]),
        Route("/orgs/{slug}/goals/{goal_id}/restore", restore_action, methods=["POST"]),
        Route("/orgs/{slug}/goals/{goal_id}/confirm", confirm_action, methods=["POST"]),
    ]


__all__ = ["goal_url", "goals_url", "new_goal_url", "routes"]
