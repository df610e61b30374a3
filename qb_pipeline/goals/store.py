"""The goal store: every QuickBooks Goal of every organization, kept in the control DB.

Goals are data that people create at run time, not files in the deployed checkout: one row
per (organization, goal id) holds the current definition, and every change adds a version
(who, when, from where, which fields changed from what to what). Goals are archived and
restored, never deleted, so their values and history stay. Each change also writes a
`goal_changed` event in the same transaction (connections/events.py), which is how a goals
run gets asked for (the launcher submits one at once; the goal-changes sensor catches any
the launcher could not).

This module is data in, data out: it checks the store's own rules (an id is used once per
organization; only the versions a caller saw are changed; a goal managed by a goal file is
changed only by `goals apply`; archived goals are read-only until restored) and nothing
else. Who may change goals, whether the organization is connected and whether a definition
matches the company's data are the callers' to check first (see goals/editing.py).

The company a goal belongs to: a goal records the realm (QuickBooks company) its ids were
chosen in. When the organization's connected company changes (a reconnect to another
company after a disconnect), `reconcile_realm` moves goals that read only report lines to
the new company, and sends goals that name accounts, classes or departments by id to
`needs_review`: those ids may mean something else in the other company, so such a goal is
computed again only after an editor confirms or changes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from qb_pipeline.connections import events
from qb_pipeline.connections.db import (
    Connection,
    ControlDB,
    Row,
    control_db_at,
    from_text,
    open_db,
    to_text,
    transaction,
    utcnow,
)
from qb_pipeline.connections.errors import NotFound
from qb_pipeline.goals.definition import GoalDefinition

ACTIVE, ARCHIVED, NEEDS_REVIEW = "active", "archived", "needs_review"
STATES = (ACTIVE, ARCHIVED, NEEDS_REVIEW)
SOURCES = ("web", "api", "cli", "file", "system")
SYSTEM_ACTOR = "system"

CREATED, UPDATED, ARCHIVED_CHANGE, RESTORED = "created", "updated", "archived", "restored"
REVIEW_REQUIRED, CONFIRMED, REALM_CHANGED = "needs_review", "confirmed", "realm_changed"


class GoalStoreError(Exception):
    """A change the store refuses; `str(error)` is one sentence for a person."""


class GoalNotFound(GoalStoreError, LookupError):
    """The organization has no goal with that id."""


class GoalConflict(GoalStoreError):
    """The change does not fit the goal as stored (the id exists, another version was
    saved meanwhile, the goal is archived, or a goal file manages it)."""


@dataclass(frozen=True)
class FieldChange:
    """One field of a definition that a version changed (dotted path, JSON values)."""

    field: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class StoredGoal:
    """A goal as stored now."""

    org_slug: str
    goal_id: str
    definition: GoalDefinition
    state: str
    state_reason: str | None
    version: int
    realm_id: str | None
    managed_by: str | None
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None

    @property
    def is_active(self) -> bool:
        return self.state == ACTIVE

    @property
    def is_archived(self) -> bool:
        return self.state == ARCHIVED

    @property
    def needs_review(self) -> bool:
        return self.state == NEEDS_REVIEW

    @property
    def file_managed(self) -> bool:
        return self.managed_by is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (the API's representation)."""
        return {
            "org": self.org_slug,
            "id": self.goal_id,
            "state": self.state,
            "state_reason": self.state_reason,
            "version": self.version,
            "realm_id": self.realm_id,
            "managed_by": self.managed_by,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
            "definition": definition_data(self.definition),
        }


@dataclass(frozen=True)
class GoalVersion:
    """One entry of a goal's history."""

    version: int
    at: datetime
    actor: str
    source: str
    change: str
    state: str
    realm_id: str | None
    definition: GoalDefinition
    changes: list[FieldChange] = field(default_factory=list)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "source": self.source,
            "change": self.change,
            "state": self.state,
            "realm_id": self.realm_id,
            "changes": [c.to_dict() for c in self.changes],
            "note": self.note,
        }


@dataclass(frozen=True)
class GoalChange:
    """What a change did: the goal afterwards and the event that announces it (None when
    nothing changed, e.g. an update to the very same definition)."""

    goal: StoredGoal
    change: str | None
    event_id: int | None

    @property
    def changed(self) -> bool:
        return self.event_id is not None


def definition_data(definition: GoalDefinition) -> dict[str, Any]:
    """The definition as plain JSON data, unset options left out (as in goal files)."""
    return definition.model_dump(mode="json", exclude_none=True)


