"""Real receivers on loopback: a tiny SMTP server (asyncio, in a thread; STARTTLS and AUTH
PLAIN/LOGIN when asked) and an HTTP webhook receiver (http.server, in a thread) that can
answer 500 first."""

from __future__ import annotations

import asyncio
import base64
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SmtpReceiver:
    """Accepts every message (EHLO/HELO, MAIL, RCPT, DATA, QUIT) and keeps it.

    With `tls` (a server-side SSLContext) it offers STARTTLS; with `logins` (user ->
    password) it offers AUTH (`mechanisms`) only once the session is encrypted, as real
    submission servers do, refuses AUTH in clear text and MAIL before a login. Every
    session's commands are kept, split into those read before and after the upgrade."""

    def __init__(
        self,
        tls: ssl.SSLContext | None = None,
        logins: dict[str, str] | None = None,
        mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN"),
    ) -> None:
        self.messages: list[Message] = []
        self.sessions: list[SmtpSession] = []
        self.received = threading.Condition()
        self._tls, self._logins, self._mechanisms = tls, logins, mechanisms
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        self._loop.run_forever()

    def _ehlo(self, session: SmtpSession) -> bytes:
        lines = ["test"]
        if self._tls is not None and not session.tls:
            lines.append("STARTTLS")
        if self._logins is not None and session.tls:
            lines.append("AUTH " + " ".join(self._mechanisms))
        head = [f"250-{line}" for line in lines[:-1]]
        return ("\r\n".join([*head, f"250 {lines[-1]}"]) + "\r\n").encode("ascii")

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = SmtpSession()
        with self.received:
            self.sessions.append(session)
        writer.write(b"220 test ESMTP\r\n")
        while line := await reader.readline():
            text = line.decode("ascii", "replace").rstrip("\r\n")
            (session.after_tls if session.tls else session.before_tls).append(text)
            verb = text.strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                writer.write(self._ehlo(session))
            elif verb == "STARTTLS" and self._tls is not None and not session.tls:
                writer.write(b"220 2.0.0 ready to start TLS\r\n")
                await writer.drain()
                await writer.start_tls(self._tls)
                session.tls = True
                continue
            elif verb == "AUTH":
                writer.write(await self._auth(session, text, reader, writer))
            elif verb == "MAIL" and self._logins is not None and session.user is None:
                writer.write(b"530 5.7.0 Authentication required\r\n")
            elif verb == "DATA":
                writer.write(b"354 go on\r\n")
                await writer.drain()
                data = b""
                while (chunk := await reader.readline()) != b".\r\n":
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                with self.received:
                    self.messages.append(message_from_bytes(data))
                    self.received.notify_all()
                writer.write(b"250 queued\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()

    async def _auth(
        self,
        session: SmtpSession,
        command: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bytes:
        if self._logins is None or not session.tls:
            return b"530 5.7.0 Must issue a STARTTLS command first\r\n"
        words = command.split(" ")
        mechanism = words[1].upper() if len(words) > 1 else ""
        if mechanism not in self._mechanisms:
            return b"504 5.5.4 Unrecognized authentication type\r\n"

        async def answer(challenge: bytes) -> str:
            writer.write(b"334 " + base64.b64encode(challenge) + b"\r\n")
            await writer.drain()
            return (await reader.readline()).decode("ascii").strip()

        initial = words[2] if len(words) > 2 else await answer(b"")
        if mechanism == "PLAIN":
            _, user, password = base64.b64decode(initial).decode().split("\0")
        else:  # LOGIN: the user name, then the password, each asked for
            user = base64.b64decode(initial).decode()
            password = base64.b64decode(await answer(b"Password:")).decode()
        session.mechanism = mechanism
        if self._logins.get(user) != password:
            session.refused_user = user
            return b"535 5.7.8 Authentication credentials invalid\r\n"
        session.user = user
        return b"235 2.7.0 Authentication successful\r\n"

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@dataclass
class SmtpSession:
    """One client connection as the server saw it."""

    tls: bool = False
    user: str | None = None  # who logged in
    refused_user: str | None = None
    mechanism: str | None = None
    before_tls: list[str] = field(default_factory=list)  # the commands read in clear text
    after_tls: list[str] = field(default_factory=list)


@dataclass
class WebhookReceiver:
    """Answers `failures_first` requests with 500, then 200; keeps every request."""

    failures_first: int = 0
    requests: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                code = 500 if len(receiver.requests) < receiver.failures_first else 200
                receiver.requests.append((dict(self.headers), body, code))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/qbp"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
