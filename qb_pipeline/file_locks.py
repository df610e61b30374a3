"""An exclusive advisory lock on a file, shared by every process and thread on this machine."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive_file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on `path` (created if missing), blocking until it is free.

    Each call opens its own file description, so threads of one process exclude each other
    as well as other processes do; the kernel releases the lock if the holder dies.
    """
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
