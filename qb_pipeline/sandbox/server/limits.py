"""QuickBooks Online's request limits, enforced per (app, realm) like Intuit's gateway.

The real limits, as Intuit documents them: 500 requests per rolling minute and 10 per second for
each realm and app, at most 10 requests in flight, and 40 batch requests per minute. A
request over any of them is answered 429 by the middleware; it does not use up budget, so a
client that backs off recovers as soon as the oldest admitted request leaves the window.

One lock guards all windows: each admission is a few deque operations, far cheaper than the
request it guards, and the same limiter serves the event loop and any worker threads.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

PER_MINUTE = 500
PER_SECOND = 10
CONCURRENT = 10
BATCH_PER_MINUTE = 40


@dataclass
class _Budget:
    """Recent admissions of one (client_id, realm) pair."""

    minute: deque[float] = field(default_factory=deque)
    second: deque[float] = field(default_factory=deque)
    batch_minute: deque[float] = field(default_factory=deque)
    in_flight: int = 0


class Admission:
    """A request let through; `release()` when its response is complete (idempotent)."""

    __slots__ = ("_key", "_limiter")

    def __init__(self, limiter: RateLimiter | None, key: tuple[str, str]) -> None:
        self._limiter = limiter
        self._key = key

    def release(self) -> None:
        limiter, self._limiter = self._limiter, None
        if limiter is not None:
            limiter._release(self._key)


# Handed out while limits are off: nothing to give back.
_UNLIMITED = Admission(None, ("", ""))


class RateLimiter:
    """Sliding-window limits per (client_id, realm); `enabled()` is read on every request."""

    def __init__(
        self,
        enabled: Callable[[], bool],
        *,
        per_minute: int = PER_MINUTE,
        per_second: int = PER_SECOND,
        concurrent: int = CONCURRENT,
        batch_per_minute: int = BATCH_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self.per_minute = per_minute
        self.per_second = per_second
        self.concurrent = concurrent
        self.batch_per_minute = batch_per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._budgets: dict[tuple[str, str], _Budget] = {}

    def admit(self, client_id: str, realm_id: str, *, batch: bool = False) -> Admission | None:
        """An Admission if the request fits every limit, None if it must be throttled."""
        if not self.enabled():
            return _UNLIMITED
        key = (client_id, realm_id)
        now = self._clock()
        with self._lock:
            budget = self._budgets.get(key)
            if budget is None:
                budget = self._budgets[key] = _Budget()
            _drop_older(budget.minute, now - 60.0)
            _drop_older(budget.second, now - 1.0)
            if (
                budget.in_flight >= self.concurrent
                or len(budget.second) >= self.per_second
                or len(budget.minute) >= self.per_minute
            ):
                return None
            if batch:
                _drop_older(budget.batch_minute, now - 60.0)
                if len(budget.batch_minute) >= self.batch_per_minute:
                    return None
                budget.batch_minute.append(now)
            budget.minute.append(now)
            budget.second.append(now)
            budget.in_flight += 1
        return Admission(self, key)

    def _release(self, key: tuple[str, str]) -> None:
        with self._lock:
            budget = self._budgets.get(key)
            if budget is not None and budget.in_flight > 0:
                budget.in_flight -= 1

    def reset(self) -> None:
        """Forget every window (requests in flight still release safely)."""
        with self._lock:
            for budget in self._budgets.values():
                budget.minute.clear()
                budget.second.clear()
                budget.batch_minute.clear()

    def snapshot(self) -> list[dict]:
        """Current usage per (client_id, realm), for the control API."""
        now = self._clock()
        with self._lock:
            rows = []
            for (client_id, realm_id), budget in self._budgets.items():
                _drop_older(budget.minute, now - 60.0)
                _drop_older(budget.second, now - 1.0)
                _drop_older(budget.batch_minute, now - 60.0)
                rows.append(
                    {
                        "client_id": client_id,
                        "realmId": realm_id,
                        "last_minute": len(budget.minute),
                        "last_second": len(budget.second),
                        "batch_last_minute": len(budget.batch_minute),
                        "in_flight": budget.in_flight,
                    }
                )
            return rows


def _drop_older(window: deque[float], cutoff: float) -> None:
    while window and window[0] <= cutoff:
        window.popleft()
