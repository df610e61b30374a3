"""Shared fixtures: real emulators on loopback, telemetry off."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

import pytest

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

if TYPE_CHECKING:
    from qb_pipeline.sandbox import RunningEmulator
    from tests.postgres_server import PostgresServer

# A fixed "today" keeps generated companies, reports and expectations stable.
TEST_TODAY = date(2026, 11, 15)
TEST_SEED = 7

# Names of the per-test databases (one cluster per test process, so a counter is unique).
_postgres_databases = itertools.count(1)


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    """One shared small emulator, rate limits off. Tests must not change its data."""
    from qb_pipeline.sandbox import EmulatorSettings, start_in_thread

    running = start_in_thread(
        EmulatorSettings(seed=TEST_SEED, size="small", today=TEST_TODAY, limits_enabled=False)
    )
    yield running
    running.stop()


@contextmanager
def emulators(**defaults: object) -> Iterator[Callable[..., RunningEmulator]]:
    """A factory of private emulators (seed, size and today of the tests unless overridden),
    all stopped when the block ends; fixtures of any scope build on it."""
    from qb_pipeline.sandbox import EmulatorSettings, start_in_thread

    started: list[RunningEmulator] = []

    def factory(**overrides: object) -> RunningEmulator:
        options: dict = {"seed": TEST_SEED, "size": "small", "today": TEST_TODAY}
        options.update(defaults)
        options.update(overrides)
        running = start_in_thread(EmulatorSettings(**options))
        started.append(running)
        return running

    try:
        yield factory
    finally:
        for running in started:
            running.stop()


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., RunningEmulator]]:
    """Start a private emulator (for tests that change data, faults, limits or clocks)."""
    with emulators() as factory:
        yield factory


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster per test process (Debian's server, 127.0.0.1, a free
    port, password logins only), stopped and deleted when the session ends."""
    from tests.postgres_server import PostgresServer

    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database of its own for each test, as its superuser's URL
    (postgresql://postgres:PASSWORD@127.0.0.1:PORT/test_N); dropped after the test."""
    name = f"test_{next(_postgres_databases)}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)
