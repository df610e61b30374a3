"""Personal access tokens: how scripts call the JSON API (browsers use their session).

A token is `qbp_` followed by 43 random URL-safe characters (256 bits). It is shown once,
when it is created, and stored only as its SHA-256: a leaked control DB gives nobody a
token. A token belongs to one user in one organization and acts with that user's current
role there, so a user demoted to viewer can no longer change goals with an old token, and a
user removed from the organization cannot use one at all. Tokens may expire, are revoked
(by their owner or an admin of the organization) rather than deleted, and record when they
were last used (at most once a minute, so busy scripts do not queue writers on the DB).

SHA-256 without a salt is enough here, unlike for passwords: the token is random and long,
so there is nothing to guess, and a plain hash lets a request find its token with one
indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from qb_pipeline.connections import audit
from qb_pipeline.connections.db import Connection, Row, from_text, to_text, transaction, utcnow
from qb_pipeline.connections.errors import (
    IntegrationError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from qb_pipeline.connections.orgs import membership as find_membership
from qb_pipeline.connections.results import Membership

TOKEN_PREFIX = "qbp_"
PREFIX_SHOWN = 12  # characters of a token kept in clear to tell tokens apart ("qbp_Ab12Cd34")
MAX_NAME_LENGTH = 200
MAX_EXPIRY_DAYS = 3650
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenRejected(IntegrationError):
    """The bearer token is unknown, revoked, expired, or its user is no longer a member of
    its organization (HTTP 401). The message never contains the token."""


@dataclass(frozen=True)
class AccessTokenInfo:
    """A token as lists show it: everything but the token itself."""

    id: int
    name: str
    prefix: str
    email: str
    org_slug: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    def state(self, now: datetime) -> str:
        """active, revoked or expired."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "user": self.email,
            "org": self.org_slug,
            "state": self.state(now or utcnow()),
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "last_used_at": iso(self.last_used_at),
            "revoked_at": iso(self.revoked_at),
            "revoked_by": self.revoked_by,
        }


@dataclass(frozen=True, repr=False)
class NewAccessToken:
    """A token just created: `token` is the only time the secret exists outside its owner."""

    info: AccessTokenInfo
    token: str

    def __repr__(self) -> str:
        return f"NewAccessToken(info={self.info!r}, token=<hidden>)"

    __str__ = __repr__


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX) and 20 <= len(value) <= 200


_INFO_SQL = """
SELECT t.id, t.name, t.prefix, u.email, o.slug, t.created_at, t.expires_at, t.last_used_at,
       t.revoked_at, t.revoked_by, t.token_hash, t.user_id, t.org_id
FROM access_tokens AS t
JOIN users AS u ON u.id = t.user_id
JOIN organizations AS o ON o.id = t.org_id
"""


def _info(row: Row) -> AccessTokenInfo:
    return AccessTokenInfo(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        email=row["email"],
        org_slug=row["slug"],
        created_at=from_text(row["created_at"]),
        expires_at=from_text(row["expires_at"]),
        last_used_at=from_text(row["last_used_at"]),
        revoked_at=from_text(row["revoked_at"]),
        revoked_by=row["revoked_by"],
    )


