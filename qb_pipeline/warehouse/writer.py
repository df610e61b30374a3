"""Writing an organization's DuckDB warehouse when another process may hold it.

DuckDB lets one process write a database file, and while any other process has it open (even
read-only) no process can open it for writing. Each organization has its own file
(config.Settings.warehouse_path), so organizations never wait for each other. Two runs of the
same organization are kept apart by the organization's writer lock (`org_writer_lock`),
which a run holds from its first step to its last, whoever launched it: the run queue, the
UI, or the shell. `open_writer` handles everyone else (a BI tool or a notebook pointed at the
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

from qb_pipeline.file_locks import LockTimeout, exclusive_file_lock

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


class OrganizationBusy(RuntimeError):
    """Another run of the organization holds its writer lock for longer than we wait."""

    def __init__(self, org_id: str, wait_seconds: float) -> None:
        super().__init__(
            f"another run of {org_id} is writing its warehouse and did not finish within "
            f"{wait_seconds:g} s; this run changed nothing"
        )
        self.org_id = org_id


WRITER_LOCK_FILE = "writer.lock"


@contextmanager
def org_writer_lock(
    org_dir: Path,
    org_id: str,
    wait_seconds: float,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold `org_id`'s writer lock (a file lock in its folder `org_dir`) for the block,
    waiting up to `wait_seconds` for another run of it; OrganizationBusy after that.
    The kernel releases the lock when its holder dies, so a killed run never keeps it."""
    org_dir.mkdir(parents=True, exist_ok=True)
    try:
        with exclusive_file_lock(org_dir / WRITER_LOCK_FILE, wait_seconds, on_wait):
            yield
    except LockTimeout:
        raise OrganizationBusy(org_id, wait_seconds) from None


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
