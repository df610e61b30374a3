"""The single function that hands out a valid access token for an organization.

Refresh-token rotation is the path where a mistake disconnects a customer, so:
- a refresh happens only under the organization's cross-process lock (locks.py);
- inside the lock the row is read again: another process may have refreshed meanwhile,
  and then its fresh access token is used instead of refreshing a second time;
- the rotated refresh token and the new access token are committed in one transaction
  before the access token is returned to anyone, and that transaction holds the control DB's
  write lock from before the request is sent, so nothing but the UPDATE and the COMMIT lies
  between Intuit's answer and the durable write (`_refresh`; README, "Decisions");
- `invalid_grant` moves the connection to `reauthorization_required` (tokens erased, a
  clear reason stored and audited) and raises ReauthorizationRequired.
"""

from __future__ import annotations

import dataclasses
import hmac
import os
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from qb_pipeline.connections import audit, events
from qb_pipeline.connections.crypto import TokenCipher
from qb_pipeline.connections.db import (
    Connection,
    ControlDB,
    Row,
    from_text,
    open_db,
    to_text,
    transaction,
    utcnow,
)
from qb_pipeline.connections.errors import (
    IntuitUnavailable,
    NotConnected,
    ReauthorizationRequired,
    RefreshFailed,
)
from qb_pipeline.connections.locks import ConnectionLocks
from qb_pipeline.connections.oauth_flow import IntuitOAuth, TokenRejected, TokenSet
from qb_pipeline.connections.results import (
    CONNECTED,
    REAUTHORIZATION_REQUIRED,
    AccessToken,
    Organization,
)

# Refresh when fewer than this remain, so a token handed out lasts through a request.
REFRESH_MARGIN = timedelta(minutes=5)
# The control DB's write lock is held while the token endpoint answers (see _refresh), so the
# request must end well within the busy timeout other writers wait (db.BUSY_TIMEOUT_MS, 30 s).
REFRESH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
INVALID_GRANT_REASON = (
    "QuickBooks refused the stored refresh token (invalid_grant); an admin must reconnect"
)


def read_connection(conn: Connection, org_id: int) -> Row | None:
    return conn.execute(
        "SELECT * FROM quickbooks_connections WHERE org_id = ?", (org_id,)
    ).fetchone()


def _require_connected(row: Row | None, org: Organization) -> Row:
    if row is not None and row["status"] == REAUTHORIZATION_REQUIRED:
        raise ReauthorizationRequired(f"{org.slug}: {row['status_reason'] or INVALID_GRANT_REASON}")
    if row is None or row["status"] != CONNECTED:
        raise NotConnected(
            f"organization {org.slug} is not connected to QuickBooks; an admin can connect it "
            f"with: qb-pipeline connect --org {org.slug} --as EMAIL"
        )
    return row


def _usable(
    row: Row,
    cipher: TokenCipher,
    now: datetime,
    min_valid: timedelta,
    rejected: str | None,
) -> AccessToken | None:
    """The stored access token if it stays valid for `min_valid` and was not `rejected`."""
    expires_at = from_text(row["access_expires_at"])
    if expires_at is None or expires_at - now < min_valid:
        return None
    value = cipher.decrypt(row["access_token_encrypted"])
    if rejected is not None and hmac.compare_digest(value.encode(), rejected.encode()):
        return None
    return AccessToken(value=value, realm_id=row["realm_id"], expires_at=expires_at)


def access_token(
    db: ControlDB,
    locks: ConnectionLocks,
    cipher: TokenCipher,
    oauth: IntuitOAuth,
    org: Organization,
    *,
    min_valid: timedelta = REFRESH_MARGIN,
    rejected: str | None = None,
) -> AccessToken:
    """A valid access token for `org`'s connected company, refreshed if needed.

    `min_valid`: refresh when less than this remains (default 5 minutes).
    `rejected`: an access token QuickBooks answered 401 to; if it is still the stored one,
    it is refreshed even though its recorded expiry has not come (Intuit may end a token
    early), and if another process already replaced it, the replacement is returned.
    """
    with open_db(db) as conn:
        row = _require_connected(read_connection(conn, org.id), org)
        token = _usable(row, cipher, utcnow(), min_valid, rejected)
    if token is not None:
        return token
    with locks.hold(org.slug), open_db(db) as conn:
        # Read again inside the lock: another process may have refreshed while we waited.
        row = _require_connected(read_connection(conn, org.id), org)
        token = _usable(row, cipher, utcnow(), min_valid, rejected)
        if token is not None:
            return token
        return _refresh(conn, db, row, cipher, oauth, org)