def create(
    conn: Connection,
    member: Membership,
    name: str,
    expires_in_days: int | None,
    now: datetime | None = None,
) -> NewAccessToken:
    """A new token for `member` (any role: a viewer's token reads only)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"a token needs a name of 1 to {MAX_NAME_LENGTH} characters")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise InvalidInput(
            f"a token expires after 1 to {MAX_EXPIRY_DAYS} days, not {expires_in_days}"
        )
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = now + timedelta(days=expires_in_days) if expires_in_days is not None else None
    with transaction(conn):
        token_id = conn.execute(
            "INSERT INTO access_tokens (token_hash, prefix, user_id, org_id, name, created_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                token_hash(token),
                token[:PREFIX_SHOWN],
                member.user.id,
                member.organization.id,
                name,
                to_text(now),
                to_text(expires),
            ),
        ).fetchone()[0]
        audit.record(
            conn,
            "access token created",
            audit.OK,
            org_id=member.organization.id,
            actor=member.email,
            token_id=token_id,
            name=name,
            expires_at=to_text(expires),
        )
    return NewAccessToken(get(conn, member.org_slug, token_id), token)


def get(conn: Connection, org_slug: str, token_id: int) -> AccessTokenInfo:
    row = conn.execute(
        _INFO_SQL + " WHERE o.slug = ? AND t.id = ?", (org_slug, token_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"{org_slug} has no access token {token_id}")
    return _info(row)


def listed(conn: Connection, org_slug: str, email: str | None = None) -> list[AccessTokenInfo]:
    """The organization's tokens (of one user, when `email` is given), newest first."""
    sql = _INFO_SQL + " WHERE o.slug = ?"
    params: tuple[Any, ...] = (org_slug,)
    if email is not None:
        sql += " AND u.email = ?"
        params += ((email or "").strip().lower(),)
    rows = conn.execute(sql + " ORDER BY t.id DESC", params).fetchall()
    return [_info(row) for row in rows]


def revoke(
    conn: Connection,
    actor: Membership,
    token_id: int,
    now: datetime | None = None,
) -> AccessTokenInfo:
    """Revoke a token of the organization: its owner may, and so may an admin. Revoking a
    revoked token changes nothing."""
    token = get(conn, actor.org_slug, token_id)
    if token.email != actor.email and not actor.allows("admin"):
        with transaction(conn):
            audit.record(
                conn,
                "forbidden",
                audit.FORBIDDEN,
                org_id=actor.organization.id,
                actor=actor.email,
                attempted="revoke another user's access token",
                token_id=token_id,
            )
        raise PermissionDenied(
            f"{actor.email} may not revoke access token {token_id} of {token.email}: only "
            f"its owner or an admin of {actor.org_slug} may"
        )
    if token.revoked_at is not None:
        return token
    moment = to_text(now or utcnow())
    with transaction(conn):
        conn.execute(
            "UPDATE access_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?",
            (moment, actor.email, token_id),
        )
        audit.record(
            conn,
            "access token revoked",
            audit.OK,
            org_id=actor.organization.id,
            actor=actor.email,
            token_id=token_id,
            owner=token.email,
        )
    return get(conn, actor.org_slug, token_id)


def authenticate(
    conn: Connection, token: str, now: datetime | None = None
) -> tuple[AccessTokenInfo, Membership]:
    """The token's record and its user's current membership of its organization, or
    TokenRejected saying why (never echoing the token)."""
    now = now or utcnow()
    if not looks_like_token(token):
        raise TokenRejected("the access token is not valid: it is not a qb-goals token")
    digest = token_hash(token)
    row = conn.execute(_INFO_SQL + " WHERE t.token_hash = ?", (digest,)).fetchone()
    # The lookup is by hash already; the comparison guards against a collation surprise.
    if row is None or not hmac.compare_digest(row["token_hash"], digest):
        raise TokenRejected("the access token is not valid: no such token")
    info = _info(row)
    if info.revoked_at is not None:
        raise TokenRejected(
            f"the access token {info.prefix}… was revoked on {info.revoked_at:%Y-%m-%d}"
        )
    if info.expires_at is not None and info.expires_at <= now:
        raise TokenRejected(
            f"the access token {info.prefix}… expired on {info.expires_at:%Y-%m-%d}"
        )
    member = find_membership(conn, info.email, info.org_slug)
    if member is None:
        raise TokenRejected(
            f"the access token {info.prefix}… belongs to {info.email}, who is no longer a "
            f"member of {info.org_slug}"
        )
    if info.last_used_at is None or now - info.last_used_at >= LAST_USED_RESOLUTION:
        with transaction(conn):
            conn.execute(
                "UPDATE access_tokens SET last_used_at = ? WHERE id = ?", (to_text(now), info.id)
            )
    return info, member


__all__ = [
    "TOKEN_PREFIX",
    "AccessTokenInfo",
    "NewAccessToken",
    "TokenRejected",
    "authenticate",
    "create",
    "get",
    "listed",
    "revoke",
    "token_hash",
]
