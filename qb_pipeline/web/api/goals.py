"""The JSON API's goals: list, create, read, change (partial), archive, restore, confirm,
their definition history, and their values.

The same rules as the web app's pages, through the same code (web/goal_changes.py): editors
and admins change goals (the service checks the role and audits a refusal), a definition is
checked against the connected company's data and refused field by field, a change submits a
goals run to Dagster's run queue. A goal's representation carries its version (also its
`ETag`), whether its published values are still those of an older version (`computing`),
and its latest value.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qb_pipeline.web.api.errors import ApiError, Problem, api_endpoint
from qb_pipeline.web.api.requests import caller, expected_version, json_object, query_date

STATES = ("active", "needs_review", "archived")
DEFAULT_STATES = ("active", "needs_review")


def _changes(request: Request) -> Any:
    from qb_pipeline.web.goal_changes import GoalChanges

    return GoalChanges(request.app.state.settings, request.app.state.service, "api")


def _store(request: Request) -> Any:
    from qb_pipeline.goals.store import GoalStore

    return GoalStore(request.app.state.service.db)


def _read_values(settings: Any, org: str, goals: list[Any]) -> tuple[dict, dict, str | None]:
    """Latest values and computed versions of `goals`, from the serving copy."""
    from qb_pipeline.goals import values
    from qb_pipeline.warehouse.serving import serving_copy

    latest: dict[str, Any] = {}
    with serving_copy(settings, org) as serving:
        if serving.con is None:
            return {}, {}, serving.note
        computed = values.computed_versions(serving.con, org)
        for realm_id in {g.realm_id for g in goals}:
            found = values.latest(serving.con, org, realm_id)
            latest.update(
                {
                    g.goal_id: found[g.goal_id]
                    for g in goals
                    if g.goal_id in found and g.realm_id == realm_id
                }
            )
    return latest, computed, None


def _view(goal: Any, latest: Any, computed_version: int | None) -> dict[str, Any]:
    from qb_pipeline.web.goals_data import is_computing

    data = goal.to_dict()
    data["computing"] = is_computing(goal, computed_version)
    data["computed_version"] = computed_version
    data["latest"] = (
        {
            "period_start": latest.period_start.isoformat(),
            "period_end": latest.period_end.isoformat(),
            "actual": latest.actual,
            "target": latest.target,
            "target_source": latest.target_source,
            "status": latest.status,
            "currency": latest.currency,
            "is_stale": latest.is_stale,
            "stale_reason": latest.stale_reason,
            "projected": latest.projected,
            "pace_status": latest.pace_status,
        }
        if latest is not None
        else None
    )
    return data


async def _goal_view(request: Request, org: str, goal: Any) -> dict[str, Any]:
    latest, computed, _ = await run_in_threadpool(
        _read_values, request.app.state.settings, org, [goal]
    )
    return _view(goal, latest.get(goal.goal_id), computed.get(goal.goal_id))


def _etag(goal: Any) -> dict[str, str]:
    return {"ETag": f'"{goal.version}"'}


def _states(request: Request) -> tuple[str, ...]:
    text = request.query_params.get("state")
    if not text:
        return DEFAULT_STATES
    if text == "all":
        return STATES
    wanted = tuple(s.strip() for s in text.split(","))
    unknown = [s for s in wanted if s not in STATES]
    if unknown:
        raise ApiError(
            400,
            "state must be active, needs_review, archived (comma-separated) or all",
            [Problem("state", f"{', '.join(repr(s) for s in unknown)} is not a goal state")],
        )
    return wanted


# -- goals --------------------------------------------------------------------------


@api_endpoint
async def list_goals(request: Request) -> Response:
    who = await caller(request, changes=False)
    org = who.membership.org_slug
    states = _states(request)
    goals = await run_in_threadpool(_store(request).list, org, states)
    latest, computed, note = await run_in_threadpool(
        _read_values, request.app.state.settings, org, goals
    )
    views = [_view(g, latest.get(g.goal_id), computed.get(g.goal_id)) for g in goals]
    return JSONResponse({"org": org, "states": list(states), "goals": views, "values_note": note})


@api_endpoint
async def create_goal(request: Request) -> Response:
    who = await caller(request, changes=True)
    org = who.membership.org_slug
    body = await json_object(request)
    outcome = await run_in_threadpool(_changes(request).create, who.email, org, body)
    goal = outcome.goal
    return JSONResponse(
        {"goal": await _goal_view(request, org, goal), "result": outcome.to_dict()},
        status_code=201,
        headers={**_etag(goal), "Location": f"/api/v1/orgs/{org}/goals/{goal.goal_id}"},
    )


@api_endpoint
async def get_goal(request: Request) -> Response:
    who = await caller(request, changes=False)
    org = who.membership.org_slug
    goal = await run_in_threadpool(_store(request).get, org, request.path_params["goal_id"])
    return JSONResponse({"goal": await _goal_view(request, org, goal)}, headers=_etag(goal))


async def _versioned_change(request: Request, action: str, body_required: bool) -> Response:
    """PATCH, DELETE, restore, confirm: the version the caller saw (If-Match, or `version`
    in the body) guards the change; a mismatch is 412 (If-Match) or 409 (body)."""
    from qb_pipeline.goals.store import GoalConflict

    who = await caller(request, changes=True)
    org = who.membership.org_slug
    goal_id = request.path_params["goal_id"]
    body = await json_object(request, required=body_required)
    version, source = expected_version(request, body)
    changes = _changes(request)
    try:
        if action == "patch":
            outcome = await run_in_threadpool(changes.patch, who.email, org, goal_id, body, version)
        else:
            if body:
                raise ApiError(
                    400,
                    f"{action} takes no fields but `version`",
                    [Problem(name, "not allowed here") for name in body],
                )
            method = getattr(changes, action)
            outcome = await run_in_threadpool(method, who.email, org, goal_id, version)
    except GoalConflict as conflict:
        current = await run_in_threadpool(_store(request).get, org, goal_id)
        if version is not None and current.version != version:
            status = 412 if source == "If-Match" else 409
            raise ApiError(
                status,
                str(conflict),
                [Problem(source or "version", f"the goal is at version {current.version}")],
                _etag(current),
            ) from None
        raise
    goal = outcome.goal
    return JSONResponse(
        {"goal": await _goal_view(request, org, goal), "result": outcome.to_dict()},
        headers=_etag(goal),
    )


@api_endpoint
async def patch_goal(request: Request) -> Response:
    return await _versioned_change(request, "patch", body_required=True)


@api_endpoint
async def archive_goal(request: Request) -> Response:
    return await _versioned_change(request, "archive", body_required=False)


@api_endpoint
async def restore_goal(request: Request) -> Response:
    return await _versioned_change(request, "restore", body_required=False)


@api_endpoint
async def confirm_goal(request: Request) -> Response:
    return await _versioned_change(request, "confirm", body_required=False)


@api_endpoint
async def goal_history(request: Request) -> Response:
    who = await caller(request, changes=False)
    org = who.membership.org_slug
    goal_id = request.path_params["goal_id"]
    versions = await run_in_threadpool(_store(request).history, org, goal_id)
    return JSONResponse({"goal_id": goal_id, "versions": [v.to_dict() for v in versions]})


# -- values -------------------------------------------------------------------------


def _periods(settings: Any, org: str, goals: list[Any], start: Any) -> tuple[list, str | None]:
    from qb_pipeline.goals import values
    from qb_pipeline.warehouse.serving import serving_copy

    found = []
    with serving_copy(settings, org) as serving:
        if serving.con is None:
            return [], serving.note
        for goal in goals:
            for period in values.periods(serving.con, org, goal.realm_id, goal.goal_id):
                if start is None or period.period_start == start:
                    found.append({"goal_id": goal.goal_id, **period.to_dict()})
    return found, None


def _history(settings: Any, org: str, goal: Any, start: Any) -> tuple[list, str | None]:
    from qb_pipeline.goals import values
    from qb_pipeline.warehouse.serving import serving_copy

    with serving_copy(settings, org) as serving:
        if serving.con is None:
            return [], serving.note
        points = values.history(serving.con, org, goal.realm_id, goal.goal_id, start)
    return [p.to_dict() for p in points], None


async def _goals_asked(request: Request, org: str, goal_id: str | None) -> list[Any]:
    store = _store(request)
    if goal_id:
        return [await run_in_threadpool(store.get, org, goal_id)]
    return await run_in_threadpool(store.list, org, DEFAULT_STATES)


@api_endpoint
async def goal_values(request: Request) -> Response:
    """Every period of the goal (`goal_id`) or of every current goal, `period_start` only
    when given."""
    who = await caller(request, changes=False)
    org = who.membership.org_slug
    start = query_date(request, "period_start")
    goals = await _goals_asked(request, org, request.query_params.get("goal_id"))
    rows, note = await run_in_threadpool(_periods, request.app.state.settings, org, goals, start)
    return JSONResponse({"org": org, "values": rows, "values_note": note})


@api_endpoint
async def goal_value_history(request: Request) -> Response:
    """What the goal's periods (or the one starting `period_start`) were after each
    computation that changed them."""
    who = await caller(request, changes=False)
    org = who.membership.org_slug
    goal_id = request.query_params.get("goal_id")
    if not goal_id:
        raise ApiError(400, "goal_id is required", [Problem("goal_id", "missing")])
    start = query_date(request, "period_start")
    [goal] = await _goals_asked(request, org, goal_id)
    rows, note = await run_in_threadpool(_history, request.app.state.settings, org, goal, start)
    return JSONResponse({"org": org, "goal_id": goal_id, "history": rows, "values_note": note})


__all__ = [
    "archive_goal",
    "confirm_goal",
    "create_goal",
    "get_goal",
    "goal_history",
    "goal_value_history",
    "goal_values",
    "list_goals",
    "patch_goal",
    "restore_goal",
]
