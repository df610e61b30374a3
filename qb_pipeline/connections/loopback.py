"""The CLI's OAuth callback receiver: a one-shot HTTP server on a loopback port.

It answers GET /callback once, hands the query to `on_callback` (which completes the connect
through the service) and shows the browser a short page with the outcome. It never logs
request lines: the callback URL carries the authorization code.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CALLBACK_PATH = "/callback"

# Returns the message for the browser page; raises to report a failure (its str is shown).
CallbackHandler = Callable[[dict[str, str | None]], str]


class CallbackServer:
    """Serve until one callback has been handled (or `wait` times out)."""

    def __init__(self, port: int, on_callback: CallbackHandler, host: str = "127.0.0.1") -> None:
        self.on_callback = on_callback
        self.done = threading.Event()
        self.result: str | None = None
        self.error: BaseException | None = None
        self._claim = threading.Lock()
        self._claimed = False
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.redirect_uri = f"http://{host}:{self.port}{CALLBACK_PATH}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def wait(self, timeout: float) -> bool:
        return self.done.wait(timeout)

    def _claim_once(self) -> bool:
        with self._claim:
            if self._claimed:
                return False
            self._claimed = True
            return True

    def _handle(self, params: dict[str, str | None]) -> tuple[int, str, str]:
        """(HTTP status, page title, message) for one callback."""
        if not self._claim_once():
            return 409, "Already finished", "This connect attempt is finished; close this window."
        try:
            self.result = self.on_callback(params)
            return 200, "QuickBooks connected", self.result
        except Exception as error:  # shown to the person, re-raised by the CLI
            self.error = error
            return 400, "QuickBooks not connected", str(error)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH:
                    self._page(404, "Not found", "This address only receives QuickBooks' answer.")
                    return
                query = parse_qs(parts.query)
                names = ("state", "code", "realmId", "error")
                params = {name: query.get(name, [None])[0] for name in names}
                status, title, message = server._handle(params)
                self._page(status, title, message)
                if status != 409:
                    server.done.set()

            def _page(self, status: int, title: str, message: str) -> None:
                body = (
                    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                    f"<title>{html.escape(title)}</title></head><body><main>"
                    f"<h1>{html.escape(title)}</h1><p role='status'>{html.escape(message)}</p>"
                    "<p>You can close this window and return to the terminal.</p>"
                    "</main></body></html>"
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                # Silent on purpose: the request line holds the authorization code.
                return

        return Handler