def diff(before: GoalDefinition | None, after: GoalDefinition) -> list[FieldChange]:
    """The fields that differ, as dotted paths (`target.value`), in field order."""
    old = _flatten(definition_data(before)) if before is not None else {}
    new = _flatten(definition_data(after))
    return [
        FieldChange(name, old.get(name), new.get(name))
        for name in dict.fromkeys([*new, *old])
        if old.get(name) != new.get(name)
    ]


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict) and data:
        flat: dict[str, Any] = {}
        for key, value in data.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): data}


def reads_company_ids(definition: GoalDefinition) -> list[str]:
    """The fields whose values are ids of the company's records (accounts, classes,
    departments): what another company's data could give another meaning."""
    fields = []
    tracks = definition.tracks
    if tracks.account is not None:
        fields.append("tracks.account.account_id")
    for name, item in tracks.formula.items.items() if tracks.formula else []:
        if item.account is not None:
            fields.append(f"tracks.formula.items.{name}.account.account_id")
    filters = definition.filters
    if filters is not None and filters.class_id is not None:
        fields.append("filters.class_id")
    if filters is not None and filters.department_id is not None:
        fields.append("filters.department_id")
    return fields


GOAL_COLUMNS = (
    "g.id, o.slug, g.goal_id, g.realm_id, g.state, g.state_reason, g.version, g.definition,"
    " g.managed_by, g.created_at, g.created_by, g.updated_at, g.updated_by"
)
GOALS_SQL = f"""
SELECT {GOAL_COLUMNS}
FROM goals AS g
JOIN organizations AS o ON o.id = g.org_id
WHERE o.slug = ?
"""


