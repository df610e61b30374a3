"""Organizations, users, memberships and role checks, on an open control-DB connection."""

from __future__ import annotations

import re

from qb_pipeline.connections import audit, sign_in_throttle, web_sessions
from qb_pipeline.connections.db import (
    INTEGRITY_ERRORS,
    Connection,
    Row,
    from_text,
    to_text,
    transaction,
    utcnow,
)
from qb_pipeline.connections.errors import (
    AlreadyExists,
    InvalidInput,
    NotAMember,
    NotFound,
    PermissionDenied,
)
from qb_pipeline.connections.passwords import (
    check_password_rules,
    hash_password,
    needs_rehash,
    verify_password,
)
from qb_pipeline.connections.results import ROLES, Membership, Organization, User

SLUG_PATTERN = re.compile(r"[a-z0-9-]{2,40}")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+")
MAX_NAME_LENGTH = 200
# A slug someone tried (from a URL, so of any length) is kept this long in the audit log.
MAX_SLUG_IN_AUDIT = 80


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
        raise InvalidInput(
            f"organization slug {slug!r} is not allowed: use 2 to 40 characters from a-z, "
            "0-9 and '-'"
        )
    return slug


def normalize_email(email: str) -> str:
    cleaned = (email or "").strip().lower()
    if not EMAIL_PATTERN.fullmatch(cleaned) or len(cleaned) > 320:
        raise InvalidInput(f"{email!r} is not an email address")
    return cleaned


def account_key(email: str) -> str | None:
    """The normalized email, or None when the text is not an email address."""
    try:
        return normalize_email(email)
    except InvalidInput:
        return None


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def _org(row: Row) -> Organization:
    return Organization(
        id=row["id"], slug=row["slug"], name=row["name"], created_at=from_text(row["created_at"])
    )


def _user(row: Row) -> User:
    return User(id=row["id"], email=row["email"], created_at=from_text(row["created_at"]))


def create_org(conn: Connection, slug: str, name: str) -> Organization:
    """A new organization with default integration settings."""
    check_slug(slug)
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"organization name for {slug!r} must be 1 to {MAX_NAME_LENGTH} characters"
        )
    now = to_text(utcnow())
    try:
        with transaction(conn):
            cursor = conn.execute(
                "INSERT INTO organizations (slug, name, created_at) VALUES (?, ?, ?) RETURNING id",
                (slug, name, now),
            )
            org_id = cursor.fetchone()[0]
            # Defaults come from the column defaults in the migration, in one place.
            conn.execute("INSERT INTO integration_settings (org_id) VALUES (?)", (org_id,))
            audit.record(
                conn,
                "organization created",
                audit.OK,
                org_id=org_id,
                actor=None,
                slug=slug,
                name=name,
            )
    except INTEGRITY_ERRORS:
        raise AlreadyExists(f"organization {slug!r} exists already") from None
    return org_by_slug(conn, slug)


def find_org(conn: Connection, slug: str) -> Organization | None:
    row = conn.execute("SELECT * FROM organizations WHERE slug = ?", (slug,)).fetchone()
    return _org(row) if row else None


def org_by_slug(conn: Connection, slug: str) -> Organization:
    org = find_org(conn, slug)
    if org is None:
        raise NotFound(f"no organization {slug!r}; create it with: qb-pipeline orgs create {slug}")
    return org


def list_orgs(conn: Connection) -> list[Organization]:
    return [_org(row) for row in conn.execute("SELECT * FROM organizations ORDER BY slug")]


def find_user(conn: Connection, email: str) -> User | None:
    row = conn.execute(
        "SELECT id, email, created_at FROM users WHERE email = ?", (normalize_email(email),)
    ).fetchone()
    return _user(row) if row else None


def user_id_of(conn: Connection, email: str) -> int:
    user = find_user(conn, email)
    if user is None:
        raise NotFound(f"no user {email!r}")
    return user.id


