"""What every sensor of the code location shares: its evaluation interval, its clock, its cursor.

- `QBP_SENSOR_INTERVAL_SECONDS` (default 30) sets how often the event-driven sensors (connection
  changes, failed syncs, goal changes) are evaluated when the code location loads: production
  keeps the default, tests and demos use a few seconds so the daemon reacts quickly.
- Sensors and schedules take a `Clock` (tests pass a fixed one) rather than reading the time.
- A cursor is one JSON object. Dagster keeps whatever a sensor last returned, including the
  cursor of an older version of the code, so a cursor that does not read as an object is told
  apart from a new one (no cursor yet) and each sensor decides what to do with it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

SENSOR_INTERVAL_ENV = "QBP_SENSOR_INTERVAL_SECONDS"
DEFAULT_SENSOR_INTERVAL_SECONDS = 30

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The default clock: now, in UTC."""
    return datetime.now(UTC)


def sensor_interval_seconds(env: Mapping[str, str] | None = None) -> int:
    """The interval from the environment; a value that is not a positive whole number is an
    error naming the variable."""
    env = os.environ if env is None else env
    text = env.get(SENSOR_INTERVAL_ENV, "").strip()
    if not text:
        return DEFAULT_SENSOR_INTERVAL_SECONDS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(
            f"{SENSOR_INTERVAL_ENV} must be a whole number of seconds, at least 1; got {text!r}"
        )
    return int(text)


def read_cursor_json(cursor: str | None) -> dict[str, Any] | None:
    """The cursor's object: {} when there is no cursor yet, None when it is not a JSON object."""
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def write_cursor_json(value: Mapping[str, Any]) -> str:
    """The cursor for `value`, with sorted keys so an unchanged state gives an unchanged cursor."""
    return json.dumps(value, sort_keys=True)
