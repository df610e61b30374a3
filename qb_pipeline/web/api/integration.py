"""The JSON API's integration: the QuickBooks connection, the syncs, the data available,
and "Sync now" (admins), exactly as the integration page shows and does them."""

from __future__ import annotations

import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qb_pipeline.web.api.errors import ApiError, Problem, api_endpoint
from qb_pipeline.web.api.requests import caller, json_object

RECENT_SYNCS = 10


async def _integration(request: Request, org: str) -> dict:
    from qb_pipeline.web.routes_integrations import _available

    service = request.app.state.service
    status = await run_in_threadpool(service.status, org)
    activity = await run_in_threadpool(service.sync_activity, org)
    recent = await run_in_threadpool(service.recent_syncs, org, RECENT_SYNCS)
    available = await run_in_threadpool(_available, request.app.state.settings, org, status)
    return {
        "connection": status.to_dict(),
        "sync": activity.to_dict(),
        "recent_syncs": [run.to_dict() for run in recent],
        "data_available": [item.to_dict() for item in available],
    }


@api_endpoint
async def get_integration(request: Request) -> Response:
    who = await caller(request, changes=False)
    return JSONResponse(await _integration(request, who.membership.org_slug))


@api_endpoint
async def sync_now(request: Request) -> Response:
    """Queue a sync (202), or say why not: 403 (not an admin), 409 (not connected, or a
    sync is queued or running), 503 (Dagster did not take the run; the request is kept)."""
    from qb_pipeline.sync.launcher import submit_sync

    who = await caller(request, changes=True)
    org = who.membership.org_slug
    if await json_object(request, required=False):
        raise ApiError(400, "sync takes no body", [Problem("body", "must be empty or {}")])
    service = request.app.state.service
    _, status = await run_in_threadpool(service.sync_requester, who.email, org)
    settings = request.app.state.settings
    submission = await run_in_threadpool(
        functools.partial(submit_sync, requested_by=who.email, realm_id=status.realm_id),
        settings,
        org,
    )
    await run_in_threadpool(
        service.record_sync_request,
        org,
        who.email,
        status.realm_id,
        submission.run_id,
        submission.problem,
    )
    body = await _integration(request, org)
    if not submission.submitted:
        return JSONResponse(
            {
                "error": {
                    "message": f"the sync could not be queued: {submission.problem}",
                    "problems": [{"field": "dagster", "reason": submission.problem}],
                },
                **body,
            },
            status_code=503,
        )
    return JSONResponse({"run_id": submission.run_id, **body}, status_code=202)


__all__ = ["get_integration", "sync_now"]
