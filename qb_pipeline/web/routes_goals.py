"""QuickBooks Goals in the web app: the goals page, one goal's page, and the new-goal form.

Reading needs membership (any role); creating needs editor or admin, checked by the service
(audited) after the CSRF check and before the form's values are read, exactly as the CLI's
`goals create` does. The goal file is written by the CLI's own create flow
(`qb_pipeline.goals.cli.create_goal`), so both refuse the same things with the same words.
Values come from the serving copy (goals_data.py); the chart is SVG drawn here.

The goal modules bring DuckDB, PyYAML and pyarrow (about a second of imports): they are
imported by the handlers that need them, on the first goals request, so that the web app
starts as fast as it did without them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qb_pipeline.connections.models import DISCONNECTED, NOT_CONNECTED, Membership
from qb_pipeline.web.auth import signed_in_email
from qb_pipeline.web.csrf import checked_form
from qb_pipeline.web.goal_chart import ChartPoint, actual_vs_target_svg, format_amount
from qb_pipeline.web.pages import PageError, flash, render, see_other
from qb_pipeline.web.routes_integrations import call, first_org_slug, member_of

if TYPE_CHECKING:
    from qb_pipeline.goals.model import GoalDefinition
    from qb_pipeline.web.goal_form import FormState

log = logging.getLogger(__name__)

EDITOR = "editor"  # the least role that may create goals (as qb_pipeline.goals.cli says)
# The folder of goal files: the variable the CLI and the Dagster code location read too.
GOALS_DIR_ENV = "QBP_GOALS_DIR"
DEFAULT_GOALS_DIR = Path("goal_models")

STATUS_SYMBOLS = {
    "on_track": "✓",
    "at_risk": "!",
    "off_track": "✗",
    "no_target": "-",
    "no_data": "○",
}


def default_goals_dir(env: Mapping[str, str] | None = None) -> Path:
    """$QBP_GOALS_DIR, else ./goal_models, as an absolute path."""
    env = os.environ if env is None else env
    folder = Path(env[GOALS_DIR_ENV]) if env.get(GOALS_DIR_ENV) else DEFAULT_GOALS_DIR
    return folder.resolve()


def goals_url(slug: str) -> str:
    return f"/orgs/{slug}/goals"


def next_run_instructions(slug: str) -> str:
    """What makes a new goal's values appear: the code location reads goal files at load."""
    return (
        "Its values appear after the next goal run: reload the Dagster code location so it "
        "reads the new file (Reload in the Dagster UI, or restart dagster dev), then launch "
        f"the goals_refresh job for the partition {slug}; or wait for the next sync, which "
        "computes the goals after importing."
    )


def period_label(start: date, end: date) -> str:
    """`Aug 2026` for a month, `Apr 2026 to Jun 2026` for a quarter or year."""
    if (start.year, start.month) == (end.year, end.month):
        return f"{start:%b %Y}"
    return f"{start:%b %Y} to {end:%b %Y}"


def tracks_text(definition: GoalDefinition, account_name: str | None = None) -> str:
    """What a goal tracks, in words: `Income line`, `account 13 Products (with sub-accounts)`."""
    tracks = definition.tracks
    if tracks.line is not None:
        return f"{tracks.line.group} line"
    if tracks.account is not None:
        text = f"account {tracks.account.account_id}"
        if account_name:
            text += f" {account_name}"
        if tracks.account.include_subaccounts:
            text += " (with sub-accounts)"
        return text
    return f"formula {tracks.formula.expression}"


def _members_only(request: Request) -> tuple[str, str]:
    return signed_in_email(request), request.path_params["slug"]


# -- pages --------------------------------------------------------------------------


async def goals_home(request: Request) -> Response:
    return see_other(goals_url(await first_org_slug(request)))


async def goals_page(request: Request) -> Response:
    from qb_pipeline.web.goals_data import goals_overview

    email, slug = _members_only(request)
    membership = await member_of(request, email, slug)
    status = await call(request, "status", slug)
    settings, goals_dir = request.app.state.settings, request.app.state.goals_dir
    overview = await run_in_threadpool(goals_overview, settings, goals_dir, slug)
    context = {
        **_org_context(membership),
        "overview": overview,
        "tz": status.settings.timezone,
        "tracks_text": tracks_text,
        "period_label": period_label,
        "amount": format_amount,
        "symbols": STATUS_SYMBOLS,
        "instructions": next_run_instructions(slug),
    }
    return render(request, "goals.html", context)


async def goal_page(request: Request) -> Response:
    from qb_pipeline.web.goal_form import GRAINS, WINDOWS
    from qb_pipeline.web.goals_data import goal_detail

    email, slug = _members_only(request)
    membership = await member_of(request, email, slug)
    goal_id = request.path_params["goal_id"]
    status = await call(request, "status", slug)
    settings, goals_dir = request.app.state.settings, request.app.state.goals_dir
    detail = await run_in_threadpool(
        goal_detail, settings, goals_dir, slug, goal_id, status.realm_id
    )
    if detail is None:
        raise PageError(
            404, "Goal not found", f"{membership.organization.name} has no goal '{goal_id}'."
        )
    points = [
        ChartPoint(period_label(p.period_start, p.period_end), p.actual, p.target, p.status)
        for p in detail.periods
    ]
    chart = actual_vs_target_svg(points, f"{detail.name}: actual and target by period")
    context = {
        **_org_context(membership),
        "goal": detail,
        "chart": chart if points else None,
        "tz": status.settings.timezone,
        "grains": GRAINS,
        "windows": WINDOWS,
        "tracks": tracks_text(detail.definition, detail.account_name)
        if detail.definition
        else None,
        "period_label": period_label,
        "amount": format_amount,
        "symbols": STATUS_SYMBOLS,
        "instructions": next_run_instructions(slug),
    }
    return render(request, "goal.html", context)


