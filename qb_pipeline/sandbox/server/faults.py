"""The layer every /v3 request passes through, around the data API's routes.

In order: assign an `intuit_tid`; authenticate the bearer token for the realm in the path
(401/403 as Intuit's gateway answers them); admit the request under the rate limits (429
ThrottleExceeded otherwise); serve a fault queued through the control API if one matches
(or delay the request, for "slow"); otherwise let the route answer. Every response gets
`intuit_tid`, `QBO-Version` and `Service-Time` headers and one request-log entry, whatever
produced it. The routes and the backend never see faults or limits.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qb_pipeline.sandbox.oauth.backend import (
    TOKEN_ECHO_CHARS,
    AuthenticationError,
    AuthorizationError,
)
from qb_pipeline.sandbox.server import wire
from qb_pipeline.sandbox.server.state import EmulatorState, RequestLogEntry

# Statuses the fault queue can inject, and "slow" (a delay, then the normal answer).
INJECTABLE_STATUSES: tuple[int, ...] = (401, 403, 429, 500, 502, 503, 504)
FORMATS: tuple[str, ...] = ("json", "xml")
GRANT_SCOPE_KEY = "qbo.grant"


# --- the fault queue ---------------------------------------------------------------------
@dataclass
class FaultSpec:
    """Make the next `count` matching requests fail with `status` (or be slow)."""

    id: int
    status: int | str  # an HTTP status from INJECTABLE_STATUSES, or "slow"
    count: int = 1
    realm_id: str | None = None  # None: any realm
    format: str = "json"  # body of 401/403/429/500 faults: "json" or "xml"
    path_prefix: str | None = None  # relative to /v3/company/{realmId}/, or absolute "/v3/..."
    delay_ms: int = 0  # waited before answering (the fault, or the normal answer if slow)
    retry_after: int | None = None  # seconds, sent as Retry-After on 429

    def matches(self, realm_id: str, path: str) -> bool:
        if self.realm_id is not None and self.realm_id != realm_id:
            return False
        if not self.path_prefix:
            return True
        if self.path_prefix.startswith("/"):
            return path.startswith(self.path_prefix)
        relative = path.removeprefix(f"/v3/company/{realm_id}/")
        return relative.startswith(self.path_prefix)

    def as_json(self) -> dict:
        body = asdict(self)
        body["realmId"] = body.pop("realm_id")
        return body


def parse_fault_spec(payload: dict) -> dict[str, Any]:
    """Validate a control-API fault request; ValueError names the offending field."""
    status = payload.get("status")
    if status != "slow" and status not in INJECTABLE_STATUSES:
        allowed = ", ".join(str(s) for s in INJECTABLE_STATUSES)
        raise ValueError(f'status: must be one of {allowed} or "slow", got {status!r}')
    count = _int_field(payload, "count", 1, minimum=1)
    delay_ms = _int_field(payload, "delay_ms", 0, minimum=0)
    if status == "slow" and delay_ms == 0:
        raise ValueError('delay_ms: a "slow" fault needs delay_ms > 0')
    fmt = payload.get("format", "json")
    if fmt not in FORMATS:
        raise ValueError(f'format: must be "json" or "xml", got {fmt!r}')
    realm_id = payload.get("realmId")
    if realm_id is not None and (not isinstance(realm_id, str) or not realm_id):
        raise ValueError("realmId: must be a non-empty string when given")
    prefix = payload.get("path_prefix")
    if prefix is not None and not isinstance(prefix, str):
        raise ValueError("path_prefix: must be a string")
    retry_after = payload.get("retry_after")
    if retry_after is not None:
        retry_after = _int_field(payload, "retry_after", 0, minimum=0)
    unknown = set(payload) - {
        "status", "count", "delay_ms", "format", "realmId", "path_prefix", "retry_after",
    }  # fmt: skip
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: unknown field")
    return {
        "status": status,
        "count": count,
        "realm_id": realm_id,
        "format": fmt,
        "path_prefix": prefix or None,
        "delay_ms": delay_ms,
        "retry_after": retry_after,
    }


def _int_field(payload: dict, name: str, default: int, minimum: int) -> int:
    value = payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return value


class FaultQueue:
    """Queued faults, consumed first-in first-out by the requests they match."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._specs: list[FaultSpec] = []
        self._next_id = 1

    def add(self, **fields: Any) -> FaultSpec:
        with self._lock:
            spec = FaultSpec(id=self._next_id, **fields)
            self._next_id += 1
            self._specs.append(spec)
            return spec

    def take(self, realm_id: str, path: str) -> FaultSpec | None:
        """The first queued fault matching this request, with one use consumed."""
        if not self._specs:  # the common case, without the lock
            return None
        with self._lock:
            for index, spec in enumerate(self._specs):
                if spec.matches(realm_id, path):
                    spec.count -= 1
                    if spec.count <= 0:
                        del self._specs[index]
                    return spec
        return None

    def pending(self) -> list[FaultSpec]:
        with self._lock:
            return list(self._specs)

    def clear(self) -> int:
        with self._lock:
            cleared = len(self._specs)
            self._specs.clear()
            return cleared


