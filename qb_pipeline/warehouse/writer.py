"""Opening the DuckDB warehouse for writing when another process may hold it.

DuckDB lets one process write a database file, and while any other process has it open (even
read-only) no process can open it for writing. Within Dagster the `duckdb_writer` pool keeps
our own steps apart; this module handles everyone else (a BI tool or a notebook pointed at the
warehouse instead of the serving copy): wait a while for the file, then fail with a message
naming the process that holds it, before anything was written.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

_LOCK_MESSAGE = "Could not set lock on file"
_HOLDER = re.compile(r"\(PID (\d+)\)")
POLL_SECONDS = 0.5


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file, so it cannot be written now."""

    def __init__(self, path: Path, pid: int | None, serving_path: Path | None = None) -> None:
        holder = f"another process (pid {pid})" if pid is not None else "another process"
        advice = "close it"
        if serving_path is not None:
            advice += f", or point readers at the read-only serving copy {serving_path}"
        super().__init__(f"the warehouse at {path} is open in {holder}; {advice}")
        self.path = path
        self.pid = pid


def is_lock_conflict(error: BaseException) -> bool:
    return isinstance(error, duckdb.IOException) and _LOCK_MESSAGE in str(error)


def lock_holder_pid(error: BaseException) -> int | None:
    match = _HOLDER.search(str(error))
    return int(match.group(1)) if match else None


def current_holder(path: Path) -> int | None:
    """The pid of another process holding `path` open (None when it is free or unknown)."""
    try:
        with duckdb.connect(str(path)):
            return None
    except duckdb.IOException as error:
        if is_lock_conflict(error):
            return lock_holder_pid(error) or -1
        raise


@contextmanager
def open_writer(
    path: Path,
    wait_seconds: float,
    serving_path: Path | None = None,
    on_wait: Callable[[int | None], None] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to `path`, waiting up to `wait_seconds` for other processes to
    let go of it; WarehouseBusy after that. `on_wait(pid)` is told once that we are waiting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        try:
            connection = duckdb.connect(str(path))
            break
        except duckdb.IOException as error:
            if not is_lock_conflict(error):
                raise
            pid = lock_holder_pid(error)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarehouseBusy(path, pid, serving_path) from None
            if on_wait is not None and not told:
                on_wait(pid)
                told = True
            # A file lock held by another process gives no signal when it goes: poll.
            time.sleep(min(POLL_SECONDS, remaining))
    try:
        yield connection
    finally:
        connection.close()


def wait_until_writable(
    path: Path,
    wait_seconds: float,
    serving_path: Path | None = None,
    on_wait: Callable[[int | None], None] | None = None,
) -> None:
    """Return once `path` can be opened for writing (WarehouseBusy after `wait_seconds`)."""
    with open_writer(path, wait_seconds, serving_path, on_wait):
        pass