async def new_goal_page(request: Request) -> Response:
    email, slug = _members_only(request)
    membership = await member_of(request, email, slug)
    _require_editor(membership)
    wanted = request.query_params.get("dataset")
    return await _form_page(request, membership, wanted, None)


# -- actions ------------------------------------------------------------------------


async def create_goal_action(request: Request) -> Response:
    from qb_pipeline.goals.cli import CREATE_ACTION, GoalRefused, create_goal
    from qb_pipeline.web import goal_form

    form = await checked_form(request)
    email, slug = _members_only(request)
    # Checked before the values are read, so a viewer gets 403, not a validation message.
    membership = await call(request, "require_role", email, slug, EDITOR, CREATE_ACTION)
    create_request, state = goal_form.read_form(form, slug, email)
    if create_request is None:
        return await _form_page(request, membership, state.values.get("dataset"), state)
    service, goals_dir = request.app.state.service, request.app.state.goals_dir
    try:
        created = await run_in_threadpool(create_goal, create_request, service, goals_dir)
    except GoalRefused as refusal:
        goal_form.place_refusal(state, refusal.problems)
        log.info("goal not created: org=%s by=%s: %s", slug, email, "; ".join(refusal.problems))
        return await _form_page(request, membership, create_request.dataset, state)
    goal = created.goal
    where = created.path.relative_to(goals_dir.parent)
    flash(
        request,
        "success",
        f"Created the goal “{goal.name}” ({goal.id}) in {where}. " + next_run_instructions(slug),
    )
    log.info("goal created: org=%s id=%s by=%s", slug, goal.id, email)
    return see_other(f"{goals_url(slug)}/{goal.id}")


# -- helpers ------------------------------------------------------------------------


def _org_context(membership: Membership) -> dict[str, Any]:
    return {
        "org": membership.organization,
        "role": membership.role,
        "can_create": membership.allows(EDITOR),
        "create_reason": f"Only editors and admins can create goals. Your role: {membership.role}.",
    }


def _require_editor(membership: Membership) -> None:
    if not membership.allows(EDITOR):
        raise PageError(
            403,
            "Not allowed",
            f"Only editors and admins can create goals. Your role in "
            f"'{membership.org_slug}': {membership.role}.",
        )


async def _form_page(
    request: Request,
    membership: Membership,
    wanted_dataset: str | None,
    state: FormState | None,
) -> Response:
    """The form for one dataset (or why there can be none), with `state`'s values and errors."""
    from qb_pipeline.web import goal_form
    from qb_pipeline.web.goals_data import imported_catalog

    slug = membership.org_slug
    status = await call(request, "status", slug)
    context: dict[str, Any] = {
        **_org_context(membership),
        "state": state,
        "labels": goal_form.LABELS,
    }
    refused = state is not None and not state.ok
    if status.status in (NOT_CONNECTED, DISCONNECTED):
        context["unavailable"] = (
            f"{membership.organization.name} has no QuickBooks connection "
            f"({status.status.replace('_', ' ')}), so no goal can be created. "
            "An admin connects QuickBooks on the Integrations page."
        )
        return render(request, "goal_new.html", context, status=400 if refused else 200)
    catalog, note = await run_in_threadpool(
        imported_catalog, request.app.state.settings, slug, status.realm_id
    )
    if catalog is None:
        context["unavailable"] = (
            f"Nothing to set a goal on yet: {note}. Goals can be created once the first sync "
            f"of {membership.organization.name} has finished (`qb-pipeline sync --org {slug}`)."
        )
        return render(request, "goal_new.html", context, status=400 if refused else 200)
    datasets = goal_form.imported_datasets(catalog)
    if not datasets:
        context["unavailable"] = (
            f"Nothing to set a goal on yet: no report of {membership.organization.name} has "
            "been imported (only its accounts). The next sync imports them."
        )
        return render(request, "goal_new.html", context, status=400 if refused else 200)
    dataset = wanted_dataset or datasets[0]
    if dataset not in datasets:
        context["dataset_problem"] = (
            f"'{dataset}' has not been imported for {slug} yet; imported: "
            f"{', '.join(sorted(datasets))}"
        )
        dataset = datasets[0]
    if state is None:
        state = goal_form.initial_state(dataset, catalog)
        context["state"] = state
    context.update(
        dataset=dataset,
        dataset_label=goal_form.DATASET_LABELS.get(dataset, dataset),
        choices=goal_form.choices(catalog, dataset),
    )
    return render(request, "goal_new.html", context, status=400 if refused else 200)


def routes() -> list[Route]:
    return [
        Route("/goals", goals_home, methods=["GET"]),
        Route("/orgs/{slug}/goals", goals_page, methods=["GET"]),
        # Before the goal page, so that "new" is the form, not a goal id.
        Route("/orgs/{slug}/goals/new", new_goal_page, methods=["GET"]),
        Route("/orgs/{slug}/goals/new", create_goal_action, methods=["POST"]),
        Route("/orgs/{slug}/goals/{goal_id}", goal_page, methods=["GET"]),
    ]


__all__ = [
    "GOALS_DIR_ENV",
    "default_goals_dir",
    "goals_url",
    "next_run_instructions",
    "period_label",
    "routes",
    "tracks_text",
]
