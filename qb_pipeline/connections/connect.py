"""Connecting and disconnecting an organization's QuickBooks company.

begin -> the user signs in at Intuit and chooses a company -> complete (the callback).
`state` is single use, lives 10 minutes and is stored only as a SHA-256 hash; a callback
with an unknown, used or expired state stores nothing. One company per organization: a
callback for a different company while one is connected is refused, and the tokens Intuit
just issued for it are revoked at once so no orphan grant stays behind.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from qb_pipeline.connections import audit, events
from qb_pipeline.connections.crypto import TokenCipher
from qb_pipeline.connections.db import Connection, from_text, to_text, transaction, utcnow
from qb_pipeline.connections.errors import (
    ConnectCancelled,
    ConnectFailed,
    ConnectionRefused,
    IntuitUnavailable,
    InvalidInput,
    NotConnected,
    StateMismatch,
)
from qb_pipeline.connections.locks import ConnectionLocks
from qb_pipeline.connections.oauth_flow import IntuitOAuth, TokenRejected, TokenSet
from qb_pipeline.connections.results import (
    CONNECTED,
    DISCONNECTED,
    Membership,
    Organization,
)
from qb_pipeline.connections.tokens import read_connection

STATE_LIFETIME = timedelta(minutes=10)
CONNECT_ACTION = "connect QuickBooks"
DISCONNECT_ACTION = "disconnect QuickBooks"


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def check_redirect_uri(redirect_uri: str) -> str:
    parts = urlsplit(redirect_uri or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise InvalidInput(f"redirect URI {redirect_uri!r} must be an absolute http(s) URL")
    return redirect_uri


def begin(conn: Connection, oauth: IntuitOAuth, member: Membership, redirect_uri: str) -> str:
    """Store a fresh state for `member` (an admin) and return Intuit's authorize URL."""
    check_redirect_uri(redirect_uri)
    state = secrets.token_urlsafe(32)
    now = utcnow()
    with transaction(conn):
        # Expired states can never complete; drop them so the table stays small.
        conn.execute(
            "DELETE FROM oauth_states WHERE created_at < ?", (to_text(now - STATE_LIFETIME),)
        )
        conn.execute(
            "INSERT INTO oauth_states (state_hash, org_id, user_id, redirect_uri, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (hash_state(state), member.organization.id, member.user.id, redirect_uri, to_text(now)),
        )
        audit.record(
            conn,
            "connect started",
            audit.OK,
            org_id=member.organization.id,
            actor=member.email,
            redirect_uri=redirect_uri,
        )
    return oauth.authorization_url(redirect_uri, state)


def consume_state(conn: Connection, state: str | None, redirect_uri: str) -> tuple[str, str]:
    """Mark the state used and return (org slug, user email); StateMismatch if it cannot be."""
    now = utcnow()
    problem = None
    with transaction(conn):
        row = conn.execute(
            "SELECT s.id, s.org_id, s.redirect_uri, s.created_at, s.used_at, o.slug, u.email"
            " FROM oauth_states s JOIN organizations o ON o.id = s.org_id"
            " JOIN users u ON u.id = s.user_id WHERE s.state_hash = ?",
            (hash_state(state or ""),),
        ).fetchone()
        if row is None:
            problem = "the sign-in answer does not match any connect in progress"
        elif row["used_at"] is not None:
            problem = "this sign-in answer was used already"
        else:
            conn.execute(
                "UPDATE oauth_states SET used_at = ? WHERE id = ?", (to_text(now), row["id"])
            )
            if now - from_text(row["created_at"]) > STATE_LIFETIME:
                problem = "the connect took longer than 10 minutes and expired"
            elif row["redirect_uri"] != redirect_uri:
                problem = "the sign-in answer came back to a different address"
        if problem:
            audit.record(
                conn,
                "connect refused",
                audit.REFUSED,
                org_id=row["org_id"] if row else None,
                actor=row["email"] if row else None,
                reason=f"state: {problem}",
            )
    if problem:
        raise StateMismatch(
            f"QuickBooks connection refused: {problem}; nothing was stored. Start connecting again."
        )
    return row["slug"], row["email"]


