"""A real web app on loopback (uvicorn in a thread) over a real control DB and emulator."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from html import unescape
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet

from qb_pipeline.config import Settings, load_settings
from qb_pipeline.connections.service import IntegrationService
from qb_pipeline.sandbox import RunningEmulator, free_port
from qb_pipeline.web.app import create_app

ORG = "acme"
ORG_NAME = "Acme Outdoor Co."
PASSWORDS = {
    "admin@acme.test": "admin-password-1",
    "editor@acme.test": "editor-password-1",
    "viewer@acme.test": "viewer-password-1",
}
ROLES = {"admin@acme.test": "admin", "editor@acme.test": "editor", "viewer@acme.test": "viewer"}
DEMO_INTUIT_USER = ("demo@example.com", "sandbox")

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TXN = re.compile(r'name="txn" value="([^"]+)"')
_REALMS = re.compile(r'name="realm_id" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF field"
    return unescape(match.group(1))


def text_of(html: str) -> str:
    """The visible words of a page, whitespace collapsed (for assertions on messages)."""
    without_tags = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", unescape(without_tags)).strip()


@dataclass
class WebApp:
    url: str
    settings: Settings
    service: IntegrationService
    emulator: RunningEmulator
    server: uvicorn.Server
    thread: threading.Thread
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self) -> httpx.Client:
        """A browser-like client: its own cookie jar, redirects not followed automatically."""
        client = httpx.Client(base_url=self.url, timeout=30.0)
        self.clients.append(client)
        return client

    def signed_in(self, email: str) -> httpx.Client:
        client = self.client()
        sign_in(client, email, PASSWORDS[email])
        return client

    def companies(self) -> list[dict]:
        return httpx.get(f"{self.emulator.url}/_emulator/companies").json()

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


def sign_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303, text_of(response.text)
    return response


def start_web(
    settings: Settings,
    port: int,
    clock: Callable[[], datetime] | None = None,
    **uvicorn_options: object,
) -> tuple[uvicorn.Server, threading.Thread, IntegrationService]:
    """The app in uvicorn on loopback; `clock` is the service's, `uvicorn_options` go to
    uvicorn.Config (for example forwarded_allow_ips)."""
    app = create_app(settings, IntegrationService(settings, clock=clock))
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        **uvicorn_options,  # type: ignore[arg-type]
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"web:{port}", daemon=True)
    thread.start()
    ready = threading.Event()
    while not server.started and thread.is_alive():
        ready.wait(0.01)
    if not server.started:
        raise RuntimeError(f"web app failed to start on port {port}")
    return server, thread, app.state.service


def web_settings(home: Path, emulator_url: str, port: int, dagster_url: str = "off") -> Settings:
    """Settings of a test's web app. Run submission is off unless a test starts a Dagster
    webserver of its own: never a run on whatever may listen on the default port."""
    return load_settings(
        {
            "QBP_HOME": str(home),
            "QBP_SECRET_KEY": Fernet.generate_key().decode(),
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": emulator_url,
            "QBO_REDIRECT_URI": f"http://127.0.0.1:{port}/integrations/quickbooks/callback",
            "QBP_DAGSTER_URL": dagster_url,
        }
    )


def seed_org(service: IntegrationService) -> None:
    service.create_org(ORG, ORG_NAME)
    for email, role in ROLES.items():
        service.add_user(email, ORG, role, PASSWORDS[email])


@pytest.fixture
def start_web_app(tmp_path: Path) -> Iterator[Callable[..., WebApp]]:
    started: list[WebApp] = []

    def factory(
        emulator: RunningEmulator,
        clock: Callable[[], datetime] | None = None,
        dagster_url: str = "off",
        **uvicorn_options: object,
    ) -> WebApp:
        port = free_port()
        settings = web_settings(tmp_path / f"home-{port}", emulator.url, port, dagster_url)
        server, thread, service = start_web(settings, port, clock, **uvicorn_options)
        seed_org(service)
        app = WebApp(f"http://127.0.0.1:{port}", settings, service, emulator, server, thread)
        started.append(app)
        return app

    yield factory
    for app in started:
        app.stop()


@pytest.fixture
def web(start_web_app: Callable[[RunningEmulator], WebApp], emulator: RunningEmulator) -> WebApp:
    """The web app on the shared emulator: for tests that never complete a connection."""
    return start_web_app(emulator)


@pytest.fixture
def connectable_web(
    start_web_app: Callable[[RunningEmulator], WebApp],
    make_emulator: Callable[..., RunningEmulator],
) -> WebApp:
    """The web app on a private emulator: for tests that connect, revoke or disconnect."""
    return start_web_app(make_emulator(limits_enabled=False))


# -- driving the emulator's Intuit pages over HTTP -------------------------------------


def authorize_at_intuit(
    authorize_url: str, realm_id: str | None = None, action: str = "authorize"
) -> str:
    """Sign in as the demo Intuit user, pick a company, Authorize (or Cancel): the callback URL."""
    with httpx.Client(timeout=30.0) as intuit:
        page = intuit.get(authorize_url)
        assert page.status_code == 200, text_of(page.text)
        origin = authorize_url.split("/connect/")[0]
        txn = _TXN.search(page.text).group(1)  # type: ignore[union-attr]
        email, password = DEMO_INTUIT_USER
        choose = intuit.post(
            f"{origin}/connect/oauth2/signin",
            data={"txn": txn, "email": email, "password": password},
        )
        assert choose.status_code == 200, text_of(choose.text)
        realms = _REALMS.findall(choose.text)
        decision = {"txn": txn, "action": action, "realm_id": realm_id or realms[0]}
        answer = intuit.post(f"{origin}/connect/oauth2/authorize", data=decision)
        assert answer.status_code == 302, text_of(answer.text)
        return answer.headers["location"]


def start_connect(client: httpx.Client, org: str = ORG) -> httpx.Response:
    page = client.get(f"/orgs/{org}/integrations")
    return client.post(
        f"/orgs/{org}/integrations/quickbooks/connect", data={"csrf_token": csrf_of(page.text)}
    )


def connect(client: httpx.Client, realm_id: str | None = None, org: str = ORG) -> httpx.Response:
    """The whole flow for a signed-in admin; returns the page shown after the callback."""
    started = start_connect(client, org)
    assert started.status_code == 303, text_of(started.text)
    callback = authorize_at_intuit(started.headers["location"], realm_id)
    finished = client.get(callback)
    assert finished.status_code == 303, text_of(finished.text)
    return client.get(finished.headers["location"])
