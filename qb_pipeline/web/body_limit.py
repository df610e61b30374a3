"""A cap on every request's body, enforced before anything reads it.

`BodyLimit` is an ASGI middleware around the whole app (every path, so the JSON API under
/api/v1 gets it too): a declared Content-Length over the cap is answered 413 at once, before
a byte of the body is read (nor authentication, nor the CSRF check); a body sent without a
length (chunked) is counted as it streams and the request is aborted with 413 as soon as it
passes the cap. Forms are also limited in their number of fields and files (`limited_form`):
Starlette would otherwise accept 1000 fields of 1 MiB each.

The caps fit the app's forms with room to spare: the largest, the new-goal form, has 16
fields and is under 2 KiB; nothing uploads files. They are constants that other parts reuse.
"""

from __future__ import annotations

import json

from starlette.datastructures import FormData, Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 200
MAX_FORM_FILES = 0
TOO_LARGE = (
    f"Request body too large: this site accepts at most {MAX_BODY_BYTES // 1024} KiB per request."
)
# Starlette's words for its form limits (it answers them with 400); a test pins them.
_FORM_LIMIT_WORDS = ("Maximum number of", "exceeded maximum size")


class BodyTooLarge(Exception):
    """The body passed the cap while the app was reading it."""


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(scope, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:  # too late for a 413; the server closes the connection
                raise
            await _too_large(scope, send)


async def _too_large(scope: Scope, send: Send) -> None:
    """413 in the caller's language: the JSON API's error shape under /api/, text else."""
    if str(scope.get("path", "")).startswith("/api/"):
        problem = {"field": "body", "reason": "too large"}
        body = json.dumps({"error": {"message": TOO_LARGE, "problems": [problem]}}).encode()
        content_type = b"application/json"
    else:
        body = (TOO_LARGE + "\n").encode("utf-8")
        content_type = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode("ascii")),
                # The rest of the body is never read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def limited_form(request: Request) -> FormData:
    """The request's form, parsed with the field and file limits; a form over them is 413."""
    try:
        return await request.form(
            max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_BODY_BYTES
        )
    except HTTPException as error:
        if error.status_code == 400 and any(w in str(error.detail) for w in _FORM_LIMIT_WORDS):
            raise HTTPException(413, detail=f"{error.detail} Nothing was changed.") from None
        raise