def add_user(
    conn: Connection, email: str, org_slug: str, role: str, password: str | None
) -> Membership:
    """Create the user if new (a password is required then) and give them `role` in the org.

    For an existing user the password argument is ignored: adding someone to another
    organization never changes their password.
    """
    email = normalize_email(email)
    check_role(role)
    org = org_by_slug(conn, org_slug)
    new_hash = None
    if find_user(conn, email) is None:
        if not password:
            raise InvalidInput(f"a password is required to create the new user {email}")
        check_password_rules(password, email)
        new_hash = hash_password(password)  # slow on purpose: outside the write lock
    now = to_text(utcnow())
    with transaction(conn):
        if new_hash is not None:
            # A concurrent add of the same email wins; its password is kept.
            conn.execute(
                "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (email) DO NOTHING",
                (email, new_hash, now),
            )
        user_id = user_id_of(conn, email)
        previous = conn.execute(
            "SELECT role FROM memberships WHERE user_id = ? AND org_id = ?", (user_id, org.id)
        ).fetchone()
        conn.execute(
            "INSERT INTO memberships (user_id, org_id, role, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id, org_id) DO UPDATE SET role = excluded.role",
            (user_id, org.id, role, now),
        )
        action = "role changed" if previous else "member added"
        ended = 0
        if previous and previous["role"] != role:
            # Web sessions signed in under the old role end with it.
            ended = web_sessions.revoke_all(conn, user_id, web_sessions.ROLE_CHANGED, utcnow())
        audit.record(
            conn,
            action,
            audit.OK,
            org_id=org.id,
            actor=None,
            email=email,
            role=role,
            previous_role=previous["role"] if previous else None,
            **({"sessions_ended": ended} if ended else {}),
        )
    found = membership(conn, email, org_slug)
    assert found is not None
    return found


def remove_member(conn: Connection, email: str, org_slug: str) -> Membership:
    """Take the user out of the organization (the user and their other memberships stay)
    and end all of the user's web sessions; returns the membership that was removed."""
    org = org_by_slug(conn, org_slug)
    found = membership(conn, email, org_slug)
    if found is None:
        raise NotFound(f"{(email or '').strip().lower()} is not a member of {org_slug}")
    with transaction(conn):
        deleted = conn.execute(
            "DELETE FROM memberships WHERE user_id = ? AND org_id = ?", (found.user.id, org.id)
        ).rowcount
        if not deleted:  # removed meanwhile by someone else
            raise NotFound(f"{found.email} is not a member of {org_slug}")
        ended = web_sessions.revoke_all(
            conn, found.user.id, web_sessions.MEMBERSHIP_REMOVED, utcnow()
        )
        audit.record(
            conn,
            "member removed",
            audit.OK,
            org_id=org.id,
            actor=None,
            email=found.email,
            role=found.role,
            sessions_ended=ended,
        )
    return found


WRONG_CURRENT_PASSWORD = "the current password is not correct, so the password was not changed"


def set_password(conn: Connection, email: str, new: str) -> int:
    """The operator's reset (no old password): replace it, end all web sessions and clear the
    account's failed sign-ins; returns how many sessions ended."""
    cleaned = normalize_email(email)
    user = find_user(conn, cleaned)
    if user is None:
        raise NotFound(f"no user {cleaned!r}; add one with: qb-pipeline users add {cleaned}")
    return replace_password(conn, user, new, actor=None)


def replace_password(conn: Connection, user: User, new: str, actor: str | None) -> int:
    """Store a new password (after the rules), end all of the user's web sessions in the
    same transaction and audit it in each of their organizations; returns how many sessions
    ended. `actor` None is the operator, whose reset also clears the failed sign-ins."""
    check_password_rules(new or "", user.email)
    new_hash = hash_password(new)  # slow on purpose: outside the write lock
    with transaction(conn):
        conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (new_hash, user.id))
        ended = web_sessions.revoke_all(conn, user.id, web_sessions.PASSWORD_CHANGED, utcnow())
        if actor is None:
            sign_in_throttle.forget_account(conn, user.email)
        for org_id in org_ids_for_audit(conn, user.id):
            audit.record(
                conn,
                "password changed",
                audit.OK,
                org_id=org_id,
                actor=actor,
                email=user.email,
                sessions_ended=ended,
            )
    return ended