def _audit_refresh_failure(conn: Connection, org: Organization, realm_id: str, error: str) -> None:
    with transaction(conn):
        audit.record(
            conn,
            "token refresh failed",
            audit.FAILED,
            org_id=org.id,
            actor=audit.SYSTEM_ACTOR,
            realm_id=realm_id,
            error=error,
        )


def _refresh(
    conn: Connection,
    db: ControlDB,
    row: Row,
    cipher: TokenCipher,
    oauth: IntuitOAuth,
    org: Organization,
) -> AccessToken:
    """Refresh with the stored refresh token; the caller holds the connection lock.

    Once Intuit has answered, the only copy of the new refresh token is in this process's
    memory (under strict rotation the old one is already dead), so everything that can be done
    before the request is: SQLite's write lock is taken (BEGIN IMMEDIATE) before the request is
    sent, and between the answer and the COMMIT there is only encrypting the pair and one
    UPDATE. No other writer can make that COMMIT wait, and the audit row follows in its own
    transaction.

    On SQLite the COMMIT runs with `synchronous = NORMAL`: in WAL mode it then writes the
    frames and publishes them to other connections without waiting for the disk, so a process
    killed right after it loses nothing (under FULL, SQLite publishes a commit only after its
    fsync, and a process killed during that fsync while another process has the database open
    loses the commit). The WAL is fsynced right after (`_flush`), which makes the pair survive a
    power cut as FULL would.

    On Postgres the transaction is a plain BEGIN, without the control DB's write lock: other
    writers cannot delay this COMMIT there (they lock rows, not the database, and only holders
    of this connection's lock change its row), and the commit is durable when it returns.
    """
    old_refresh_encrypted = row["refresh_token_encrypted"]
    old_refresh = cipher.decrypt(old_refresh_encrypted)
    realm_id = row["realm_id"]
    if db.sqlite_path is not None:
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn.execute("BEGIN")
    try:
        tokens = oauth.refresh(old_refresh, timeout=REFRESH_TIMEOUT)
    except BaseException as error:
        conn.execute("ROLLBACK")
        _refresh_failed(conn, org, realm_id, old_refresh_encrypted, error)
        raise
    now = utcnow()
    try:
        tokens = _same_hard_expiry(tokens, from_text(row["refresh_hard_expires_at"]))
        stored = _store_refreshed(conn, row["id"], old_refresh_encrypted, cipher, tokens, now)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if not stored:
        raise NotConnected(f"{org.slug}: the QuickBooks connection changed during a refresh")
    if db.sqlite_path is not None:
        _flush(db.sqlite_path)
    rotated = not hmac.compare_digest(tokens.refresh_token.encode(), old_refresh.encode())
    with transaction(conn):
        audit.record(
            conn,
            "token refreshed",
            audit.OK,
            org_id=org.id,
            actor=audit.SYSTEM_ACTOR,
            realm_id=realm_id,
            refresh_token_rotated=rotated,
            access_expires_at=to_text(tokens.access_expires_at),
            refresh_expires_at=to_text(tokens.refresh_expires_at),
        )
    return AccessToken(tokens.access_token, realm_id, tokens.access_expires_at)


# Intuit sends a refresh token's hard expiry as whole seconds left, counted from its own
# clock at the answer, so the same fixed moment reads a second earlier or later from one
# answer to the next. Within this much of the stored moment it is that moment.
HARD_EXPIRY_PRECISION = timedelta(seconds=2)


def _same_hard_expiry(tokens: TokenSet, stored: datetime | None) -> TokenSet:
    """`tokens` with the stored hard expiry when the answer's is the same moment (the grant's
    hard limit never moves; only its rounding does), else unchanged."""
    answered = tokens.refresh_hard_expires_at
    if answered is None or stored is None or abs(answered - stored) > HARD_EXPIRY_PRECISION:
        return tokens
    return dataclasses.replace(tokens, refresh_hard_expires_at=stored)


