"""The per-realm request budget on Postgres: the same limits as LocalRequestLimiter, shared by
processes on any number of machines through the control DB (QBP_DATABASE_URL).

- Concurrency: `concurrency` session-level advisory locks per realm, taken with
  pg_try_advisory_lock on one connection per process and realm. The server releases them when
  that connection ends, so a killed process never keeps a slot.
- Rate: the start times of recent requests in the table `request_starts` (migration 0006),
  read and written inside a transaction that holds the realm's transaction-level advisory
  lock, with the time taken from the database's clock (clock_timestamp()), never a machine's.

Only the two realm-state classes differ from the local limiter; pacing, waiting and the
per-process slot bookkeeping are LocalRequestLimiter's.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg2
import psycopg2.extensions

from qb_pipeline.quickbooks.limiter import (
    DEFAULT_SKEW,
    INTUIT_CONCURRENCY,
    INTUIT_WINDOWS,
    LocalRequestLimiter,
    PerThreadConnections,
    RateWindow,
    wait_for_slot,
    window_wait,
)

# Advisory lock keys are two int4s; these first halves keep ours apart from the control DB's
# other locks (connections/db.py uses 0x71627000 and 0x71627001) and other applications'.
SLOT_LOCK_SPACE = 0x71627010
BUDGET_LOCK_SPACE = 0x71627011
CONNECT_TIMEOUT = 10

_NOW = "SELECT extract(epoch FROM clock_timestamp())::double precision"
_FORGET = "DELETE FROM request_starts WHERE realm_id = %s AND at <= %s"
# The `limit`-th most recent start inside a window; if there is one, the window is full.
_BLOCKING_START = (
    "SELECT at FROM request_starts WHERE realm_id = %s AND at > %s"
    " ORDER BY at DESC LIMIT 1 OFFSET %s"
)
_RECORD = "INSERT INTO request_starts (realm_id, at) VALUES (%s, %s)"


class PostgresRequestLimiter(LocalRequestLimiter):
    """The budget of every realm, shared by all processes using the same Postgres database.

    `windows`, `concurrency` and `skew` must be the same in every process sharing it.
    """

    def __init__(
        self,
        url: str,
        *,
        windows: tuple[RateWindow, ...] = INTUIT_WINDOWS,
        concurrency: int = INTUIT_CONCURRENCY,
        skew: float = DEFAULT_SKEW,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # No folder is used: `root` only names the limiter in its repr.
        super().__init__(
            Path("postgres"), windows=windows, concurrency=concurrency, skew=skew, sleep=sleep
        )
        self._url = url

    def __repr__(self) -> str:
        windows = ", ".join(f"{w.limit}/{w.seconds:g}s" for w in self.windows)
        return (
            f"PostgresRequestLimiter(windows=[{windows}], concurrency={self.concurrency}, "
            f"skew={self.skew:g})"
        )

    def _new_state(self, realm_id: str) -> _PostgresRealmState:  # type: ignore[override]
        return _PostgresRealmState(self._url, realm_id, self.concurrency)


def _connect(url: str) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT)
    conn.autocommit = True
    return conn


class _PostgresRealmState:
    """One process's handles on one realm's shared state in Postgres."""

    def __init__(self, url: str, realm_id: str, concurrency: int) -> None:
        self.realm_id = realm_id
        self.local_slots = threading.BoundedSemaphore(concurrency)
        self._concurrency = concurrency
        # Session advisory locks are re-entrant within one session, so which thread holds
        # which slot of this process's connection is tracked here.
        self._held: set[int] = set()
        self._held_lock = threading.Lock()
        self._slots = _connect(url)
        self.budget = _PostgresWindow(url, realm_id)

    def _slot_key(self, index: int) -> str:
        return f"{self.realm_id}:{index}"

    def take_slot(self, sleep: Callable[[float], None]) -> int:
        return wait_for_slot(self._try_slots, sleep)

    def _try_slots(self) -> int | None:
        with self._held_lock, self._slots.cursor() as cursor:
            for index in range(self._concurrency):
                if index in self._held:
                    continue
                cursor.execute(
                    "SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                    (SLOT_LOCK_SPACE, self._slot_key(index)),
                )
                if cursor.fetchone()[0]:
                    self._held.add(index)
                    return index
        return None

    def give_back(self, slot: int) -> None:
        with self._held_lock, self._slots.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s, hashtext(%s))",
                (SLOT_LOCK_SPACE, self._slot_key(slot)),
            )
            self._held.discard(slot)

    def close(self) -> None:
        with contextlib.suppress(psycopg2.Error):
            self._slots.close()
        self.budget.close()


class _PostgresWindow:
    """Recent request starts of one realm in `request_starts`, one connection per thread."""

    def __init__(self, url: str, realm_id: str) -> None:
        self.realm_id = realm_id
        self._connections = PerThreadConnections(lambda: _connect(url), psycopg2.Error)

    def try_start(
        self, clock: Callable[[], float], windows: tuple[RateWindow, ...], skew: float
    ) -> float | None:
        """Record a start now and return None if every window has room; otherwise record
        nothing and return the seconds until the blocking start leaves its window. `clock`
        is not used: the database's clock is the one every machine shares."""
        longest = max(w.seconds for w in windows) + skew
        conn = self._connections.get()
        with conn.cursor() as cursor:
            cursor.execute("BEGIN")
            try:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                    (BUDGET_LOCK_SPACE, self.realm_id),
                )
                # Read inside the lock, so recorded starts are in order and never earlier
                # than the moment the permit is granted.
                cursor.execute(_NOW)
                now = cursor.fetchone()[0]
                cursor.execute(_FORGET, (self.realm_id, now - longest))

                def blocking_start(since: float, offset: int) -> float | None:
                    cursor.execute(_BLOCKING_START, (self.realm_id, since, offset))
                    row = cursor.fetchone()
                    return None if row is None else row[0]

                wait = window_wait(now, windows, skew, blocking_start)
                if wait <= 0:
                    cursor.execute(_RECORD, (self.realm_id, now))
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        return wait if wait > 0 else None

    def close(self) -> None:
        self._connections.close()


__all__ = ["PostgresRequestLimiter"]
