"""The Dagster code location of qb-goals (`defs`, built in definitions.py).

`defs` is imported on first access, so modules that only need a helper from this package (the
CLI reading sync slots, for instance) do not load every asset and the dlt source.
"""

from __future__ import annotations

import os
from typing import Any

# Telemetry stays off wherever the code location loads (`dagster dev` included), set before
# any dlt pipeline or Dagster instance exists.
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from qb_pipeline.defs.definitions import defs

        return defs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "defs"])
