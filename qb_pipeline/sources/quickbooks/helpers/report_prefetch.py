"""Report requests asked ahead, in the background, while the entities are loaded.

A sync is paced by QuickBooks' limits (500 requests a minute, 10 a second), and the reports
are most of its requests and little of its data. So a sync loads in two passes (loads.py):
the entities, then the reports, and every report request the second pass will make is sent
from here, through the client (whose limiter keeps the pace), PREFETCH_WORKERS at a time,
while the entities are normalized and loaded. The report resources then ask
`report()`, which hands back the answer (or raises the error) of a request sent ahead, and
sends any other request itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

import orjson

from qb_pipeline.quickbooks import QuickBooksClient

log = logging.getLogger("qb_pipeline.sources.quickbooks")

# Requests in flight at once. QuickBooks allows 10 per company; the rate limit, not this,
# sets the pace, and a few threads are enough to keep it busy.
PREFETCH_WORKERS = 6
# Seconds between two report requests while the entities are extracted: 4 a second, under
# the 10 a second QuickBooks allows, next to the entity pages' own few a second.
EXTRACTION_PACE_SECONDS = 0.25

RequestKey = tuple[str, tuple[tuple[str, str], ...]]


def request_key(name: str, params: Mapping[str, str]) -> RequestKey:
    return name, tuple(sorted((key, str(value)) for key, value in params.items()))


class ReportPrefetch:
    """Answers of report requests sent ahead; each is handed out once."""

    def __init__(self, client: QuickBooksClient, workers: int = PREFETCH_WORKERS) -> None:
        self._client = client
        self._workers = workers
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        # Answers are kept as JSON bytes until handed out: a parsed report takes several
        # times its JSON's size, and the large company's answers wait through the entities'
        # extraction (peak RSS 480 MB held as dicts, bench/README.md).
        self._pending: dict[RequestKey, Future[bytes]] = {}
        self.sent = 0  # requests sent ahead so far
        # Pacing while the entities are extracted: requests start EXTRACTION_PACE_SECONDS
        # apart until `full_speed()` sets the event.
        self._full_speed = threading.Event()
        self._pace_lock = threading.Lock()
        self._next_start = 0.0

    def start(
        self, requests: Iterable[tuple[str, Mapping[str, str]]], *, paced: bool = False
    ) -> int:
        """Send `requests` (report name, parameters) in the background, EXTRACTION_PACE_SECONDS
        apart when `paced` until `full_speed()`; how many."""
        if not paced:
            self._full_speed.set()
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="qbo-report")
            sent = 0
            for name, params in requests:
                key = request_key(name, params)
                if key not in self._pending:
                    self._pending[key] = self._pool.submit(self._send, name, params)
                    sent += 1
            self.sent += sent
        if sent:
            log.info("%d report requests sent ahead of the reports' pass", sent)
        return sent

    def full_speed(self) -> None:
        """Stop pacing: every worker sends as fast as the client's limiter allows."""
        self._full_speed.set()

    def _send(self, name: str, params: Mapping[str, str]) -> bytes:
        with self._pace_lock:
            if not self._full_speed.is_set():
                now = time.monotonic()
                # Waits for the pace, or less when full_speed() comes first.
                self._full_speed.wait(max(self._next_start - now, 0.0))
                self._next_start = max(now, self._next_start) + EXTRACTION_PACE_SECONDS
        return orjson.dumps(self._client.report(name, params))

    def report(self, name: str, params: Mapping[str, str]) -> dict:
        """The report: the answer of the same request sent ahead (its error raised), or a
        request sent now."""
        with self._lock:
            future = self._pending.pop(request_key(name, params), None)
        if future is None:
            return self._client.report(name, params)
        return orjson.loads(future.result())

    def waiting(self) -> int:
        """Requests sent ahead whose answers were not handed out yet."""
        with self._lock:
            return len(self._pending)

    def close(self) -> None:
        """Cancel what has not been sent and forget the rest (a failed or finished sync)."""
        with self._lock:
            pool, self._pool = self._pool, None
            pending, self._pending = self._pending, {}
        self._full_speed.set()  # a worker waiting on the pace finishes (its work cancelled)
        if pending:
            log.info("%d report answers sent ahead were not used", len(pending))
        for future in pending.values():
            future.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
