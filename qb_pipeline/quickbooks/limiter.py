"""A per-realm request budget shared by every process that calls QuickBooks for a company.

Intuit allows 500 requests per rolling minute, 10 per second and 10 in flight per realm and
app (reference section 7). Parallel Dagster runs, the web app and the CLI all spend the same
budget, so the budget cannot live in one process: `RequestLimiter` is the one small
interface, `LocalRequestLimiter` its implementation for one machine, with its state under
`QBP_HOME/limits/<realm>/`; `PostgresRequestLimiter` (limiter_postgres.py) keeps the same
budget in the control DB on Postgres for processes on many machines.

- Concurrency: `concurrency` slot files per realm, each held with `flock(LOCK_EX)` while a
  request is in flight. The kernel drops the lock when a process dies, so a crash never
  leaks a slot.
- Rate: the start times of recent requests in a small SQLite file. A request may start when
  every window (e.g. 500 per 60 s, 10 per 1 s) has room; otherwise the caller sleeps exactly
  until the oldest start that blocks it leaves its window, so a sync is paced by the limit
  and not by polling.

A slot is taken before the rate permit, and the permit's time is recorded just before the
request is sent: the time QuickBooks sees is never earlier than the one we recorded. It can
be later (network, server queueing), so each window is lengthened by `skew` seconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from qb_pipeline.file_locks import exclusive_file_lock


class _Closable(Protocol):
    def close(self) -> None: ...


Conn = TypeVar("Conn", bound=_Closable)

log = logging.getLogger(__name__)

# Waiting for a concurrency slot: a slot frees when some request completes, which no file
# lock can announce across processes without a server, so the wait re-checks with a short
# growing pause. It only happens while `concurrency` requests are already in flight.
_SLOT_WAIT_FIRST = 0.002
_SLOT_WAIT_MAX = 0.05
_REALM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class RateWindow:
    """At most `limit` request starts in any `seconds`-long window."""

    limit: int
    seconds: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.seconds <= 0:
            raise ValueError(f"a rate window needs limit >= 1 and seconds > 0, got {self}")


# Intuit's limits per realm and app: 500 per minute and 10 per second; 10 in flight.
INTUIT_WINDOWS: tuple[RateWindow, ...] = (RateWindow(500, 60.0), RateWindow(10, 1.0))
INTUIT_CONCURRENCY = 10
DEFAULT_SKEW = 0.1


class RequestLimiter(ABC):
    """Decides when a request to a realm may start. `acquire` blocks until it may, and the
    request must be sent inside the `with` block (the slot is held until it ends)."""

    @abstractmethod
    def acquire(self, realm_id: str) -> contextlib.AbstractContextManager[None]:
        """Wait for a concurrency slot and a rate permit for `realm_id`."""


class UnlimitedLimiter(RequestLimiter):
    """No limits: for the emulator with limits off and for benchmarks of our own speed."""

    @contextlib.contextmanager
    def acquire(self, realm_id: str) -> Iterator[None]:
        yield


class LocalRequestLimiter(RequestLimiter):
    """The budget of every realm, shared by all processes using the same `root` folder.

    One instance is meant to serve a whole process (see `shared_limiter`); it is
    thread-safe. `windows`, `concurrency` and `skew` must be the same in every process
    sharing `root`.
    """

    def __init__(
        self,
        root: Path,
        *,
        windows: tuple[RateWindow, ...] = INTUIT_WINDOWS,
        concurrency: int = INTUIT_CONCURRENCY,
        skew: float = DEFAULT_SKEW,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not windows:
            raise ValueError("at least one rate window is needed")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        if skew < 0:
            raise ValueError(f"skew must be >= 0, got {skew}")
        self.root = Path(root)
        self.windows = tuple(windows)
        self.concurrency = concurrency
        self.skew = skew
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._realms: dict[str, _RealmState] = {}
        self._pid = os.getpid()

    def __repr__(self) -> str:
        windows = ", ".join(f"{w.limit}/{w.seconds:g}s" for w in self.windows)
        return (
            f"LocalRequestLimiter(root={str(self.root)!r}, windows=[{windows}], "
            f"concurrency={self.concurrency}, skew={self.skew:g})"
        )

    @contextlib.contextmanager
    def acquire(self, realm_id: str) -> Iterator[None]:
        state = self._state(realm_id)
        state.local_slots.acquire()  # threads of this process queue here, without polling
        try:
            slot = state.take_slot(self._sleep)
            try:
                self._wait_for_permit(state)
                yield
            finally:
                state.give_back(slot)
        finally:
            state.local_slots.release()

    def _wait_for_permit(self, state: _RealmState) -> None:
        while True:
            wait = state.budget.try_start(self._clock, self.windows, self.skew)
            if wait is None:
                return
            self._sleep(wait)

    def _state(self, realm_id: str) -> _RealmState:
        if not _REALM.match(realm_id):
            raise ValueError(f"realm id {realm_id!r} is not a QuickBooks realm id")
        with self._lock:
            if os.getpid() != self._pid:
                # A forked child must not share its parent's lock descriptors: unlocking
                # one would free the parent's slot too.
                self._realms = {}
                self._pid = os.getpid()
            state = self._realms.get(realm_id)
            if state is None:
                state = self._realms[realm_id] = self._new_state(realm_id)
            return state

    def _new_state(self, realm_id: str) -> _RealmState:
        """This process's handles on the shared state of `realm_id` (a checked realm id)."""
        return _RealmState(self.root / realm_id, self.concurrency)

    def close(self) -> None:
        with self._lock:
            for state in self._realms.values():
                state.close()
            self._realms = {}