class GoalStore:
    """The goals of every organization in the control DB `db` (prepared and
    migrated by IntegrationService). Safe to share between threads and processes: each call
    opens its own connection and every change is one BEGIN IMMEDIATE transaction."""

    def __init__(self, db: ControlDB | Path) -> None:
        self.db = control_db_at(db)

    def __repr__(self) -> str:
        return f"GoalStore({str(self.db)!r})"

    # -- reading ----------------------------------------------------------------------------
    def list(self, org_slug: str, states: Iterable[str] | None = None) -> list[StoredGoal]:
        """The organization's goals (in `states`, when given), by id."""
        wanted = tuple(states) if states is not None else STATES
        with self._db() as conn:
            _org_id(conn, org_slug)
            rows = conn.execute(GOALS_SQL + " ORDER BY g.goal_id", (org_slug,)).fetchall()
        return [_goal(row) for row in rows if row["state"] in wanted]

    def find(self, org_slug: str, goal_id: str) -> StoredGoal | None:
        with self._db() as conn:
            _org_id(conn, org_slug)
            row = conn.execute(GOALS_SQL + " AND g.goal_id = ?", (org_slug, goal_id)).fetchone()
        return _goal(row) if row is not None else None

    def get(self, org_slug: str, goal_id: str) -> StoredGoal:
        """The goal, or GoalNotFound."""
        goal = self.find(org_slug, goal_id)
        if goal is None:
            raise GoalNotFound(f"{org_slug} has no goal {goal_id!r}")
        return goal

    def history(self, org_slug: str, goal_id: str) -> list[GoalVersion]:
        """Every version of the goal, oldest first."""
        with self._db() as conn:
            row_id = _row_of(conn, org_slug, goal_id)["id"]
            rows = conn.execute(
                "SELECT * FROM goal_versions WHERE goal_row_id = ? ORDER BY version", (row_id,)
            ).fetchall()
        return [_version(row) for row in rows]

    def file_managed(self) -> list[StoredGoal]:
        """Every organization's goals that a goal file manages (what `goals apply` may
        archive)."""
        with self._db() as conn:
            rows = conn.execute(
                f"SELECT {GOAL_COLUMNS} FROM goals AS g JOIN organizations AS o"
                " ON o.id = g.org_id WHERE g.managed_by IS NOT NULL ORDER BY o.slug, g.goal_id"
            ).fetchall()
        return [_goal(row) for row in rows]

    def computable(self, org_slug: str, realm_id: str | None) -> list[GoalDefinition]:
        """The definitions to compute for the company `realm_id`: active goals of that
        company (call reconcile_realm first when the company may have changed)."""
        with self._db() as conn:
            _org_id(conn, org_slug)
            rows = conn.execute(
                "SELECT g.definition FROM goals AS g JOIN organizations AS o ON o.id = g.org_id"
                " WHERE o.slug = ? AND g.state = ? AND (g.realm_id IS ? OR g.realm_id = ?)"
                " ORDER BY g.goal_id",
                (org_slug, ACTIVE, realm_id, realm_id),
            ).fetchall()
        return [GoalDefinition.model_validate_json(row["definition"]) for row in rows]

    # -- changing ---------------------------------------------------------------------------
    def create(
        self,
        definition: GoalDefinition,
        *,
        actor: str,
        source: str,
        realm_id: str | None,
        managed_by: str | None = None,
    ) -> GoalChange:
        """Store a new goal (version 1); GoalConflict if the organization has the id."""
        _check_source(source)
        now = to_text(utcnow())
        with self._db() as conn, transaction(conn):
            org_id = _org_id(conn, definition.organization)
            if _find_row(conn, definition.organization, definition.id) is not None:
                raise GoalConflict(
                    f"{definition.organization} already has a goal {definition.id!r}; "
                    "choose another id"
                )
            row_id = conn.execute(
                "INSERT INTO goals (org_id, goal_id, realm_id, state, version, definition,"
                " managed_by, created_at, created_by, updated_at, updated_by)"
                " VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    org_id,
                    definition.id,
                    realm_id,
                    ACTIVE,
                    _json(definition),
                    managed_by,
                    now,
                    actor,
                    now,
                    actor,
                ),
            ).fetchone()[0]
            return self._versioned(conn, row_id, CREATED, actor, source, [], None)

    def update(
        self,
        definition: GoalDefinition,
        *,
        actor: str,
        source: str,
        expected_version: int | None = None,
        realm_id: str | None = None,
        managed_by: str | None = None,
    ) -> GoalChange:
        """Replace the definition of an existing goal (a new version when it differs).

        `expected_version`: the version the caller edited; GoalConflict when another was
        saved meanwhile. A goal needing review becomes active again: the editor has seen it
        (`realm_id` then names the company it now belongs to). Archived goals are refused.
        """
        _check_source(source)
        with self._db() as conn, transaction(conn):
            row = _row_of(conn, definition.organization, definition.id)
            _check_editable(row, source, expected_version)
            if row["state"] == ARCHIVED:
                raise GoalConflict(
                    f"goal {definition.id!r} of {definition.organization} is archived; "
                    "restore it before changing it"
                )
            before = GoalDefinition.model_validate_json(row["definition"])
            changes = diff(before, definition)
            reviewed = row["state"] == NEEDS_REVIEW
            new_realm = realm_id if realm_id is not None else row["realm_id"]
            moved = source == "file" and managed_by != row["managed_by"]
            if not changes and not reviewed and new_realm == row["realm_id"] and not moved:
                return GoalChange(_goal(self._row(conn, row["id"])), None, None)
            conn.execute(
                "UPDATE goals SET definition = ?, state = ?, state_reason = NULL,"
                " realm_id = ?, managed_by = ? WHERE id = ?",
                (
                    _json(definition),
                    ACTIVE,
                    new_realm,
                    managed_by if source == "file" else row["managed_by"],
                    row["id"],
                ),
            )
            return self._versioned(conn, row["id"], UPDATED, actor, source, changes, None)

    def archive(
        self,
        org_slug: str,
        goal_id: str,
        *,
        actor: str,
        source: str,
        expected_version: int | None = None,
        note: str | None = None,
    ) -> GoalChange:
        """Archive the goal: no longer computed or listed as current; values and history
        kept. Archiving an archived goal changes nothing."""
        _check_source(source)
        with self._db() as conn, transaction(conn):
            row = _row_of(conn, org_slug, goal_id)
            _check_editable(row, source, expected_version)
            if row["state"] == ARCHIVED:
                return GoalChange(_goal(row), None, None)
            conn.execute(
                "UPDATE goals SET state = ?, state_reason = NULL WHERE id = ?",
                (ARCHIVED, row["id"]),
            )
            return self._versioned(conn, row["id"], ARCHIVED_CHANGE, actor, source, [], note)

    def restore(
        self,
        org_slug: str,
        goal_id: str,
        *,
        actor: str,
        source: str,
        realm_id: str | None,
        expected_version: int | None = None,
        definition: GoalDefinition | None = None,
        managed_by: str | None = None,
    ) -> GoalChange:
        """Make an archived goal current again, for the company `realm_id`. A goal that
        names ids of another company comes back as needs_review; `definition` (goals apply)
        restores it with that definition. Restoring a goal that is not archived changes
        nothing."""
        _check_source(source)
        with self._db() as conn, transaction(conn):
            row = _row_of(conn, org_slug, goal_id)
            _check_editable(row, source, expected_version)
            if row["state"] != ARCHIVED:
                return GoalChange(_goal(row), None, None)
            before = GoalDefinition.model_validate_json(row["definition"])
            after = definition or before
            state, reason = ACTIVE, None
            if row["realm_id"] not in (None, realm_id) and definition is None:
                state, reason = _review(after, row["realm_id"], realm_id)
            conn.execute(
                "UPDATE goals SET state = ?, state_reason = ?, definition = ?, realm_id = ?,"
                " managed_by = ? WHERE id = ?",
                (
                    state,
                    reason,
                    _json(after),
                    realm_id if state == ACTIVE else row["realm_id"],
                    managed_by if source == "file" else row["managed_by"],
                    row["id"],
                ),
            )
            changes = diff(before, after)
            return self._versioned(conn, row["id"], RESTORED, actor, source, changes, reason)

    def confirm(
        self,
        org_slug: str,
        goal_id: str,
        *,
        actor: str,
        source: str,
        realm_id: str | None,
        expected_version: int | None = None,
    ) -> GoalChange:
        """An editor confirms that a goal needing review means the same in the company
        `realm_id`: it becomes active for that company, unchanged otherwise."""
        _check_source(source)
        with self._db() as conn, transaction(conn):
            row = _row_of(conn, org_slug, goal_id)
            _check_editable(row, source, expected_version)
            if row["state"] != NEEDS_REVIEW:
                raise GoalConflict(
                    f"goal {goal_id!r} of {org_slug} does not need a review (it is "
                    f"{row['state'].replace('_', ' ')})"
                )
            conn.execute(
                "UPDATE goals SET state = ?, state_reason = NULL, realm_id = ? WHERE id = ?",
                (ACTIVE, realm_id, row["id"]),
            )
            return self._versioned(conn, row["id"], CONFIRMED, actor, source, [], None)

    def reconcile_realm(self, org_slug: str, realm_id: str | None) -> list[GoalChange]:
        """Bring the organization's current goals to the company `realm_id` (see the module
        docstring); returns what changed (nothing, when every goal is that company's)."""
        if realm_id is None:
            return []
        with self._db() as conn:
            _org_id(conn, org_slug)
            stale = conn.execute(
                GOALS_SQL + " AND g.state = ? AND (g.realm_id IS NULL OR g.realm_id <> ?)",
                (org_slug, ACTIVE, realm_id),
            ).fetchall()
        if not stale:
            return []
        changed = []
        with self._db() as conn, transaction(conn):
            for listed in stale:
                row = self._row(conn, listed["id"])
                if row["state"] != ACTIVE or row["realm_id"] == realm_id:
                    continue  # another process reconciled it meanwhile
                definition = GoalDefinition.model_validate_json(row["definition"])
                state, reason = ACTIVE, None
                if row["realm_id"] is not None:  # a goal of no company yet just adopts this one
                    state, reason = _review(definition, row["realm_id"], realm_id)
                if state == NEEDS_REVIEW:
                    conn.execute(
                        "UPDATE goals SET state = ?, state_reason = ? WHERE id = ?",
                        (NEEDS_REVIEW, reason, row["id"]),
                    )
                    change = REVIEW_REQUIRED
                else:
                    conn.execute(
                        "UPDATE goals SET realm_id = ? WHERE id = ?", (realm_id, row["id"])
                    )
                    change, reason = REALM_CHANGED, f"now computed for company {realm_id}"
                changed.append(
                    self._versioned(conn, row["id"], change, SYSTEM_ACTOR, "system", [], reason)
                )
        return changed

    # -- internals --------------------------------------------------------------------------
    def _db(self) -> Any:
        return open_db(self.db)

    def _row(self, conn: Connection, row_id: int) -> Row:
        return conn.execute(
            f"SELECT {GOAL_COLUMNS} FROM goals AS g JOIN organizations AS o ON o.id = g.org_id"
            " WHERE g.id = ?",
            (row_id,),
        ).fetchone()

    def _versioned(
        self,
        conn: Connection,
        row_id: int,
        change: str,
        actor: str,
        source: str,
        changes: list[FieldChange],
        note: str | None,
    ) -> GoalChange:
        """After the goal row changed: bump its version, write the version and the event."""
        now = to_text(utcnow())
        conn.execute(
            "UPDATE goals SET version = version + (CASE WHEN ? = 'created' THEN 0 ELSE 1 END),"
            " updated_at = ?, updated_by = ? WHERE id = ?",
            (change, now, actor, row_id),
        )
        row = self._row(conn, row_id)
        conn.execute(
            "INSERT INTO goal_versions (goal_row_id, version, at, actor, source, change, state,"
            " realm_id, definition, changes, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row_id,
                row["version"],
                now,
                actor,
                source,
                change,
                row["state"],
                row["realm_id"],
                row["definition"],
                json.dumps([c.to_dict() for c in changes], default=str),
                note,
            ),
        )
        org_id = conn.execute("SELECT org_id FROM goals WHERE id = ?", (row_id,)).fetchone()[0]
        event_id = events.record(
            conn,
            events.GOAL_CHANGED,
            org_id=org_id,
            realm_id=row["realm_id"],
            goal_id=row["goal_id"],
            change=change,
            version=row["version"],
            state=row["state"],
            source=source,
        )
        return GoalChange(_goal(row), change, event_id)