def complete(
    conn: Connection,
    locks: ConnectionLocks,
    cipher: TokenCipher,
    oauth: IntuitOAuth,
    member: Membership,
    code: str | None,
    realm_id: str | None,
    error: str | None,
    redirect_uri: str,
) -> None:
    """Finish a connect whose state was consumed and whose user is (still) an admin."""
    org, actor = member.organization, member.email
    if error:
        if error == "access_denied":
            _audit(conn, "connect cancelled", audit.REFUSED, org, actor, reason="access_denied")
            raise ConnectCancelled(
                f"You cancelled connecting QuickBooks for {org.slug}; nothing was changed."
            )
        _audit(conn, "connect failed", audit.FAILED, org, actor, error=error)
        raise ConnectFailed(f"QuickBooks answered {error!r} instead of connecting {org.slug}.")
    if not code or not realm_id or not realm_id.isdigit() or len(realm_id) > 32:
        _audit(conn, "connect failed", audit.FAILED, org, actor, error="missing code or realmId")
        raise ConnectFailed(
            "QuickBooks' answer lacked the authorization code or the company id (realmId)."
        )
    try:
        tokens = oauth.exchange_code(code, redirect_uri)
    except TokenRejected as rejected:
        _audit(
            conn,
            "connect failed",
            audit.FAILED,
            org,
            actor,
            realm_id=realm_id,
            error=rejected.error,
        )
        raise ConnectFailed(
            f"QuickBooks refused the authorization code ({rejected.error}); start connecting again."
        ) from None
    except IntuitUnavailable as unavailable:
        _audit(
            conn,
            "connect failed",
            audit.FAILED,
            org,
            actor,
            realm_id=realm_id,
            error=str(unavailable),
        )
        raise
    try:
        company_name = oauth.company_name(tokens.access_token, realm_id)
    except IntuitUnavailable as unavailable:
        _audit(
            conn,
            "connect failed",
            audit.FAILED,
            org,
            actor,
            realm_id=realm_id,
            error=str(unavailable),
        )
        _revoke_quietly(conn, oauth, org, actor, tokens, realm_id)
        raise
    with locks.hold(org.slug):
        refusal = _store(conn, cipher, member, tokens, realm_id, company_name)
    if refusal is not None:
        _revoke_quietly(conn, oauth, org, actor, tokens, realm_id)
        raise ConnectionRefused(refusal)


def _store(
    conn: Connection,
    cipher: TokenCipher,
    member: Membership,
    tokens: TokenSet,
    realm_id: str,
    company_name: str,
) -> str | None:
    """Write the connection, or return why it is refused (nothing written but the audit)."""
    org, actor = member.organization, member.email
    now = to_text(utcnow())
    with transaction(conn):
        row = read_connection(conn, org.id)
        if row is not None and row["status"] != DISCONNECTED and row["realm_id"] != realm_id:
            current = row["company_name"] or f"company {row['realm_id']}"
            state = "" if row["status"] == CONNECTED else f" ({row['status'].replace('_', ' ')})"
            refusal = (
                f"{org.slug} is connected to {current}{state}; disconnect it first to connect "
                f"{company_name}"
            )
            audit.record(
                conn,
                "connect refused",
                audit.REFUSED,
                org_id=org.id,
                actor=actor,
                realm_id=realm_id,
                company_name=company_name,
                connected_realm_id=row["realm_id"],
                connected_company=current,
                reason="another company is connected",
            )
            return refusal
        renewal = row is not None and row["status"] == CONNECTED
        connected_at = row["connected_at"] if renewal else now
        connected_by = row["connected_by"] if renewal else member.user.id
        values = (
            realm_id,
            company_name,
            CONNECTED,
            cipher.encrypt(tokens.access_token),
            cipher.encrypt(tokens.refresh_token),
            to_text(tokens.access_expires_at),
            to_text(tokens.refresh_expires_at),
            to_text(tokens.refresh_hard_expires_at),
            connected_at,
            connected_by,
            now,
            now,
        )
        if row is None:
            conn.execute(
                "INSERT INTO quickbooks_connections (realm_id, company_name, status,"
                " access_token_encrypted, refresh_token_encrypted, access_expires_at,"
                " refresh_expires_at, refresh_hard_expires_at, connected_at, connected_by,"
                " last_refreshed_at, updated_at, org_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, org.id),
            )
        else:
            conn.execute(
                "UPDATE quickbooks_connections SET realm_id = ?, company_name = ?, status = ?,"
                " access_token_encrypted = ?, refresh_token_encrypted = ?,"
                " access_expires_at = ?, refresh_expires_at = ?, refresh_hard_expires_at = ?,"
                " connected_at = ?, connected_by = ?, last_refreshed_at = ?, updated_at = ?,"
                " status_reason = NULL, disconnected_at = NULL, disconnected_by = NULL"
                " WHERE org_id = ?",
                (*values, org.id),
            )
        if renewal:
            action = "reauthorized"
        elif row is not None and row["status"] != DISCONNECTED:
            action = "reconnected"
        else:
            action = "connected"
        events.record(
            conn,
            events.REAUTHORIZED if renewal else events.CONNECTED,
            org_id=org.id,
            realm_id=realm_id,
            previous_status=row["status"] if row is not None else None,
            previous_realm_id=row["realm_id"] if row is not None else None,
            company_name=company_name,
            actor=actor,
        )
        audit.record(
            conn,
            action,
            audit.OK,
            org_id=org.id,
            actor=actor,
            realm_id=realm_id,
            company_name=company_name,
            refresh_expires_at=to_text(tokens.refresh_expires_at),
            refresh_hard_expires_at=to_text(tokens.refresh_hard_expires_at),
        )
    return None


