"""Webhook endpoints (added and removed by an organization's admins) and subscriptions (each
member's own), on an open control-DB connection.

Every check names the field and the value it refused. An endpoint's signing secret is made
here, returned once to the admin who added it and stored only encrypted (the caller passes
the cipher); listings never carry it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from qb_pipeline.connections import audit, orgs
from qb_pipeline.connections.db import Connection, Row, from_text, to_text, transaction, utcnow
from qb_pipeline.connections.errors import AlreadyExists, InvalidInput, NotFound

EMAIL, WEBHOOK = "email", "webhook"
CHANNELS = (EMAIL, WEBHOOK)
ALL_GOALS = "*"  # a subscription to every goal of the organization (no goal id can be '*')
ENDPOINT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")
MAX_URL_LENGTH = 2000
SECRET_PREFIX = "whsec_"
ENDPOINT_ACTION = "manage webhook endpoints"
SUBSCRIBE_ACTION = "manage alert subscriptions"


@dataclass(frozen=True)
class Endpoint:
    """A webhook endpoint as listings show it: never its secret."""

    id: int
    org_slug: str
    name: str
    url: str
    created_at: datetime
    created_by: str
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "org": self.org_slug,
            "name": self.name,
            "url": self.url,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "active": self.active,
        }


@dataclass(frozen=True)
class NewEndpoint:
    """An endpoint just added, with its signing secret: the only time the secret is shown."""

    endpoint: Endpoint
    secret: str = ""

    def __repr__(self) -> str:
        return f"NewEndpoint({self.endpoint!r}, secret=<hidden>)"


@dataclass(frozen=True)
class Subscription:
    id: int
    org_slug: str
    email: str
    goal_id: str  # ALL_GOALS for every goal
    channel: str
    endpoint_name: str | None

    @property
    def all_goals(self) -> bool:
        return self.goal_id == ALL_GOALS

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "org": self.org_slug,
            "email": self.email,
            "goal_id": None if self.all_goals else self.goal_id,
            "all_goals": self.all_goals,
            "channel": self.channel,
            "endpoint": self.endpoint_name,
        }


def check_url(url: str) -> str:
    """An http(s) URL with a host and no credentials in it (URLs show in the delivery log)."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError when not a number in range
    except ValueError:
        raise InvalidInput(f"url {text!r} is not a valid URL (its port is not a number)") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(
            f"url {text!r} is not allowed: a webhook URL starts with https:// or http://"
        )
    if not parts.hostname:
        raise InvalidInput(f"url {text!r} names no host")
    if parts.username or parts.password:
        raise InvalidInput(
            f"url {parts.scheme}://***@{parts.hostname} must not hold a user or password: "
            "the endpoint's signing secret authenticates the requests"
        )
    if len(text) > MAX_URL_LENGTH:
        raise InvalidInput(f"url is {len(text)} characters long; at most {MAX_URL_LENGTH}")
    return text


def check_endpoint_name(name: str) -> str:
    if not isinstance(name, str) or not ENDPOINT_NAME.fullmatch(name):
        raise InvalidInput(
            f"name {name!r} is not allowed: use 1 to 80 characters from a-z, 0-9, '-' and '_', "
            "starting with a letter or digit"
        )
    return name


def _endpoint(row: Row, slug: str) -> Endpoint:
    return Endpoint(
        id=row["id"],
        org_slug=slug,
        name=row["name"],
        url=row["url"],
        created_at=from_text(row["created_at"]),
        created_by=row["created_by"],
        disabled_at=from_text(row["disabled_at"]),
    )


def add_endpoint(
    conn: Connection,
    actor: str,
    org_slug: str,
    name: str,
    url: str,
    encrypt: Callable[[str], str],
) -> NewEndpoint:
    """Admins: a new endpoint with a generated signing secret (returned once)."""
    orgs.require_role(conn, actor, org_slug, "admin", ENDPOINT_ACTION)
    check_endpoint_name(name)
    url = check_url(url)
    org = orgs.org_by_slug(conn, org_slug)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction(conn):
        taken = conn.execute(
            "SELECT 1 FROM webhook_endpoints WHERE org_id = ? AND name = ?", (org.id, name)
        ).fetchone()
        if taken:
            raise AlreadyExists(f"name {name!r}: {org_slug} has a webhook endpoint of that name")
        cursor = conn.execute(
            "INSERT INTO webhook_endpoints (org_id, name, url, secret_encrypted, created_at,"
            " created_by) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (org.id, name, url, encrypt(secret), to_text(utcnow()), actor.strip().lower()),
        )
        endpoint_id = int(cursor.fetchone()[0])
        audit.record(
            conn, "webhook endpoint added", audit.OK, org_id=org.id, actor=actor, name=name, url=url
        )
    row = conn.execute("SELECT * FROM webhook_endpoints WHERE id = ?", (endpoint_id,)).fetchone()
    return NewEndpoint(_endpoint(row, org_slug), secret)


def remove_endpoint(conn: Connection, actor: str, org_slug: str, name: str) -> Endpoint:
    """Admins: disable an endpoint (kept for the delivery log); its subscriptions go."""
    orgs.require_role(conn, actor, org_slug, "admin", ENDPOINT_ACTION)
    found = _active_endpoint(conn, org_slug, name)
    with transaction(conn):
        conn.execute(
            "UPDATE webhook_endpoints SET disabled_at = ? WHERE id = ?",
            (to_text(utcnow()), found.id),
        )
        conn.execute("DELETE FROM alert_subscriptions WHERE endpoint_id = ?", (found.id,))
        audit.record(
            conn,
            "webhook endpoint removed",
            audit.OK,
            org_id=orgs.org_by_slug(conn, org_slug).id,
            actor=actor,
            name=name,
        )
    row = conn.execute("SELECT * FROM webhook_endpoints WHERE id = ?", (found.id,)).fetchone()
    return _endpoint(row, org_slug)


