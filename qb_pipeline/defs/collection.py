"""Garbage collection while the code location loads.

Loading the definitions creates about half a million objects that live as long as the
process (Dagster's and dlt's modules, the assets, one spec and check per goal file), and
CPython's cyclic collector walks every live object at each full collection: measured with
1,000 goal files, the collections took about 0.8 s of a 6 s load (bench/code_location_bench.py).
So collection is paused while the definitions are built, and what they created is then
moved out of the collector's reach with `gc.freeze()`, the practice the Python docs give
for long-lived objects of a server process. Later garbage is collected as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collection_paused_then_frozen() -> Iterator[None]:
    """Pause the cyclic collector for the block; afterwards (even when the block fails)
    freeze the objects alive at that point and restore the collector as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
