"""Fixtures for the Dagster code location: QBP_HOME in tmp_path, a real control DB, real
emulators, a real Dagster instance under QBP_HOME."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from cryptography.fernet import Fernet
from dagster import DagsterInstance

from qb_pipeline.config import Settings, load_settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.instance import open_instance
from tests.connections.conftest import ADMIN, add_team, connect_company

ORG = "acme"


def point_env_at(monkeypatch: pytest.MonkeyPatch, settings_env: dict[str, str]) -> Settings:
    """Make the process environment (which Dagster's resources read) name this QBP_HOME."""
    for name in ("QBO_CLIENT_ID", "QBO_CLIENT_SECRET", "QBO_REDIRECT_URI"):
        monkeypatch.delenv(name, raising=False)
    for name, value in settings_env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.fixture
def make_env(tmp_path, monkeypatch):
    """`make_env(emulator_url)`: Settings for a fresh QBP_HOME, exported to the environment."""
    key = Fernet.generate_key().decode()

    def factory(emulator_url: str) -> Settings:
        return point_env_at(
            monkeypatch,
            {
                "QBP_HOME": str(tmp_path / "qbp-home"),
                "QBP_SECRET_KEY": key,
                "QBO_ENVIRONMENT": "emulator",
                "QBO_EMULATOR_URL": emulator_url,
            },
        )

    return factory


@pytest.fixture
def settings(emulator, make_env) -> Settings:
    """QBP_HOME on the shared (read-only) emulator."""
    return make_env(emulator.url)


@pytest.fixture
def service(settings) -> IntegrationService:
    """Organization `acme` with its admin, editor and viewer; not connected yet."""
    built = IntegrationService(settings)
    add_team(built, ORG)
    return built


@pytest.fixture
def connected(service) -> IntegrationService:
    """`acme` connected to the emulator's demo company."""
    connect_company(service, ORG)
    return service


@pytest.fixture
def instance(settings) -> Iterator[DagsterInstance]:
    """The persistent Dagster instance under QBP_HOME (the one `qb-pipeline sync` uses)."""
    with open_instance(settings) as opened:
        yield opened


def emulator_requests(emulator_url: str, realm_id: str) -> list[dict]:
    """The emulator's log of /v3 requests for one company."""
    response = httpx.get(f"{emulator_url}/_emulator/requests", params={"realmId": realm_id})
    return response.raise_for_status().json()


__all__ = ["ADMIN", "ORG", "emulator_requests"]