def _review(
    definition: GoalDefinition, old_realm: str | None, new_realm: str | None
) -> tuple[str, str | None]:
    """needs_review (and why) for a goal naming ids of company `old_realm` now that the
    organization is connected to `new_realm`; active when it names none."""
    fields = reads_company_ids(definition)
    if not fields:
        return ACTIVE, None
    return NEEDS_REVIEW, (
        f"the organization is now connected to another QuickBooks company ({new_realm}); "
        f"{', '.join(fields)} named records of company {old_realm}. Confirm the goal if the "
        "ids mean the same here, or change them"
    )


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"source {source!r} is not one of {', '.join(SOURCES)}")


def _check_editable(row: Row, source: str, expected_version: int | None) -> None:
    if row["managed_by"] is not None and source not in ("file", "system"):
        raise GoalConflict(
            f"goal {row['goal_id']!r} is managed by the goal file {row['managed_by']}; "
            "change the file and run `qb-pipeline goals apply`"
        )
    if expected_version is not None and expected_version != row["version"]:
        raise GoalConflict(
            f"goal {row['goal_id']!r} was changed meanwhile (version {row['version']} by "
            f"{row['updated_by'] or 'unknown'}; you edited version {expected_version}); "
            "reload it and make your change again"
        )


def _org_id(conn: Connection, org_slug: str) -> int:
    row = conn.execute("SELECT id FROM organizations WHERE slug = ?", (org_slug,)).fetchone()
    if row is None:
        raise NotFound(f"no organization {org_slug!r}")
    return int(row["id"])