def _store_refreshed(
    conn: Connection,
    connection_id: int,
    old_refresh_encrypted: str,
    cipher: TokenCipher,
    tokens: TokenSet,
    now: datetime,
) -> bool:
    """Write the new pair and COMMIT the transaction the caller opened; False (rolled back)
    when the row no longer holds the refresh token that was used.

    This is the whole window in which a killed process loses the connection under strict
    rotation; keep it to the UPDATE and the COMMIT.
    """
    # Conditional on the refresh token we used: the lock makes a change impossible, and if it
    # ever happened we must not overwrite a newer connection's tokens.
    updated = conn.execute(
        "UPDATE quickbooks_connections SET access_token_encrypted = ?,"
        " refresh_token_encrypted = ?, access_expires_at = ?,"
        " refresh_expires_at = COALESCE(?, refresh_expires_at),"
        " refresh_hard_expires_at = COALESCE(?, refresh_hard_expires_at),"
        " last_refreshed_at = ?, updated_at = ?"
        " WHERE id = ? AND status = ? AND refresh_token_encrypted = ?",
        (
            cipher.encrypt(tokens.access_token),
            cipher.encrypt(tokens.refresh_token),
            to_text(tokens.access_expires_at),
            to_text(tokens.refresh_expires_at),
            to_text(tokens.refresh_hard_expires_at),
            to_text(now),
            to_text(now),
            connection_id,
            CONNECTED,
            old_refresh_encrypted,
        ),
    ).rowcount
    if updated != 1:
        conn.execute("ROLLBACK")
        return False
    conn.execute("COMMIT")
    return True


def _flush(db_path: Path) -> None:
    """fsync the control DB's write-ahead log (and its folder, which may hold a new one), so
    the pair just committed survives a power cut."""
    wal = db_path.with_name(db_path.name + "-wal")
    for path, flags in ((wal, os.O_RDONLY), (db_path.parent, os.O_RDONLY | os.O_DIRECTORY)):
        try:
            descriptor = os.open(path, flags)
        except FileNotFoundError:
            continue  # no WAL: the commit went to the database file itself
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _refresh_failed(
    conn: Connection,
    org: Organization,
    realm_id: str,
    old_refresh_encrypted: str,
    error: BaseException,
) -> None:
    """Record why a refresh request failed; the caller re-raises (or replaces) the error."""
    if isinstance(error, TokenRejected):
        if error.error == "invalid_grant":
            _mark_reauthorization_required(conn, org, realm_id, old_refresh_encrypted)
            raise ReauthorizationRequired(f"{org.slug}: {INVALID_GRANT_REASON}") from None
        _audit_refresh_failure(conn, org, realm_id, error.error)
        raise RefreshFailed(
            f"{org.slug}: QuickBooks refused to refresh the access token ({error.error})"
        ) from None
    if isinstance(error, IntuitUnavailable):
        _audit_refresh_failure(conn, org, realm_id, str(error))


def _mark_reauthorization_required(
    conn: Connection, org: Organization, realm_id: str, old_refresh_encrypted: str
) -> None:
    now = to_text(utcnow())
    with transaction(conn):
        # The refresh token is dead at Intuit: erase both tokens, keep who/when/which company.
        changed = conn.execute(
            "UPDATE quickbooks_connections SET status = ?, status_reason = ?,"
            " access_token_encrypted = NULL, refresh_token_encrypted = NULL,"
            " access_expires_at = NULL, refresh_expires_at = NULL,"
            " refresh_hard_expires_at = NULL, updated_at = ?"
            " WHERE org_id = ? AND refresh_token_encrypted = ?",
            (REAUTHORIZATION_REQUIRED, INVALID_GRANT_REASON, now, org.id, old_refresh_encrypted),
        ).rowcount
        if changed:
            events.record(
                conn,
                events.REAUTHORIZATION_REQUIRED,
                org_id=org.id,
                realm_id=realm_id,
                reason=INVALID_GRANT_REASON,
            )
        audit.record(
            conn,
            "reauthorization required",
            audit.FAILED,
            org_id=org.id,
            actor=audit.SYSTEM_ACTOR,
            realm_id=realm_id,
            reason=INVALID_GRANT_REASON,
        )
