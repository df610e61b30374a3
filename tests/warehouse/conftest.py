"""Warehouse tests read the shared two-tenant warehouse of the source tests, and the two
backends the contract tests compare."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The control DB fixtures of the connection tests (QBP_HOME in tmp_path, a secret key).
from tests.connections.conftest import home, make_settings, secret_key  # noqa: F401
from tests.sources.conftest import Company, Tenants, company_with_fiscal_month, shared_tenants
from tests.warehouse.synced_backends import ORGS, Backend, synced_backends


@pytest.fixture(scope="session")
def built(emulator, tmp_path_factory) -> Tenants:
    """Read-only: the same warehouse as the source tests' `synced` in this process."""
    return shared_tenants(emulator, tmp_path_factory)


@pytest.fixture
def control_db_url() -> None:
    """The warehouse's tests keep the control DB in SQLite under QBP_HOME (the connection
    tests run it on both engines)."""
    return None


@pytest.fixture(scope="session")
def companies(emulator) -> dict[str, Company]:
    """The contract's two companies (synced_backends.py)."""
    return {org: company_with_fiscal_month(emulator, month) for org, month in ORGS.items()}


@pytest.fixture(scope="session")
def backends(companies, postgres_server, tmp_path_factory) -> Iterator[dict[str, Backend]]:
    """Both backends with both companies synced (read-only: the contract tests and the goal
    tests of a test process share them)."""
    database = "backend_contract"
    url = postgres_server.create_database(database)
    yield synced_backends(companies, url, lambda name: tmp_path_factory.mktemp(f"home-{name}"))
    postgres_server.drop_database(database)