# --- the middleware ----------------------------------------------------------------------
def realm_from_path(path: str) -> str | None:
    """The realm id of a /v3/company/{realmId}/... path."""
    parts = path.split("/", 4)
    if len(parts) >= 4 and parts[1] == "v3" and parts[2] == "company" and parts[3]:
        return parts[3]
    return None


def bearer_token(headers: Headers) -> str:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class EmulatorMiddleware:
    """Pure ASGI middleware: cheap on the hot path, untouched for non-/v3 paths."""

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v3/"):
            await self.app(scope, receive, send)
            return
        await _Exchange(self.state, scope, send).run(self.app, receive)


class _Exchange:
    """One /v3 request/response."""

    def __init__(self, state: EmulatorState, scope: Scope, send: Send) -> None:
        self.state = state
        self.scope = scope
        self.downstream = send
        self.started = time.perf_counter()
        self.tid = wire.new_tid().encode()
        self.path: str = scope["path"]
        self.realm_id = realm_from_path(self.path)
        self.headers = Headers(scope=scope)
        self.as_json = wire.wants_json(self.headers.get("accept"))
        self.response_started = False

    async def run(self, app: ASGIApp, receive: Receive) -> None:
        if self.realm_id is None:  # not a company path: the routes answer 404
            await self._call(app, receive)
            return
        token = bearer_token(self.headers)
        try:
            grant = self.state.oauth.authenticate(token, self.realm_id)
        except AuthenticationError as error:
            await self._fault(wire.authentication_fault(error.detail), self.as_json)
            return
        except AuthorizationError as error:
            await self._fault(wire.authorization_fault(error.detail), self.as_json)
            return
        self.scope[GRANT_SCOPE_KEY] = grant
        batch = self.scope["method"] == "POST" and self.path.rstrip("/").endswith("/batch")
        admission = self.state.limiter.admit(grant.client_id, self.realm_id, batch=batch)
        if admission is None:
            await self._throttled(wire.throttle_fault(), "json" if self.as_json else "xml")
            return
        try:
            spec = self.state.faults.take(self.realm_id, self.path)
            if spec is not None:
                if spec.delay_ms:
                    await asyncio.sleep(spec.delay_ms / 1000)
                if spec.status != "slow":
                    await self._inject(spec, token)
                    return
            await self._call(app, receive)
        finally:
            admission.release()

    async def _call(self, app: ASGIApp, receive: Receive) -> None:
        try:
            await app(self.scope, receive, self._send)
        except Exception:
            # QuickBooks answers its own SystemFault rather than a bare 500 page.
            if self.response_started:
                raise
            await self._fault(wire.system_fault(), self.as_json)

    async def _inject(self, spec: FaultSpec, token: str) -> None:
        status = int(spec.status)
        as_json = spec.format == "json"
        if status == 401:
            # Worded as the token check words a genuinely expired token.
            detail = f"Token expired: {token[:TOKEN_ECHO_CHARS]}"
            await self._fault(wire.authentication_fault(detail), as_json)
        elif status == 403:
            await self._fault(wire.authorization_fault(), as_json)
        elif status == 429:
            await self._throttled(wire.throttle_fault(spec.retry_after), spec.format)
        elif status == 500:
            await self._fault(wire.system_fault(), as_json)
        else:
            await self._respond(status, wire.gateway_page(status), wire.HTML_CONTENT_TYPE)

    async def _throttled(self, fault: wire.Fault, fmt: str) -> None:
        if fmt == "xml":
            body = wire.throttle_xml(self._now()).encode()
            await self._respond(429, body, wire.XML_CONTENT_TYPE, fault.headers)
        else:
            await self._fault(fault, True)

    async def _fault(self, fault: wire.Fault, as_json: bool) -> None:
        body, content_type = fault.render(as_json, self._now())
        await self._respond(fault.status, body, content_type, fault.headers)

    async def _respond(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        raw = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
        raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        await self._send({"type": "http.response.body", "body": body})

    async def _send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.response_started = True
            elapsed = int((time.perf_counter() - self.started) * 1000)
            # There is no database to time: `db=` is a plausible share of the total.
            headers = list(message.get("headers", []))
            headers += [
                (b"intuit_tid", self.tid),
                (b"qbo-version", wire.QBO_VERSION.encode()),
                (b"service-time", f"total={elapsed}, db={elapsed // 2}".encode()),
            ]
            message = {**message, "headers": headers}
            self.state.log_request(
                RequestLogEntry(
                    method=self.scope["method"],
                    path=self.path,
                    realm_id=self.realm_id,
                    status=message["status"],
                )
            )
        await self.downstream(message)

    def _now(self) -> datetime:
        company = self.state.backend.companies.get(self.realm_id or "")
        if company is not None:
            return company.now_precise()
        return self.state.backend.clock.now().astimezone(ZoneInfo(wire.DEFAULT_TIMEZONE))
