"""Reading API requests: who calls (a session or a personal access token), the JSON body
(capped, an object), the version a change expects, and query parameters.

Who calls:
- `Authorization: Bearer <token>`: a personal access token (connections/access_tokens.py);
  it acts as its user, with that user's current role, in its own organization only;
- otherwise the browser's session cookie; a change (any method but GET) then also needs the
  session's CSRF token in `X-CSRF-Token` (the page's `<meta name="csrf-token">`), which other
  sites cannot read, so they cannot make a signed-in browser change anything.
Neither: 401.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from qb_pipeline.connections.results import Membership
from qb_pipeline.web.api.errors import ApiError, Problem, not_visible
from qb_pipeline.web.csrf import csrf_token

CSRF_HEADER = "X-CSRF-Token"
# The largest body the API reads: a goal definition with a hundred per-period targets is
# under 10 KiB. Bigger bodies are refused before they are parsed.
MAX_BODY_BYTES = 32 * 1024
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


@dataclass(frozen=True)
class Caller:
    """Who makes the request, as a member of the path's organization."""

    membership: Membership
    via: str  # "session" or "token"
    token_id: int | None = None

    @property
    def email(self) -> str:
        return self.membership.email


async def caller(request: Request, *, changes: bool) -> Caller:
    """The member of the path's organization who calls, or the ApiError that says why not."""
    service = request.app.state.service
    org = str(request.path_params["org"])
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401,
                "the Authorization header must be `Bearer <personal access token>`",
                [Problem("Authorization", "not a bearer token")],
                {"WWW-Authenticate": "Bearer"},
            )
        info, member = await run_in_threadpool(service.authenticate_access_token, token.strip())
        if info.org_slug != org:
            raise ApiError(
                403,
                f"this access token is for the organization {info.org_slug!r} only",
                [Problem("Authorization", f"scoped to {info.org_slug!r}")],
            )
        return Caller(member, "token", info.id)
    email = request.session.get("user")
    if not isinstance(email, str) or not email:
        raise ApiError(
            401,
            "sign in, or send `Authorization: Bearer <personal access token>`",
            [Problem("Authorization", "no session and no token")],
            {"WWW-Authenticate": "Bearer"},
        )
    if changes:
        sent = request.headers.get(CSRF_HEADER, "")
        expected = csrf_token(request)
        if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise ApiError(
                403,
                f"a change made with a browser session needs the session's CSRF token in the "
                f'{CSRF_HEADER} header (the page\'s <meta name="csrf-token">)',
                [Problem(CSRF_HEADER, "missing or not this session's")],
            )
    member = await run_in_threadpool(service.membership, email, org)
    if member is None:
        raise not_visible(org)
    return Caller(member, "session")


async def json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object (at most MAX_BODY_BYTES); {} for an empty optional body."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _too_large()
    if not body.strip():
        if required:
            raise ApiError(400, "the request needs a JSON body", [Problem("body", "empty")])
        return {}
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(
            415,
            "send the body as JSON (Content-Type: application/json)",
            [Problem("Content-Type", f"is {media or 'missing'!r}, not 'application/json'")],
        )
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        reason = str(error) if isinstance(error, ValueError) else "nested too deeply"
        raise ApiError(400, "the body is not valid JSON", [Problem("body", reason)]) from None
    if not isinstance(data, dict):
        raise ApiError(
            400,
            "the body must be a JSON object",
            [Problem("body", f"is a JSON {type(data).__name__}, not an object")],
        )
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _too_large() -> ApiError:
    return ApiError(
        413,
        f"the body is larger than {MAX_BODY_BYTES // 1024} KiB; nothing was read",
        [Problem("body", "too large")],
    )


def expected_version(request: Request, body: dict[str, Any]) -> tuple[int | None, str | None]:
    """The version a change expects, from If-Match or the body's `version` (popped), and
    where it came from ("If-Match" or "version")."""
    given = body.pop("version", None)
    from_body = None
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, int) or given < 1:
            raise ApiError(
                400,
                "version must be the goal's version, a whole number from 1",
                [Problem("version", f"{json.dumps(given)} is not a whole number from 1")],
            )
        from_body = given
    header = request.headers.get("if-match")
    from_header = None
    if header is not None:
        match = _ETAG.match(header.strip())
        if match is None:
            raise ApiError(
                400,
                'If-Match must be the goal\'s ETag, e.g. "3"',
                [Problem("If-Match", f"{header!r} is not a goal version")],
            )
        from_header = int(match.group(1))
    if from_body is not None and from_header is not None and from_body != from_header:
        raise ApiError(
            400,
            "If-Match and the body's version disagree",
            [Problem("version", f"{from_body} in the body, {from_header} in If-Match")],
        )
    if from_header is not None:
        return from_header, "If-Match"
    return from_body, ("version" if from_body is not None else None)


def query_date(request: Request, name: str) -> date | None:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(
            400, f"{name} must be a date (YYYY-MM-DD)", [Problem(name, f"{text!r} is not a date")]
        ) from None


__all__ = [
    "CSRF_HEADER",
    "MAX_BODY_BYTES",
    "Caller",
    "caller",
    "expected_version",
    "json_object",
    "query_date",
]
