"""The JSON API for the host application, under /api/v1 (documented in docs/api.md).

The same rules as the web app: members read, editors and admins change goals, admins sync;
a browser's session (changes need the `X-CSRF-Token` header) or a personal access token
(`Authorization: Bearer ...`) says who calls. Every answer is JSON, errors included:
`{"error": {"message": ..., "problems": [{"field": ..., "reason": ...}]}}`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, Router

from qb_pipeline.web.api import goals, integration
from qb_pipeline.web.api.errors import error_response

PREFIX = "/api/v1"
ORG = "/orgs/{org}"


async def not_found(scope, receive, send) -> None:  # noqa: ANN001 - ASGI callable
    request = Request(scope, receive)
    response: Response = error_response(
        404,
        f"there is no API endpoint {request.method} {request.url.path}; see docs/api.md",
        [],
    )
    await response(scope, receive, send)


def routes() -> list[Mount]:
    api = [
        Route(f"{ORG}/goals", goals.list_goals, methods=["GET"]),
        Route(f"{ORG}/goals", goals.create_goal, methods=["POST"]),
        Route(f"{ORG}/goals/{{goal_id}}", goals.get_goal, methods=["GET"]),
        Route(f"{ORG}/goals/{{goal_id}}", goals.patch_goal, methods=["PATCH"]),
        Route(f"{ORG}/goals/{{goal_id}}", goals.archive_goal, methods=["DELETE"]),
        Route(f"{ORG}/goals/{{goal_id}}/restore", goals.restore_goal, methods=["POST"]),
        Route(f"{ORG}/goals/{{goal_id}}/confirm", goals.confirm_goal, methods=["POST"]),
        Route(f"{ORG}/goals/{{goal_id}}/history", goals.goal_history, methods=["GET"]),
        Route(f"{ORG}/goal_values", goals.goal_values, methods=["GET"]),
        Route(f"{ORG}/goal_value_history", goals.goal_value_history, methods=["GET"]),
        Route(f"{ORG}/integration", integration.get_integration, methods=["GET"]),
        Route(f"{ORG}/integration/sync", integration.sync_now, methods=["POST"]),
    ]
    return [Mount(PREFIX, app=Router(routes=api, default=not_found))]


__all__ = ["PREFIX", "routes"]
