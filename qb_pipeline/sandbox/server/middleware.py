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
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qb_pipeline.sandbox.oauth.backend import (
    TOKEN_ECHO_CHARS,
    AuthenticationError,
    AuthorizationError,
)
from qb_pipeline.sandbox.server import wire
from qb_pipeline.sandbox.server.faults import FaultSpec
from qb_pipeline.sandbox.server.state import EmulatorState, RequestLogEntry

GRANT_SCOPE_KEY = "qbo.grant"


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
        self.realm_id = wire.realm_from_path(self.path)
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