def org_ids_for_audit(conn: Connection, user_id: int | None) -> list[int | None]:
    """Where a user's own audit rows go: each of their organizations, or [None] (no
    organization) when they have none or are unknown."""
    if user_id is None:
        return [None]
    rows = conn.execute(
        "SELECT org_id FROM memberships WHERE user_id = ? ORDER BY org_id", (user_id,)
    ).fetchall()
    return [row["org_id"] for row in rows] or [None]


def authenticate(conn: Connection, email: str, password: str) -> User | None:
    """The user if the password matches; None otherwise, in about the same time either way."""
    try:
        cleaned = normalize_email(email)
    except InvalidInput:
        cleaned = ""
    row = conn.execute(
        "SELECT id, email, created_at, password_hash FROM users WHERE email = ?", (cleaned,)
    ).fetchone()
    if not verify_password(row["password_hash"] if row else None, password or ""):
        return None
    if row is None:
        return None
    if needs_rehash(row["password_hash"]):
        # Hashing parameters were raised since this hash was made: upgrade it now that the
        # password is at hand.
        with transaction(conn):
            conn.execute(
                "UPDATE users SET password_hash = ? WHERE id = ?",
                (hash_password(password), row["id"]),
            )
    return _user(row)


_MEMBERSHIP_SQL = (
    "SELECT u.id AS user_id, u.email, u.created_at AS user_created_at,"
    " o.id AS org_id, o.slug, o.name, o.created_at AS org_created_at, m.role"
    " FROM memberships m JOIN users u ON u.id = m.user_id"
    " JOIN organizations o ON o.id = m.org_id"
)


def _membership(row: Row) -> Membership:
    return Membership(
        user=User(row["user_id"], row["email"], from_text(row["user_created_at"])),
        organization=Organization(
            row["org_id"], row["slug"], row["name"], from_text(row["org_created_at"])
        ),
        role=row["role"],
    )


def membership(conn: Connection, email: str, org_slug: str) -> Membership | None:
    row = conn.execute(
        _MEMBERSHIP_SQL + " WHERE u.email = ? AND o.slug = ?",
        ((email or "").strip().lower(), org_slug),
    ).fetchone()
    return _membership(row) if row else None


def memberships(conn: Connection, email: str) -> list[Membership]:
    rows = conn.execute(
        _MEMBERSHIP_SQL + " WHERE u.email = ? ORDER BY o.slug", ((email or "").strip().lower(),)
    ).fetchall()
    return [_membership(row) for row in rows]


def require_role(conn: Connection, email: str, org_slug: str, role: str, action: str) -> Membership:
    """The membership if it allows `role`; else PermissionDenied, audited as forbidden.

    A member whose role is too low is refused and audited in that organization. Someone who
    is not a member gets NotAMember, with the same words, whether the organization exists or
    not, audited in the caller's own organizations (no organization when they have none)
    with the slug they tried: the answer cannot tell which organizations exist, and probes
    never write into another organization's log.
    """
    check_role(role)
    email = (email or "").strip().lower()
    org = find_org(conn, org_slug)
    found = membership(conn, email, org_slug) if org is not None else None
    if found is not None and found.allows(role):
        return found
    if found is not None:
        with transaction(conn):
            audit.record(
                conn,
                "forbidden",
                audit.FORBIDDEN,
                org_id=found.organization.id,
                actor=email,
                attempted=action,
                role_needed=role,
                role_held=found.role,
            )
        raise PermissionDenied(
            f"{email} may not {action} for {org_slug}: that needs the {role} role, "
            f"and {email} is {_article(found.role)} {found.role}"
        )
    caller = conn.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()
    with transaction(conn):
        for org_id in org_ids_for_audit(conn, caller["id"] if caller else None):
            audit.record(
                conn,
                "forbidden",
                audit.FORBIDDEN,
                org_id=org_id,
                actor=email,
                attempted=action,
                role_needed=role,
                role_held=None,
                organization=org_slug[:MAX_SLUG_IN_AUDIT],
            )
    raise NotAMember(
        f"{email} may not {action} for {org_slug}: that needs the {role} role, "
        f"and {email} is not a member of {org_slug}"
    )


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
