"""One digest per (organization, run): the changes the run's published goal values show, and
one planned delivery per recipient.

`record_run` does it all in one control-DB transaction: it compares the run's observations
with the stored ones (changes.detect), stores the new observations, writes the digest and a
pending delivery for each recipient whose subscriptions cover a changed goal. So a change is
consumed exactly once: a retried step of the same run finds its digest and plans nothing new;
a later run (a re-execution has a run id of its own) compares against what this run stored
and finds nothing changed. Recipients are read at that moment: a member removed from the
organization, or an endpoint removed, gets nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from qb_pipeline.alerts.changes import Change, Observation, detect
from qb_pipeline.alerts.subscriptions import ALL_GOALS, EMAIL, WEBHOOK
from qb_pipeline.connections.db import Connection, to_text, transaction, utcnow


@dataclass(frozen=True)
class Digest:
    id: int | None  # None: the run found no change, so there is no digest
    org_id: int
    run_id: str
    changes: list[Change]
    planned: int  # deliveries planned by this call (0 when the digest existed already)
    existed: bool = False


# Who hears of which goal: (channel, recipient, user id, endpoint id, goal id or '*').
RECIPIENTS_SQL = """
SELECT s.channel, u.email, u.id AS user_id, e.id AS endpoint_id, e.url, s.goal_id
FROM alert_subscriptions AS s
JOIN memberships AS m ON m.user_id = s.user_id AND m.org_id = s.org_id
JOIN users AS u ON u.id = s.user_id
LEFT JOIN webhook_endpoints AS e ON e.id = s.endpoint_id
WHERE s.org_id = ?
  AND (s.channel = 'email' OR e.disabled_at IS NULL)
ORDER BY s.id
"""


def delivery_key(org_slug: str, run_id: str, channel: str, recipient_id: int) -> str:
    """The idempotency key of one delivery: per (run, channel, recipient)."""
    return f"{org_slug}:{run_id}:{channel}:{recipient_id}"


def record_run(
    conn: Connection,
    org_id: int,
    org_slug: str,
    realm_id: str,
    run_id: str,
    observations: Mapping[str, Observation],
) -> Digest:
    """Detect the run's changes, store its observations, plan its deliveries (one
    transaction; see the module docstring)."""
    with transaction(conn):
        existing = conn.execute(
            "SELECT id, changes FROM alert_digests WHERE org_id = ? AND run_id = ?",
            (org_id, run_id),
        ).fetchone()
        if existing is not None:
            changes = [Change.from_dict(c) for c in json.loads(existing["changes"])]
            return Digest(existing["id"], org_id, run_id, changes, 0, existed=True)
        if _already_observed(conn, org_id, realm_id, run_id):
            # The same run again after it found nothing: nothing new to plan.
            return Digest(None, org_id, run_id, [], 0, existed=True)
        previous = {
            row["goal_id"]: json.loads(row["state"])
            for row in conn.execute(
                "SELECT goal_id, state FROM alert_goal_states WHERE org_id = ? AND realm_id = ?",
                (org_id, realm_id),
            )
        }
        changes = detect(previous, observations)
        now = to_text(utcnow())
        for goal_id, seen in observations.items():
            # Stored fields merge over the old ones, so a field a run cannot see is kept.
            merged = {**previous.get(goal_id, {}), **seen.fields}
            _store_state(conn, org_id, realm_id, goal_id, merged, now, run_id, goal_id in previous)
        if not changes:
            return Digest(None, org_id, run_id, [], 0)
        cursor = conn.execute(
            "INSERT INTO alert_digests (org_id, realm_id, run_id, created_at, changes)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (org_id, realm_id, run_id, now, json.dumps([c.to_dict() for c in changes])),
        )
        digest_id = int(cursor.fetchone()[0])
        planned = _plan_deliveries(conn, digest_id, org_id, org_slug, run_id, changes, now)
    return Digest(digest_id, org_id, run_id, changes, planned)


def _already_observed(conn: Connection, org_id: int, realm_id: str, run_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM alert_goal_states WHERE org_id = ? AND realm_id = ? AND run_id = ? LIMIT 1",
        (org_id, realm_id, run_id),
    ).fetchone()
    return row is not None


def _store_state(
    conn: Connection,
    org_id: int,
    realm_id: str,
    goal_id: str,
    state: dict,
    now: str,
    run_id: str,
    known: bool,
) -> None:
    text = json.dumps(state, sort_keys=True, default=str)
    if known:
        conn.execute(
            "UPDATE alert_goal_states SET state = ?, observed_at = ?, run_id = ?"
            " WHERE org_id = ? AND realm_id = ? AND goal_id = ?",
            (text, now, run_id, org_id, realm_id, goal_id),
        )
    else:
        conn.execute(
            "INSERT INTO alert_goal_states (org_id, realm_id, goal_id, state, observed_at, run_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (org_id, realm_id, goal_id, text, now, run_id),
        )


def _plan_deliveries(
    conn: Connection,
    digest_id: int,
    org_id: int,
    org_slug: str,
    run_id: str,
    changes: list[Change],
    now: str,
) -> int:
    """One pending delivery per recipient covering the changed goals its subscriptions name:
    a member's email address (all their email subscriptions together), or an endpoint (all
    webhook subscriptions to it together)."""
    changed = {c.goal_id for c in changes}
    wanted: dict[tuple[str, int], dict] = {}
    for row in conn.execute(RECIPIENTS_SQL, (org_id,)).fetchall():
        goals = changed if row["goal_id"] == ALL_GOALS else changed & {row["goal_id"]}
        if not goals:
            continue
        if row["channel"] == EMAIL:
            key = (EMAIL, row["user_id"])
            entry = {"recipient": row["email"], "user_id": row["user_id"], "endpoint_id": None}
        else:
            key = (WEBHOOK, row["endpoint_id"])
            entry = {"recipient": row["url"], "user_id": None, "endpoint_id": row["endpoint_id"]}
        wanted.setdefault(key, {**entry, "goals": set()})["goals"] |= goals
    planned = 0
    for (channel, recipient_id), entry in sorted(wanted.items()):
        # delivery_key is UNIQUE: were a digest ever planned twice, the database refuses it.
        conn.execute(
            "INSERT INTO alert_deliveries (digest_id, org_id, delivery_key, channel,"
            " recipient, user_id, endpoint_id, goal_ids, status, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
            (
                digest_id,
                org_id,
                delivery_key(org_slug, run_id, channel, recipient_id),
                channel,
                entry["recipient"],
                entry["user_id"],
                entry["endpoint_id"],
                json.dumps(sorted(entry["goals"])),
                now,
            ),
        )
        planned += 1
    return planned
