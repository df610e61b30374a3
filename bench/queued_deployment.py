"""The environment of a benchmark that runs `dagster dev` beside an emulator: a fresh
QBP_HOME in `folder`, a new secret key, the emulator's URL, and the sensors out of the way
(they must not start runs of their own: the submissions are what is measured)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet

from qb_pipeline.config import Settings, load_settings
from qb_pipeline.sandbox import free_port


def queued_deployment(
    folder: Path, emulator_url: str, extra: dict[str, str] | None = None
) -> tuple[dict[str, str], Settings, int]:
    """(the environment, with `extra` (e.g. the Postgres URLs), exported to this process too;
    the settings, whose run submissions go to `dagster dev` on the returned port)."""
    env = {
        "QBP_HOME": str(folder / "qbp-home"),
        "QBP_SECRET_KEY": Fernet.generate_key().decode(),
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": emulator_url,
        "QBP_SENSOR_INTERVAL_SECONDS": "3600",
        # A busy 2-core machine can take longer than Dagster's 60 s to load the code location.
        "DAGSTER_GRPC_TIMEOUT_SECONDS": "300",
        **(extra or {}),
    }
    os.environ.update(env)
    port = free_port()
    return env, load_settings({**env, "QBP_DAGSTER_URL": f"http://127.0.0.1:{port}"}), port
