"""Shared fixtures: real emulators on loopback, telemetry off."""

from __future__ import annotations

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

# A fixed "today" keeps generated companies, reports and expectations stable.
TEST_TODAY = date(2026, 11, 15)
TEST_SEED = 7


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
