"""When to retry a QuickBooks request and how long to wait first.

Exponential backoff with full jitter (a uniform wait between 0 and the growing ceiling), so
several processes that failed together do not come back together. A `Retry-After` header
(seconds or an HTTP date) wins over the computed wait. A 429 without `Retry-After` backs off
from a larger base: Intuit's guidance is "wait 60 s", but our limiter already keeps us under
the budget, so a 429 means someone else spent part of it and the window frees gradually; the
ceiling stays at 60 s. Tests pass small values (and their own `sleep`) to run fast.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Statuses worth another attempt: throttling and the server or gateway failing.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a request gets and the waits between them."""

    max_attempts: int = 6
    base_delay: float = 0.5  # ceiling of the first wait after a 5xx or a network error
    max_delay: float = 30.0
    throttle_base_delay: float = 5.0  # ceiling of the first wait after a 429 without Retry-After
    throttle_max_delay: float = 60.0
    max_retry_after: float = 300.0  # never sleep longer than this on a server's say-so
    # A report that times out at the gateway is usually too wide; after this many 504s the
    # client raises ReportRangeTooWide so the caller splits the range instead of waiting.
    report_gateway_attempts: int = 2
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = field(default=random.random)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.report_gateway_attempts < 1:
            raise ValueError(
                f"report_gateway_attempts must be >= 1, got {self.report_gateway_attempts}"
            )

    def delay(self, failed_attempts: int, *, throttled: bool, retry_after: float | None) -> float:
        """Seconds to wait after `failed_attempts` (1 after the first failure)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        base, cap = (
            (self.throttle_base_delay, self.throttle_max_delay)
            if throttled
            else (self.base_delay, self.max_delay)
        )
        ceiling = min(cap, base * 2 ** (failed_attempts - 1))
        return self.random() * ceiling


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds or an HTTP date; None if absent
    or unreadable (then the policy's own backoff applies)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)


__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after"]
