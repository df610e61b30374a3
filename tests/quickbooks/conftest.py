"""Fixtures for the QuickBooks client: real emulators on loopback, tokens from the emulator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from qb_pipeline.config import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from qb_pipeline.quickbooks import QuickBooksClient, RetryPolicy


@dataclass
class RecordedSleeps:
    """A `sleep` for RetryPolicy that notes each wait and does not wait (the waits are what
    the tests check; the emulator answers at once anyway)."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def fast_policy(sleeps: RecordedSleeps | None = None, **overrides: object) -> RetryPolicy:
    options: dict = {
        "base_delay": 0.01,
        "max_delay": 0.05,
        "throttle_base_delay": 0.01,
        "throttle_max_delay": 0.05,
        "sleep": sleeps if sleeps is not None else RecordedSleeps(),
    }
    options.update(overrides)
    return RetryPolicy(**options)


class EmulatorTokens:
    """A token provider backed by the emulator's OAuth server: the first token comes from
    the control API, a rejected one is replaced through the real refresh grant."""

    def __init__(self, url: str, realm_id: str) -> None:
        self.url = url
        self.realm_id = realm_id
        issued = httpx.post(
            f"{url}/_emulator/tokens", json={"client_id": DEMO_CLIENT_ID, "realmId": realm_id}
        ).raise_for_status()
        self.access_token: str = issued.json()["access_token"]
        self.refresh_token: str = issued.json()["refresh_token"]
        self.calls: list[str | None] = []

    def __call__(self, rejected: str | None) -> str:
        self.calls.append(rejected)
        if rejected is not None and rejected == self.access_token:
            answer = httpx.post(
                f"{self.url}/oauth2/v1/tokens/bearer",
                data={"grant_type": "refresh_token", "refresh_token": self.refresh_token},
                auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
                headers={"Accept": "application/json"},
            ).raise_for_status()
            self.access_token = answer.json()["access_token"]
            self.refresh_token = answer.json()["refresh_token"]
        return self.access_token

    @property
    def refreshes(self) -> int:
        return sum(1 for rejected in self.calls if rejected is not None)

    def secrets(self) -> list[str]:
        return [self.access_token, self.refresh_token]


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that also keeps every request it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


def first_realm(url: str) -> str:
    return httpx.get(f"{url}/_emulator/companies").raise_for_status().json()[0]["realmId"]


def request_log(url: str, realm_id: str | None = None) -> list[dict]:
    params = {"realmId": realm_id} if realm_id else {}
    return httpx.get(f"{url}/_emulator/requests", params=params).raise_for_status().json()


def inject(url: str, **fault: object) -> None:
    httpx.post(f"{url}/_emulator/faults", json=fault).raise_for_status()


@dataclass
class Connected:
    """A client on an emulator's first company, with its token provider and sleeps."""

    url: str
    realm_id: str
    tokens: EmulatorTokens
    sleeps: RecordedSleeps
    client: QuickBooksClient
    transport: RecordingTransport


@pytest.fixture
def connect() -> Callable[..., Connected]:
    """`connect(emulator, **client_options)`: a client with fast retries; closed after."""
    clients: list[QuickBooksClient] = []

    def factory(running, **options: object) -> Connected:
        realm_id = first_realm(running.url)
        tokens = EmulatorTokens(running.url, realm_id)
        sleeps = RecordedSleeps()
        transport = RecordingTransport()
        options.setdefault("retry_policy", fast_policy(sleeps))
        client = QuickBooksClient(realm_id, running.url, tokens, transport=transport, **options)
        clients.append(client)
        return Connected(running.url, realm_id, tokens, sleeps, client, transport)

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def private_emulator(make_emulator):
    """An emulator of this test alone (faults and tokens change it), limits off."""
    return make_emulator(limits_enabled=False)
