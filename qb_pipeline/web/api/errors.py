"""Errors of the JSON API: always `{"error": {"message": ..., "problems": [{"field": ...,
"reason": ...}]}}`, with the HTTP status that fits, whatever went wrong.

`api_endpoint` wraps every handler: the errors the app's own layers raise on purpose (a
refused goal, a role that does not allow the action, a version that changed meanwhile, ...)
become their JSON answer here, so none reaches the HTML error pages; anything unexpected is
logged and answered 500 without details.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qb_pipeline.web.body_limit import BodyTooLarge

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Problem:
    field: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class ApiError(Exception):
    """Stop handling an API request and answer `status` with this message and problems."""

    def __init__(
        self,
        status: int,
        message: str,
        problems: Iterable[Problem] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = list(problems)
        self.headers = headers or {}

    def response(self) -> Response:
        return error_response(self.status, self.message, self.problems, self.headers)


def error_response(
    status: int,
    message: str,
    problems: Sequence[Problem] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": {"message": message, "problems": [p.to_dict() for p in problems]}}
    return JSONResponse(body, status_code=status, headers=headers)


def not_visible(org: str) -> ApiError:
    """The one answer for an organization that does not exist and one the caller is not a
    member of, so that nobody can tell which organizations exist."""
    return ApiError(
        404,
        f"there is no organization {org!r} that you are a member of",
        [Problem("org", "unknown, or you are not a member of it")],
    )


def api_endpoint(handler: Handler) -> Handler:
    """Answer every error of `handler` as JSON (see the module docstring)."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return error.response()
        except BodyTooLarge:
            raise  # the body limit answers it (413, in the API's shape) before any response
        except Exception as error:  # every error leaves as JSON
            return _known(request, error)

    return wrapped


def _known(request: Request, error: Exception) -> Response:
    from qb_pipeline.connections.access_tokens import TokenRejected
    from qb_pipeline.connections.errors import (
        IntegrationError,
        InvalidInput,
        NotConnected,
        NotFound,
        PermissionDenied,
    )
    from qb_pipeline.connections.sync_requests import SyncBusy
    from qb_pipeline.goals.editing import GoalRefused
    from qb_pipeline.goals.store import GoalConflict, GoalNotFound

    text = " ".join(str(error).split())
    if isinstance(error, GoalRefused):
        problems = [Problem(i.field or "definition", i.message) for i in error.issues]
        return error_response(422, "the goal was refused; nothing was stored", problems)
    if isinstance(error, GoalNotFound):
        return error_response(404, text, [Problem("goal_id", "no such goal")])
    if isinstance(error, GoalConflict):
        return error_response(409, text, [Problem("goal", text)])
    if isinstance(error, TokenRejected):
        return error_response(
            401, text, [Problem("Authorization", text)], {"WWW-Authenticate": "Bearer"}
        )
    if isinstance(error, PermissionDenied):
        return error_response(403, text, [Problem("role", text)])
    if isinstance(error, NotConnected):
        return error_response(409, text, [Problem("organization", text)])
    if isinstance(error, SyncBusy):
        return error_response(409, text, [Problem("sync", text)])
    if isinstance(error, NotFound):
        return not_visible(str(request.path_params.get("org", ""))).response()
    if isinstance(error, InvalidInput | IntegrationError):
        return error_response(400, text)
    log.exception("API %s %s failed", request.method, request.url.path)
    return error_response(500, "the server failed to answer; its log has the details")


__all__ = ["ApiError", "Problem", "api_endpoint", "error_response", "not_visible"]
