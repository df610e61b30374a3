"""The sign-in throttle: failed password attempts per account and per client address.

State is in the control DB (table sign_in_failures), so every web process sharing it
shares the counts. Within a sliding window of `WINDOW`, an account (the normalized email as
typed, whether a user has it or not) with `ACCOUNT_LIMIT` or more failures, or a client
address with `ADDRESS_LIMIT` or more, is refused for a delay after its latest failure that
starts at `FIRST_DELAY` and doubles with every further failure, up to `MAX_DELAY`. A refused
attempt does not check the password at all (so a correct password during the delay does not
sign in) and does not count as a failure (so waiting out the delay always works).

Each attempt is recorded before the password is checked, in the same transaction as the
check of the counts, and removed when the password matches: parallel guesses cannot slip
past the limit between the check and the verification. A success removes the account's
failures (a user who mistyped a few times starts again) but never the address's others.

Times come from the caller (the service's clock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from qb_pipeline.connections.db import Connection, from_text, to_text, transaction

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = WINDOW


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused now: which limit, how many failures, how long to wait."""

    limit: str  # "account" or "address"
    failures: int
    retry_after: timedelta

    @property
    def retry_after_seconds(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds()))


def delay_after(failures: int, limit: int) -> timedelta:
    """The wait after the latest of `failures` failures (none below `limit`)."""
    if failures < limit:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** min(failures - limit, 20), MAX_DELAY)


def begin_attempt(
    conn: Connection, account: str | None, client: str | None, now: datetime
) -> int | Refusal:
    """Record an attempt (as a failure until `succeeded`) and return its id, or the Refusal
    when the account or the address must wait (nothing recorded then). A None account or
    client is not counted under that key."""
    since = to_text(now - WINDOW)
    with transaction(conn):
        conn.execute("DELETE FROM sign_in_failures WHERE at <= ?", (since,))
        checks = []
        if account is not None:
            checks.append(("account", "account", account, ACCOUNT_LIMIT))
        if client is not None:
            checks.append(("address", "client", client, ADDRESS_LIMIT))
        refusals = []
        for name, column, value, limit in checks:
            # `column` is one of two fixed names above, never user input.
            failures, latest = conn.execute(
                f"SELECT count(*), max(at) FROM sign_in_failures WHERE {column} = ? AND at > ?",
                (value, since),
            ).fetchone()
            if latest is None:
                continue
            wait_until = from_text(latest) + delay_after(failures, limit)
            if wait_until > now:
                refusals.append(Refusal(name, failures, wait_until - now))
        if refusals:
            return max(refusals, key=lambda refusal: refusal.retry_after)
        cursor = conn.execute(
            "INSERT INTO sign_in_failures (at, account, client) VALUES (?, ?, ?) RETURNING id",
            (to_text(now), account, client),
        )
        return int(cursor.fetchone()[0])


def succeeded(conn: Connection, account: str | None, attempt_id: int) -> None:
    """The password matched: forget this attempt and the account's earlier failures."""
    with transaction(conn):
        conn.execute(
            "DELETE FROM sign_in_failures WHERE id = ? OR (account IS NOT NULL AND account = ?)",
            (attempt_id, account),
        )


def forget_account(conn: Connection, account: str) -> None:
    """Drop the account's failures (an operator set a new password), inside the caller's
    transaction."""
    conn.execute("DELETE FROM sign_in_failures WHERE account = ?", (account,))
