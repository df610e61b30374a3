"""An exclusive advisory lock on a file, shared by every process and thread on this machine."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

POLL_SECONDS = 0.2


class LockTimeout(TimeoutError):
    """The lock stayed held by someone else for the whole wait."""


@contextmanager
def exclusive_file_lock(
    path: Path,
    wait_seconds: float | None = None,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold an exclusive `flock` on `path` (created if missing).

    Without `wait_seconds`, block until it is free; with it, give up after that long with
    LockTimeout (`on_wait()` is told once that we are waiting). Each call opens its own file
    description, so threads of one process exclude each other as well as other processes do;
    the kernel releases the lock if the holder dies.
    """
    with open(path, "a+b") as handle:
        if wait_seconds is None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        else:
            _acquire_within(handle.fileno(), path, wait_seconds, on_wait)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _acquire_within(
    descriptor: int, path: Path, wait_seconds: float, on_wait: Callable[[], None] | None
) -> None:
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockTimeout(f"{path} stayed locked for {wait_seconds:g} s") from None
            if on_wait is not None and not told:
                on_wait()
                told = True
            # flock has no timed wait: poll, as the DuckDB file lock is polled (writer.py).
            time.sleep(min(POLL_SECONDS, remaining))
