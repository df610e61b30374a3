"""A corrupting proxy: a real HTTP server on loopback between the pipeline and an emulator.

It forwards every request to the emulator as it came and answers with the emulator's
answer, unchanged, except where a rewrite is configured for an endpoint: then the answer's
JSON goes through the rewrite (drop a member, change a type, cut a list short, ...). Point
QBO_EMULATOR_URL (or a client's base URL) at `proxy.url` and every Intuit endpoint, the
token endpoint included, goes through it.

    with CorruptingProxy(emulator.url) as proxy:
        proxy.corrupt("cdc", drop("CDCResponse"))
        ...
        assert proxy.rewritten["cdc"] == 1
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# A rewrite takes the answer's decoded JSON and returns the JSON to send instead (or bytes,
# sent as they are).
Rewrite = Callable[[Any], Any]

# Endpoint names (the pipeline's) -> does a request path belong to it?
ENDPOINTS: dict[str, Callable[[str], bool]] = {
    "query": lambda path: path.startswith("/v3/company/") and path.endswith("/query"),
    "batch": lambda path: path.startswith("/v3/company/") and path.endswith("/batch"),
    "cdc": lambda path: path.startswith("/v3/company/") and path.endswith("/cdc"),
    "reports": lambda path: path.startswith("/v3/company/") and "/reports/" in path,
    "companyinfo": lambda path: path.startswith("/v3/company/") and "/companyinfo/" in path,
    "preferences": lambda path: path.startswith("/v3/company/") and path.endswith("/preferences"),
    "token": lambda path: path == "/oauth2/v1/tokens/bearer",
}
# Hop-by-hop and length headers: the proxy's own server sets them for the body it sends.
_NOT_FORWARDED = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class _Rule:
    endpoint: str
    rewrite: Rewrite
    left: int | None  # answers still to rewrite (None: every one)
    statuses: tuple[int, ...]
    when: Callable[[str], bool] | None  # on the request's query string and body


class CorruptingProxy:
    """Forwards to `upstream`; rewrites the answers of the endpoints given to `corrupt`."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rewritten: Counter[str] = Counter()
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._client: httpx.AsyncClient | None = None
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        app = Starlette(routes=[Route("/{path:path}", self._forward, methods=_METHODS)])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
            lifespan="off",
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"proxy:{port}", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> CorruptingProxy:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        if not self._server.started:
            raise RuntimeError(f"the corrupting proxy did not start at {self.url}")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> CorruptingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- configuration ---------------------------------------------------------------------
    def corrupt(
        self,
        endpoint: str,
        rewrite: Rewrite,
        *,
        count: int | None = None,
        statuses: tuple[int, ...] = (200,),
        when: Callable[[str], bool] | None = None,
    ) -> None:
        """Rewrite the next `count` answers (every one when None) of `endpoint` whose status
        is in `statuses` and whose request (its decoded query string, a newline, its body)
        `when` accepts."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; known: {sorted(ENDPOINTS)}")
        with self._lock:
            self._rules.append(_Rule(endpoint, rewrite, count, statuses, when))

    def clear(self) -> None:
        """Forward everything unchanged from now on."""
        with self._lock:
            self._rules.clear()

    # -- the server ------------------------------------------------------------------------
    async def _forward(self, request: Request) -> Response:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=120.0, follow_redirects=False)
        body = await request.body()
        target = self.upstream + request.url.path
        if request.url.query:
            target += "?" + request.url.query
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        answer = await self._client.request(request.method, target, headers=headers, content=body)
        content = answer.content
        rule = self._rule_for(request.url.path, answer.status_code, request.url.query, body)
        if rule is not None:
            content = _rewritten(content, rule.rewrite)
            self.rewritten[rule.endpoint] += 1
        out_headers = {
            k: v
            for k, v in answer.headers.items()
            if k.lower() not in _NOT_FORWARDED and k.lower() != "content-encoding"
        }
        return Response(content, status_code=answer.status_code, headers=out_headers)

    def _rule_for(self, path: str, status: int, query: str, body: bytes) -> _Rule | None:
        request_text = unquote_plus(query) + "\n" + body.decode("utf-8", "replace")
        with self._lock:
            for rule in self._rules:
                if rule.left == 0 or status not in rule.statuses:
                    continue
                if not ENDPOINTS[rule.endpoint](path):
                    continue
                if rule.when is not None and not rule.when(request_text):
                    continue
                if rule.left is not None:
                    rule.left -= 1
                return rule
        return None


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _rewritten(content: bytes, rewrite: Rewrite) -> bytes:
    changed = rewrite(json.loads(content))
    return changed if isinstance(changed, bytes) else json.dumps(changed).encode()


# -- rewrites ---------------------------------------------------------------------------------
Path = tuple[str | int, ...]


def _parent(document: Any, path: Path) -> tuple[Any, str | int]:
    *above, last = path
    node = document
    for part in above:
        node = node[part]
    return node, last


def drop(*path: str | int) -> Rewrite:
    """Remove the member (or list item) at `path`."""

    def rewrite(document: Any) -> Any:
        node, last = _parent(document, path)
        del node[last]
        return document

    return rewrite


def replace(path: Path, value: Any) -> Rewrite:
    """Put `value` at `path` (the whole answer when `path` is empty)."""

    def rewrite(document: Any) -> Any:
        if not path:
            return value
        node, last = _parent(document, path)
        node[last] = value
        return document

    return rewrite


def change(path: Path, how: Callable[[Any], Any]) -> Rewrite:
    """Replace the value at `path` by `how(value)`."""

    def rewrite(document: Any) -> Any:
        node, last = _parent(document, path)
        node[last] = how(node[last])
        return document

    return rewrite


def rename(path: Path, old: str, new: str) -> Rewrite:
    """Rename the member `old` of the object at `path` to `new`."""

    def rewrite(document: Any) -> Any:
        node = document
        for part in path:
            node = node[part]
        node[new] = node.pop(old)
        return document

    return rewrite


def everywhere(how: Callable[[dict], None]) -> Rewrite:
    """Call `how` on every object of the answer (to change it in place)."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            how(node)
            for value in list(node.values()):
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    def rewrite(document: Any) -> Any:
        walk(document)
        return document

    return rewrite
