"""How often the event-driven sensors (connection changes, failed syncs) are evaluated.

`QBP_SENSOR_INTERVAL_SECONDS` (default 30) sets it when the code location loads: production keeps
the default, tests and demos use a few seconds so the daemon reacts quickly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

SENSOR_INTERVAL_ENV = "QBP_SENSOR_INTERVAL_SECONDS"
DEFAULT_SENSOR_INTERVAL_SECONDS = 30


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
