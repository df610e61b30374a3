"""Deliveries: claiming one so that only one step ever sends it, its attempts with
exponential backoff, and the delivery log admins read.

At most once: a delivery is claimed (pending -> sending) in a transaction before its first
attempt, and only the step that claimed it sends it. A process that dies while sending leaves
it `sending`; the next alert step of the organization marks such a delivery failed
("interrupted") after STUCK_AFTER rather than send it again, since the receiver may have it.
Every attempt is a row of alert_attempts (outcome, HTTP status or SMTP code, the error in
words), written as it ends, so the log shows a delivery still retrying.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from qb_pipeline.connections.db import Connection, from_text, to_text, transaction, utcnow

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
OK, RETRY, GAVE_UP = "ok", "retry", "failed"
STUCK_AFTER = timedelta(minutes=15)
MAX_ERROR = 1000


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a delivery is tried: `attempts` in all, waiting base * factor**n between
    them (capped at max_delay), each attempt given `timeout` seconds."""

    attempts: int = 4
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0
    timeout: float = 10.0

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (1-based)."""
        return min(self.max_delay, self.base_delay * self.factor ** (attempt - 1))


@dataclass(frozen=True)
class AttemptResult:
    """How one attempt ended: ok, retry (worth another try) or failed (final)."""

    outcome: str
    code: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Delivery:
    id: int
    digest_id: int
    org_slug: str
    delivery_key: str
    channel: str
    recipient: str
    user_id: int | None
    endpoint_id: int | None
    goal_ids: list[str]
    status: str
    attempts: int
    created_at: datetime
    finished_at: datetime | None
    last_error: str | None
    run_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "org": self.org_slug,
            "run_id": self.run_id,
            "delivery_key": self.delivery_key,
            "channel": self.channel,
            "recipient": self.recipient,
            "goal_ids": self.goal_ids,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    attempt: int
    at: datetime
    outcome: str
    code: int | None
    error: str | None
    duration_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "attempt": self.attempt,
            "at": self.at.isoformat(),
            "outcome": self.outcome,
            "code": self.code,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


_DELIVERY_SQL = (
    "SELECT d.*, o.slug, g.run_id FROM alert_deliveries d"
    " JOIN organizations o ON o.id = d.org_id JOIN alert_digests g ON g.id = d.digest_id"
)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row["id"],
        digest_id=row["digest_id"],
        org_slug=row["slug"],
        delivery_key=row["delivery_key"],
        channel=row["channel"],
        recipient=row["recipient"],
        user_id=row["user_id"],
        endpoint_id=row["endpoint_id"],
        goal_ids=json.loads(row["goal_ids"]),
        status=row["status"],
        attempts=row["attempts"],
        created_at=from_text(row["created_at"]),
        finished_at=from_text(row["finished_at"]),
        last_error=row["last_error"],
        run_id=row["run_id"],
    )


def give_up_interrupted(conn: Connection, org_id: int, now: datetime | None = None) -> int:
    """Mark deliveries left `sending` longer than STUCK_AFTER failed; returns how many."""
    now = now or utcnow()
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE alert_deliveries SET status = 'failed', finished_at = ?, last_error = ?"
            " WHERE org_id = ? AND status = 'sending' AND claimed_at < ?",
            (
                to_text(now),
                "interrupted: the process ended while sending; not sent again, so as never to "
                "send twice",
                org_id,
                to_text(now - STUCK_AFTER),
            ),
        )
    return cursor.rowcount


def claim_pending(conn: Connection, org_id: int) -> list[Delivery]:
    """Take every pending delivery of the organization for this step (pending -> sending):
    a step running at the same time gets none of them."""
    with transaction(conn):
        rows = conn.execute(
            _DELIVERY_SQL + " WHERE d.org_id = ? AND d.status = 'pending' ORDER BY d.id",
            (org_id,),
        ).fetchall()
        claimed = []
        for row in rows:
            cursor = conn.execute(
                "UPDATE alert_deliveries SET status = 'sending', claimed_at = ?"
                " WHERE id = ? AND status = 'pending'",
                (to_text(utcnow()), row["id"]),
            )
            if cursor.rowcount == 1:
                claimed.append(_delivery(row))
    return claimed


def record_attempt(
    conn: Connection, delivery_id: int, number: int, result: AttemptResult, duration_ms: int
) -> None:
    error = (result.error or "")[:MAX_ERROR] or None
    with transaction(conn):
        conn.execute(
            "INSERT INTO alert_attempts (delivery_id, attempt, at, outcome, code, error,"
            " duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                delivery_id,
                number,
                to_text(utcnow()),
                result.outcome,
                result.code,
                error,
                duration_ms,
            ),
        )
        conn.execute(
            "UPDATE alert_deliveries SET attempts = ?, last_error = ? WHERE id = ?",
            (number, error, delivery_id),
        )


def finish(conn: Connection, delivery_id: int, status: str) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE alert_deliveries SET status = ?, finished_at = ? WHERE id = ?",
            (status, to_text(utcnow()), delivery_id),
        )


def send_with_retries(
    conn: Connection,
    delivery: Delivery,
    send_once: Callable[[float], AttemptResult],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Attempt `send_once(timeout)` up to policy.attempts times, backing off after each
    `retry`; record every attempt; returns the delivery's final status (sent or failed)."""
    for number in range(1, policy.attempts + 1):
        started = time.monotonic()
        try:
            result = send_once(policy.timeout)
        except Exception as error:  # a bug in a sender must not end the others' deliveries
            result = AttemptResult(GAVE_UP, None, f"{type(error).__name__}: {error}")
        duration = int((time.monotonic() - started) * 1000)
        if result.outcome == RETRY and number == policy.attempts:
            result = AttemptResult(
                GAVE_UP, result.code, f"{result.error} (attempt {number} of {number}, giving up)"
            )
        record_attempt(conn, delivery.id, number, result, duration)
        if result.outcome == OK:
            finish(conn, delivery.id, SENT)
            return SENT
        if result.outcome == GAVE_UP:
            break
        sleep(policy.delay(number))
    finish(conn, delivery.id, FAILED)
    return FAILED


def log(conn: Connection, org_id: int, limit: int = 100) -> list[tuple[Delivery, list[Attempt]]]:
    """The organization's newest deliveries, each with its attempts in order."""
    rows = conn.execute(
        _DELIVERY_SQL + " WHERE d.org_id = ? ORDER BY d.id DESC LIMIT ?", (org_id, limit)
    ).fetchall()
    found = [_delivery(row) for row in rows]
    if not found:
        return []
    marks = ", ".join("?" for _ in found)
    attempts: dict[int, list[Attempt]] = {d.id: [] for d in found}
    for row in conn.execute(
        f"SELECT * FROM alert_attempts WHERE delivery_id IN ({marks})"
        " ORDER BY delivery_id, attempt",
        tuple(d.id for d in found),
    ):
        attempts[row["delivery_id"]].append(
            Attempt(
                row["delivery_id"],
                row["attempt"],
                from_text(row["at"]),
                row["outcome"],
                row["code"],
                row["error"],
                row["duration_ms"],
            )
        )
    return [(d, attempts[d.id]) for d in found]
