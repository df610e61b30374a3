"""Server-side web sessions: who a browser's session id belongs to, until when, and why it ended.

The web app's cookie carries only a random session id (`start` returns it once); the control
DB keeps its SHA-256, the user, and created / last-seen / expiry times. A session lasts while
it is used: every lookup at least a minute after the previous one moves the idle expiry to
`IDLE_EXPIRY` from now (so an active user writes at most one row update a minute). Revoking
sets `revoked_at` and the reason; the next request with that id finds no user. Sessions are
revoked on sign-out (that one), and for all of a user's sessions when the password changes,
a membership is removed or a role changes.

Times come from the caller (the service's clock), so tests move time instead of sleeping.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from qb_pipeline.connections.db import Connection, to_text, transaction

IDLE_EXPIRY = timedelta(hours=8)
TOUCH_EVERY = timedelta(minutes=1)
# Ended sessions are kept this long (for "why was I signed out"), then deleted.
KEEP_ENDED = timedelta(days=30)

SIGNED_OUT = "signed_out"
PASSWORD_CHANGED = "password_changed"
MEMBERSHIP_REMOVED = "membership_removed"
ROLE_CHANGED = "role_changed"
REASONS = (SIGNED_OUT, PASSWORD_CHANGED, MEMBERSHIP_REMOVED, ROLE_CHANGED)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(conn: Connection, user_id: int, now: datetime) -> str:
    """A new session for the user; returns its id (the only copy: it goes into the cookie)."""
    token = secrets.token_urlsafe(32)
    with transaction(conn):
        conn.execute(
            "INSERT INTO web_sessions (token_hash, user_id, created_at, last_seen_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (token_hash(token), user_id, to_text(now), to_text(now), to_text(now + IDLE_EXPIRY)),
        )
        # Housekeeping on the rare write path, so lookups stay reads.
        cutoff = to_text(now - KEEP_ENDED)
        conn.execute(
            "DELETE FROM web_sessions WHERE expires_at < ? OR revoked_at < ?", (cutoff, cutoff)
        )
    return token


def user_email(conn: Connection, token: str, now: datetime) -> str | None:
    """The email of the session's user while the session is live; None when it is unknown,
    revoked or idle past its expiry."""
    row = conn.execute(
        "SELECT s.id, s.last_seen_at, s.expires_at, s.revoked_at, u.email"
        " FROM web_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
        (token_hash(token),),
    ).fetchone()
    if row is None or row["revoked_at"] is not None or row["expires_at"] <= to_text(now):
        return None
    if row["last_seen_at"] <= to_text(now - TOUCH_EVERY):
        with transaction(conn):
            # Only a live session is extended: a revocation committed meanwhile wins.
            touched = conn.execute(
                "UPDATE web_sessions SET last_seen_at = ?, expires_at = ?"
                " WHERE id = ? AND revoked_at IS NULL AND expires_at > ?",
                (to_text(now), to_text(now + IDLE_EXPIRY), row["id"], to_text(now)),
            ).rowcount
        if not touched:
            return None
    return str(row["email"])


def revoke(conn: Connection, token: str, reason: str, now: datetime) -> bool:
    """End one session; whether it was live."""
    _check_reason(reason)
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE web_sessions SET revoked_at = ?, revoked_reason = ?"
            " WHERE token_hash = ? AND revoked_at IS NULL",
            (to_text(now), reason, token_hash(token)),
        )
    return cursor.rowcount > 0


def revoke_all(conn: Connection, user_id: int, reason: str, now: datetime) -> int:
    """End every live session of the user, inside the caller's open transaction (so the
    change that causes it and the revocation commit together); returns how many."""
    _check_reason(reason)
    if not conn.in_transaction:
        raise RuntimeError("sessions are revoked inside the transaction of the change")
    cursor = conn.execute(
        "UPDATE web_sessions SET revoked_at = ?, revoked_reason = ?"
        " WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?",
        (to_text(now), reason, user_id, to_text(now)),
    )
    return cursor.rowcount


def _check_reason(reason: str) -> None:
    if reason not in REASONS:
        raise ValueError(f"session end reason {reason!r} is not one of {', '.join(REASONS)}")