def disconnect(
    conn: Connection,
    locks: ConnectionLocks,
    cipher: TokenCipher,
    oauth: IntuitOAuth,
    member: Membership,
) -> None:
    """Revoke at Intuit, erase the tokens, mark disconnected; imported data is untouched."""
    org, actor = member.organization, member.email
    with locks.hold(org.slug):
        row = read_connection(conn, org.id)
        if row is None or row["status"] == DISCONNECTED:
            raise NotConnected(
                f"organization {org.slug} is not connected to QuickBooks; nothing to disconnect"
            )
        encrypted = row["refresh_token_encrypted"] or row["access_token_encrypted"]
        revoke_problem = None
        if encrypted:
            # Decrypt first: with a wrong QBP_SECRET_KEY this stops before anything changes.
            token = cipher.decrypt(encrypted)
            try:
                oauth.revoke(token)
            except IntuitUnavailable as unavailable:
                revoke_problem = str(unavailable)
        reason = None
        if revoke_problem:
            reason = (
                f"disconnected here, but QuickBooks did not confirm revoking the tokens "
                f"({revoke_problem}); the tokens were erased"
            )
        now = to_text(utcnow())
        with transaction(conn):
            conn.execute(
                "UPDATE quickbooks_connections SET status = ?, status_reason = ?,"
                " access_token_encrypted = NULL, refresh_token_encrypted = NULL,"
                " access_expires_at = NULL, refresh_expires_at = NULL,"
                " refresh_hard_expires_at = NULL, disconnected_at = ?, disconnected_by = ?,"
                " updated_at = ? WHERE org_id = ?",
                (DISCONNECTED, reason, now, member.user.id, now, org.id),
            )
            if revoke_problem:
                audit.record(
                    conn,
                    "revoke failed",
                    audit.FAILED,
                    org_id=org.id,
                    actor=actor,
                    realm_id=row["realm_id"],
                    error=revoke_problem,
                )
            events.record(
                conn, events.DISCONNECTED, org_id=org.id, realm_id=row["realm_id"], actor=actor
            )
            audit.record(
                conn,
                "disconnected",
                audit.OK,
                org_id=org.id,
                actor=actor,
                realm_id=row["realm_id"],
                company_name=row["company_name"],
                revoked_at_intuit=bool(encrypted) and not revoke_problem,
            )


def _audit(
    conn: Connection,
    action: str,
    outcome: str,
    org: Organization,
    actor: str,
    **detail: object,
) -> None:
    with transaction(conn):
        audit.record(conn, action, outcome, org_id=org.id, actor=actor, **detail)


def _revoke_quietly(
    conn: Connection,
    oauth: IntuitOAuth,
    org: Organization,
    actor: str,
    tokens: TokenSet,
    realm_id: str,
) -> None:
    """Revoke tokens we will not keep; a failure is audited, not raised."""
    try:
        oauth.revoke(tokens.refresh_token)
    except IntuitUnavailable as unavailable:
        _audit(
            conn,
            "revoke failed",
            audit.FAILED,
            org,
            actor,
            realm_id=realm_id,
            error=str(unavailable),
        )
    else:
        _audit(conn, "unused tokens revoked", audit.OK, org, actor, realm_id=realm_id)