def wait_for_slot(try_slots: Callable[[], int | None], sleep: Callable[[float], None]) -> int:
    """The slot `try_slots` finds, trying again after a short, growing pause while none is
    free (see _SLOT_WAIT_FIRST)."""
    pause = _SLOT_WAIT_FIRST
    while True:
        slot = try_slots()
        if slot is not None:
            return slot
        sleep(pause)
        pause = min(pause * 2, _SLOT_WAIT_MAX)


class _RealmState:
    """One process's handles on one realm's shared state."""

    def __init__(self, folder: Path, concurrency: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.local_slots = threading.BoundedSemaphore(concurrency)
        self._held: set[int] = set()
        self._held_lock = threading.Lock()
        # One descriptor per slot for the whole process: flock locks belong to the open
        # file, so which thread holds which slot is tracked in `_held`.
        self._fds = [
            os.open(folder / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            for index in range(concurrency)
        ]
        self.budget = _SqliteWindow(folder / "starts.sqlite3")

    def take_slot(self, sleep: Callable[[float], None]) -> int:
        return wait_for_slot(self._try_slots, sleep)

    def _try_slots(self) -> int | None:
        with self._held_lock:
            # Start at a different slot in each process to spread the first tries.
            count = len(self._fds)
            offset = os.getpid() % count
            for step in range(count):
                index = (offset + step) % count
                if index in self._held:
                    continue
                try:
                    fcntl.flock(self._fds[index], fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                self._held.add(index)
                return index
        return None

    def give_back(self, slot: int) -> None:
        with self._held_lock:
            fcntl.flock(self._fds[slot], fcntl.LOCK_UN)
            self._held.discard(slot)

    def close(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
        self.budget.close()


# The window table: one row per recent request start (seconds since the epoch).
_SCHEMA = "CREATE TABLE IF NOT EXISTS starts (at REAL NOT NULL)"
_INDEX = "CREATE INDEX IF NOT EXISTS starts_at ON starts (at)"
_FORGET = "DELETE FROM starts WHERE at <= ?"
# The `limit`-th most recent start inside a window; if there is one, the window is full.
_BLOCKING_START = "SELECT at FROM starts WHERE at > ? ORDER BY at DESC LIMIT 1 OFFSET ?"
_RECORD = "INSERT INTO starts (at) VALUES (?)"


class PerThreadConnections(Generic[Conn]):
    """One database connection per thread, opened on first use (a connection is not shared
    across threads); `close` ends all of them, from any thread."""

    def __init__(self, connect: Callable[[], Conn], errors: type[Exception]) -> None:
        self._connect = connect
        self._errors = errors
        self._local = threading.local()
        self._connections: list[Conn] = []
        self._lock = threading.Lock()

    def get(self) -> Conn:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(self._errors):
                    conn.close()
            self._connections = []
        self._local = threading.local()


def window_wait(
    now: float,
    windows: tuple[RateWindow, ...],
    skew: float,
    blocking_start: Callable[[float, int], float | None],
) -> float:
    """Seconds from `now` until every window has room (0 or less: room now).
    `blocking_start(since, offset)` is the start at `offset` among those after `since`,
    newest first, or None: with `offset = limit - 1` it is the start that fills the window."""
    wait = 0.0
    for window in windows:
        span = window.seconds + skew
        start = blocking_start(now - span, window.limit - 1)
        if start is not None:
            wait = max(wait, start + span - now)
    return wait


class _SqliteWindow:
    """Recent request starts of one realm in a SQLite file, one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connections = PerThreadConnections(self._connect, sqlite3.Error)
        # A new file's switch to WAL fails at once ("database is locked") when another
        # process switches it at the same moment, so creation is serialized.
        with exclusive_file_lock(path.with_name(path.name + ".create-lock")):
            conn = self._connections.get()
            conn.execute(_SCHEMA)
            conn.execute(_INDEX)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=60.0, isolation_level=None, check_same_thread=False
        )
        # The table holds a minute of timestamps: losing it in a power cut is harmless,
        # so skip the fsyncs that would otherwise dominate each permit.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        return conn

    def try_start(
        self, clock: Callable[[], float], windows: tuple[RateWindow, ...], skew: float
    ) -> float | None:
        """Record a start now and return None if every window has room; otherwise record
        nothing and return the seconds until the blocking start leaves its window."""
        conn = self._connections.get()
        longest = max(w.seconds for w in windows) + skew
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read the clock inside the write lock, so recorded starts are in order and
            # never earlier than the moment the permit is granted.
            now = clock()
            conn.execute(_FORGET, (now - longest,))

            def blocking_start(since: float, offset: int) -> float | None:
                row = conn.execute(_BLOCKING_START, (since, offset)).fetchone()
                return None if row is None else row[0]

            wait = window_wait(now, windows, skew, blocking_start)
            if wait <= 0:
                conn.execute(_RECORD, (now,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return wait if wait > 0 else None

    def close(self) -> None:
        self._connections.close()


def earliest_starts(
    requests: int, windows: tuple[RateWindow, ...] = INTUIT_WINDOWS, skew: float = 0.0
) -> list[float]:
    """The earliest start time (seconds after the first) of each of `requests` requests the
    windows allow: the pace of a perfect client, to measure a real one against."""
    starts: list[float] = []
    for index in range(requests):
        moment = 0.0
        for window in windows:
            if index >= window.limit:
                moment = max(moment, starts[index - window.limit] + window.seconds + skew)
        starts.append(moment)
    return starts


_shared: dict[Path | str, LocalRequestLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(home: Path, postgres_url: str | None = None) -> LocalRequestLimiter:
    """The process's limiter, with Intuit's limits: on the control DB's Postgres when
    `postgres_url` is given (the budget shared by every machine), else in `home/limits/`
    (QBP_HOME: the budget shared by the processes of this machine)."""
    root = (Path(home) / "limits").resolve()
    key = postgres_url or root
    with _shared_lock:
        limiter = _shared.get(key)
        if limiter is None:
            if postgres_url is not None:
                from qb_pipeline.quickbooks.limiter_postgres import PostgresRequestLimiter

                limiter = PostgresRequestLimiter(postgres_url)
            else:
                limiter = LocalRequestLimiter(root)
            _shared[key] = limiter
        return limiter


__all__ = [
    "DEFAULT_SKEW",
    "INTUIT_CONCURRENCY",
    "INTUIT_WINDOWS",
    "LocalRequestLimiter",
    "RateWindow",
    "RequestLimiter",
    "UnlimitedLimiter",
    "earliest_starts",
    "shared_limiter",
]
