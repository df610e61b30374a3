"""Fixtures for the connection service: a real control DB in tmp_path, real emulators."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from qb_pipeline.config import Settings, load_settings
from qb_pipeline.connections import ConnectionStatus, IntegrationService
from qb_pipeline.connections.db import ControlDB, control_db_of, open_db
from tests.connections.consent import callback_params, consent

ADMIN = "admin@example.com"
EDITOR = "editor@example.com"
VIEWER = "viewer@example.com"
PASSWORD = "correct horse battery staple"
REDIRECT_URI = "http://127.0.0.1:8799/callback"


@pytest.fixture
def secret_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "qbp-home"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of the control DB runs on both engines, SQLite and Postgres (a throwaway
    cluster, tests/postgres_server.py), except those marked `sqlite_only`: they look at
    SQLite's files themselves."""
    if "control_db_engine" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("control_db_engine", ["sqlite"] if only_sqlite else CONTROL_DB_ENGINES)


CONTROL_DB_ENGINES = ["sqlite", "postgres"]
# The control DB each test's QBP_HOME uses, for the helpers that read rows directly.
_control_dbs: dict[Path, ControlDB] = {}


def rows(home: Path, sql: str, params: tuple = ()) -> list[dict]:
    """The rows of `sql` in the control DB of `home`, whichever engine it is on."""
    with open_db(_control_dbs[Path(home)]) as conn:
        return [dict(zip(row.keys(), row, strict=True)) for row in conn.execute(sql, params)]


def tuples(home: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """`rows`, each as a plain tuple."""
    with open_db(_control_dbs[Path(home)]) as conn:
        return [tuple(row) for row in conn.execute(sql, params)]


def execute(home: Path, sql: str, params: tuple = ()) -> None:
    """Run one statement on the control DB of `home` (a test's way to age a row)."""
    with open_db(_control_dbs[Path(home)]) as conn:
        conn.execute(sql, params)


@pytest.fixture
def control_db_url(control_db_engine: str, request: pytest.FixtureRequest) -> str | None:
    """QBP_DATABASE_URL for the test: none (SQLite under QBP_HOME) or a fresh Postgres DB."""
    if control_db_engine == "postgres":
        return request.getfixturevalue("postgres_url")
    return None


@pytest.fixture
def make_settings(
    home: Path, secret_key: str, control_db_url: str | None
) -> Callable[..., Settings]:
    def factory(emulator_url: str = "http://127.0.0.1:9", **env: str) -> Settings:
        values = {
            "QBP_HOME": str(home),
            "QBP_SECRET_KEY": secret_key,
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": emulator_url,
            "QBP_DATABASE_URL": control_db_url,
        }
        values.update(env)
        settings = load_settings({k: v for k, v in values.items() if v is not None})
        _control_dbs[Path(home)] = control_db_of(settings)
        return settings

    return factory


def add_team(service: IntegrationService, org: str = "acme") -> None:
    """An organization with one admin, one editor and one viewer."""
    service.create_org(org, f"{org.title()} Inc")
    service.add_user(ADMIN, org, "admin", PASSWORD)
    service.add_user(EDITOR, org, "editor", PASSWORD)
    service.add_user(VIEWER, org, "viewer", PASSWORD)


@pytest.fixture
def service(emulator, make_settings) -> IntegrationService:
    """A service on the shared emulator with organization `acme` and its team."""
    built = IntegrationService(make_settings(emulator.url))
    add_team(built)
    return built


@dataclass
class Callback:
    state: str
    code: str | None
    realm_id: str | None
    error: str | None


def authorize(
    service: IntegrationService,
    org: str = "acme",
    realm_id: str | None = None,
    cancel: bool = False,
    actor: str = ADMIN,
) -> Callback:
    """Begin a connect and consent in the emulator's pages; the callback's parameters."""
    url = service.begin_connect(org, actor, REDIRECT_URI)
    params = callback_params(consent(url, realm_id=realm_id, cancel=cancel))
    assert params["state"]
    return Callback(params["state"], params["code"], params["realmId"], params["error"])


def complete(service: IntegrationService, callback: Callback) -> ConnectionStatus:
    return service.complete_connect(
        callback.state, callback.code, callback.realm_id, callback.error, REDIRECT_URI
    )


def connect_company(
    service: IntegrationService, org: str = "acme", realm_id: str | None = None
) -> ConnectionStatus:
    return complete(service, authorize(service, org, realm_id))


def companies(emulator_url: str) -> list[dict]:
    return httpx.get(f"{emulator_url}/_emulator/companies").raise_for_status().json()


def issued_tokens(emulator_url: str) -> list[dict]:
    return httpx.get(f"{emulator_url}/_emulator/tokens").raise_for_status().json()


def company_info(emulator_url: str, realm_id: str, access_token: str) -> httpx.Response:
    return httpx.get(
        f"{emulator_url}/v3/company/{realm_id}/companyinfo/{realm_id}",
        params={"minorversion": "75"},
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