def endpoints(conn: Connection, actor: str, org_slug: str) -> list[Endpoint]:
    """Members: the organization's active endpoints (names and URLs, no secrets)."""
    orgs.require_role(conn, actor, org_slug, "viewer", "list webhook endpoints")
    org = orgs.org_by_slug(conn, org_slug)
    rows = conn.execute(
        "SELECT * FROM webhook_endpoints WHERE org_id = ? AND disabled_at IS NULL ORDER BY name",
        (org.id,),
    ).fetchall()
    return [_endpoint(row, org_slug) for row in rows]


def _active_endpoint(conn: Connection, org_slug: str, name: str) -> Endpoint:
    org = orgs.org_by_slug(conn, org_slug)
    row = conn.execute(
        "SELECT * FROM webhook_endpoints WHERE org_id = ? AND name = ? AND disabled_at IS NULL",
        (org.id, name),
    ).fetchone()
    if row is None:
        raise NotFound(f"endpoint {name!r}: {org_slug} has no active webhook endpoint of that name")
    return _endpoint(row, org_slug)


def subscribe(
    conn: Connection,
    actor: str,
    org_slug: str,
    goal_id: str | None,
    channel: str,
    endpoint_name: str | None,
    goal_exists: Callable[[str], bool],
) -> Subscription:
    """Members: subscribe themselves to one goal (or all, `goal_id` None) by a channel.
    Subscribing again to the same thing returns the subscription there is."""
    membership = orgs.require_role(conn, actor, org_slug, "viewer", SUBSCRIBE_ACTION)
    if channel not in CHANNELS:
        raise InvalidInput(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
    scope = ALL_GOALS if goal_id in (None, "", ALL_GOALS) else str(goal_id)
    if scope != ALL_GOALS and not goal_exists(scope):
        raise NotFound(f"goal {scope!r}: {org_slug} has no active goal with that id")
    endpoint_id = None
    if channel == WEBHOOK:
        if not endpoint_name:
            raise InvalidInput("endpoint is required for the webhook channel (an endpoint name)")
        endpoint_id = _active_endpoint(conn, org_slug, endpoint_name).id
    elif endpoint_name:
        raise InvalidInput(f"endpoint {endpoint_name!r} is only for the webhook channel")
    org_id, user_id = membership.organization.id, membership.user.id
    with transaction(conn):
        # Checked under the write lock, so two clicks cannot make two (NULL endpoint ids are
        # distinct to a UNIQUE constraint on both engines, so the database cannot say it).
        row = conn.execute(
            "SELECT id FROM alert_subscriptions WHERE org_id = ? AND user_id = ? AND goal_id = ?"
            " AND channel = ? AND coalesce(endpoint_id, 0) = ?",
            (org_id, user_id, scope, channel, endpoint_id or 0),
        ).fetchone()
        if row is None:
            cursor = conn.execute(
                "INSERT INTO alert_subscriptions (org_id, user_id, goal_id, channel, endpoint_id,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (org_id, user_id, scope, channel, endpoint_id, to_text(utcnow())),
            )
            row = cursor.fetchone()
            audit.record(
                conn,
                "alert subscribed",
                audit.OK,
                org_id=org_id,
                actor=actor,
                goal_id=scope,
                channel=channel,
                endpoint=endpoint_name,
            )
    return _subscription(conn, int(row[0]))


def unsubscribe(conn: Connection, actor: str, org_slug: str, subscription_id: int) -> Subscription:
    """Members: end one of their own subscriptions."""
    membership = orgs.require_role(conn, actor, org_slug, "viewer", SUBSCRIBE_ACTION)
    mine = [s for s in subscriptions(conn, actor, org_slug) if s.id == subscription_id]
    if not mine:
        raise NotFound(
            f"subscription {subscription_id!r}: {membership.email} has no such subscription in "
            f"{org_slug}"
        )
    with transaction(conn):
        conn.execute("DELETE FROM alert_subscriptions WHERE id = ?", (subscription_id,))
        audit.record(
            conn,
            "alert unsubscribed",
            audit.OK,
            org_id=membership.organization.id,
            actor=actor,
            goal_id=mine[0].goal_id,
            channel=mine[0].channel,
        )
    return mine[0]


_SUBSCRIPTION_SQL = (
    "SELECT s.id, o.slug, u.email, s.goal_id, s.channel, e.name AS endpoint_name"
    " FROM alert_subscriptions s JOIN organizations o ON o.id = s.org_id"
    " JOIN users u ON u.id = s.user_id"
    " LEFT JOIN webhook_endpoints e ON e.id = s.endpoint_id"
)


def _subscription(conn: Connection, subscription_id: int) -> Subscription:
    row = conn.execute(_SUBSCRIPTION_SQL + " WHERE s.id = ?", (subscription_id,)).fetchone()
    return Subscription(*tuple(row))


def subscriptions(conn: Connection, actor: str, org_slug: str) -> list[Subscription]:
    """Members: their own subscriptions in the organization."""
    membership = orgs.require_role(conn, actor, org_slug, "viewer", "list alert subscriptions")
    rows = conn.execute(
        _SUBSCRIPTION_SQL + " WHERE s.org_id = ? AND s.user_id = ? ORDER BY s.id",
        (membership.organization.id, membership.user.id),
    ).fetchall()
    return [Subscription(*tuple(row)) for row in rows]