def _find_row(conn: Connection, org_slug: str, goal_id: str) -> Row | None:
    return conn.execute(GOALS_SQL + " AND g.goal_id = ?", (org_slug, goal_id)).fetchone()


def _row_of(conn: Connection, org_slug: str, goal_id: str) -> Row:
    _org_id(conn, org_slug)
    row = _find_row(conn, org_slug, goal_id)
    if row is None:
        raise GoalNotFound(f"{org_slug} has no goal {goal_id!r}")
    return row


def _json(definition: GoalDefinition) -> str:
    return definition.model_dump_json(exclude_none=True)


def _goal(row: Row) -> StoredGoal:
    return StoredGoal(
        org_slug=row["slug"],
        goal_id=row["goal_id"],
        definition=GoalDefinition.model_validate_json(row["definition"]),
        state=row["state"],
        state_reason=row["state_reason"],
        version=row["version"],
        realm_id=row["realm_id"],
        managed_by=row["managed_by"],
        created_at=from_text(row["created_at"]),
        created_by=row["created_by"],
        updated_at=from_text(row["updated_at"]),
        updated_by=row["updated_by"],
    )


def _version(row: Row) -> GoalVersion:
    return GoalVersion(
        version=row["version"],
        at=from_text(row["at"]),
        actor=row["actor"],
        source=row["source"],
        change=row["change"],
        state=row["state"],
        realm_id=row["realm_id"],
        definition=GoalDefinition.model_validate_json(row["definition"]),
        changes=[FieldChange(**c) for c in json.loads(row["changes"])],
        note=row["note"],
    )


__all__ = [
    "ACTIVE",
    "ARCHIVED",
    "NEEDS_REVIEW",
    "STATES",
    "FieldChange",
    "GoalChange",
    "GoalConflict",
    "GoalNotFound",
    "GoalStore",
    "GoalStoreError",
    "GoalVersion",
    "StoredGoal",
    "definition_data",
    "diff",
    "reads_company_ids",
]
