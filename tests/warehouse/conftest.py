"""Warehouse tests read the shared two-tenant warehouse of the source tests."""

from __future__ import annotations

import pytest

# The control DB fixtures of the connection tests (QBP_HOME in tmp_path, a secret key).
from tests.connections.conftest import home, make_settings, secret_key  # noqa: F401
from tests.sources.conftest import Tenants, shared_tenants


@pytest.fixture(scope="session")
def built(emulator, tmp_path_factory) -> Tenants:
    """Read-only: the same warehouse as the source tests' `synced` in this process."""
    return shared_tenants(emulator, tmp_path_factory)


@pytest.fixture
def control_db_url() -> None:
    """The warehouse's tests keep the control DB in SQLite under QBP_HOME (the connection
    tests run it on both engines)."""
    return None
