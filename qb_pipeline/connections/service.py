"""IntegrationService: the one facade the web app, the CLI and the pipeline use.

Every method opens its own short-lived control-DB connection, so one service object can
be shared by threads; several processes may use the same QBP_HOME at once (refreshes are
serialized by the organization's lock, writes by SQLite's).

Roles are checked here, not by callers: connect, disconnect and settings changes need
`admin`; a refusal raises PermissionDenied (HTTP 403 in the web app) after auditing it, and
writes nothing else. The CLI acts as the user named by `--as` without a password: it trusts
the local operator, who can read QBP_HOME anyway, but the user's role still applies.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from qb_pipeline.config import Settings
from qb_pipeline.connections import (
    access_tokens,
    audit,
    connect,
    events,
    integration_settings,
    orgs,
    sign_in_throttle,
    sync_log,
    sync_requests,
    tokens,
    web_sessions,
)
from qb_pipeline.connections.crypto import cipher_from_settings
from qb_pipeline.connections.db import (
    Connection,
    control_db_of,
    open_db,
    prepare,
    transaction,
    utcnow,
)
from qb_pipeline.connections.errors import InvalidInput, NotConnected, SignInThrottled
from qb_pipeline.connections.locks import ConnectionLocks
from qb_pipeline.connections.oauth_flow import IntuitOAuth
from qb_pipeline.connections.results import (
    CONNECTED,
    DISCONNECTED,
    NOT_CONNECTED,
    AccessToken,
    AuditEntry,
    ConnectionStatus,
    IntegrationSettings,
    Membership,
    Organization,
    SyncRun,
    User,
)
from qb_pipeline.connections.status import read_status

ADMIN = "admin"
EDITOR = "editor"
SETTINGS_ACTION = "change the QuickBooks integration settings"
GOALS_ACTION = "change goals"
SYNC_ACTION = "sync QuickBooks now"


class IntegrationService:
    """Organizations, users, roles and the QuickBooks connection of each organization."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] | None = None) -> None:
        """Open (creating QBP_HOME and the control DB if needed) and migrate the control DB.

        `clock` (default: the current UTC time) is what web sessions and the sign-in
        throttle measure time with; tests pass one they can move.

        Raises ConfigError when QBP_SECRET_KEY is missing or malformed, SecretKeyError when
        it cannot decrypt tokens already stored.
        """
        self.config = settings
        self.clock = clock or utcnow
        self.home = settings.home
        self.db = control_db_of(settings)
        # The SQLite file (tests and tools open it directly); meaningless on Postgres.
        self.db_path = settings.control_db_path
        self._cipher = cipher_from_settings(settings)
        self.home.mkdir(parents=True, exist_ok=True)
        self.applied_migrations = prepare(self.db)
        self._locks = ConnectionLocks(self.db, self.home)
        self._oauth = IntuitOAuth(settings)
        self._check_secret_key()

    def __repr__(self) -> str:
        return f"IntegrationService(home={str(self.home)!r})"

    def _db(self) -> AbstractContextManager[Connection]:
        return open_db(self.db)

    def _check_secret_key(self) -> None:
        """Fail at start, not at the first refresh, when the key cannot read stored tokens."""
        with self._db() as conn:
            row = conn.execute(
                "SELECT refresh_token_encrypted FROM quickbooks_connections"
                " WHERE refresh_token_encrypted IS NOT NULL ORDER BY updated_at DESC LIMIT 1"
            ).fetchone()
        if row is not None:
            self._cipher.decrypt(row["refresh_token_encrypted"])

    # -- organizations, users, roles -----------------------------------------------------
    def create_org(self, slug: str, name: str) -> Organization:
        """A new organization (slug: 2-40 of a-z, 0-9, '-') with default settings."""
        with self._db() as conn:
            return orgs.create_org(conn, slug, name)

    def get_org(self, slug: str) -> Organization:
        """The organization, or NotFound."""
        with self._db() as conn:
            return orgs.org_by_slug(conn, slug)

    def list_orgs(self) -> list[Organization]:
        with self._db() as conn:
            return orgs.list_orgs(conn)

    def add_user(
        self, email: str, org_slug: str, role: str, password: str | None = None
    ) -> Membership:
        """Create the user if new (password required then, 8+ characters) and give them
        `role` in the organization; for an existing user, add or change the membership."""
        with self._db() as conn:
            return orgs.add_user(conn, email, org_slug, role, password)

    def find_user(self, email: str) -> User | None:
        with self._db() as conn:
            return orgs.find_user(conn, email)

    def authenticate(self, email: str, password: str) -> User | None:
        """The user when the password matches, else None (same cost for unknown emails).
        Not throttled: sign-in pages use `sign_in`."""
        with self._db() as conn:
            return orgs.authenticate(conn, email, password)

    def sign_in(self, email: str, password: str, client_address: str | None) -> User | None:
        """`authenticate` behind the sign-in throttle (see sign_in_throttle.py): the user, or
        None for a wrong email or password; SignInThrottled, without checking the password,
        while the account or the client address must wait. A throttled attempt is audited
        in each of the account's organizations (no organization for an unknown account)."""
        account = orgs.account_key(email)
        with self._db() as conn:
            attempt = sign_in_throttle.begin_attempt(conn, account, client_address, self.clock())
            if isinstance(attempt, sign_in_throttle.Refusal):
                self._audit_throttled(conn, account, client_address, attempt)
                raise SignInThrottled(attempt.retry_after_seconds)
            user = orgs.authenticate(conn, email, password)
            if user is not None:
                sign_in_throttle.succeeded(conn, account, attempt)
            return user

    def _audit_throttled(
        self,
        conn: Connection,
        account: str | None,
        client_address: str | None,
        refusal: sign_in_throttle.Refusal,
    ) -> None:
        user = orgs.find_user(conn, account) if account else None
        with transaction(conn):
            for org_id in orgs.org_ids_for_audit(conn, user.id if user else None):
                audit.record(
                    conn,
                    "sign-in throttled",
                    audit.REFUSED,
                    org_id=org_id,
                    actor=account,
                    client=client_address,
                    limit=refusal.limit,
                    failures=refusal.failures,
                    retry_after_s=refusal.retry_after_seconds,
                )

    def change_password(
        self, email: str, old: str, new: str, client_address: str | None = None
    ) -> int:
        """Replace the user's password (8+ characters) when `old` is the current one, and end
        all of the user's web sessions; returns how many ended. A wrong `old` is
        InvalidInput and counts as a failed sign-in (the same throttle applies, so this is no
        way around it: SignInThrottled while it must wait)."""
        account = orgs.account_key(email)
        with self._db() as conn:
            attempt = sign_in_throttle.begin_attempt(conn, account, client_address, self.clock())
            if isinstance(attempt, sign_in_throttle.Refusal):
                self._audit_throttled(conn, account, client_address, attempt)
                raise SignInThrottled(attempt.retry_after_seconds)
            user = orgs.authenticate(conn, email, old)
            if user is None:  # the attempt stays counted as a failure
                raise InvalidInput(orgs.WRONG_CURRENT_PASSWORD)
            sign_in_throttle.succeeded(conn, account, attempt)
            return orgs.replace_password(conn, user, new, actor=user.email)

    def set_password(self, email: str, new: str) -> int:
        """The operator's reset (the CLI): a new password (8+ characters) without the old
        one; ends all of the user's web sessions and clears the account's failed sign-ins.
        Returns how many sessions ended."""
        with self._db() as conn:
            return orgs.set_password(conn, email, new)

    def remove_member(self, email: str, org_slug: str) -> Membership:
        """Take the user out of the organization and end all of the user's web sessions."""
        with self._db() as conn:
            return orgs.remove_member(conn, email, org_slug)

    # -- web sessions (the cookie holds only the id; see web_sessions.py) ---------------
    def start_web_session(self, email: str) -> str:
        """A new session for the user; its id, to be given to the browser and nowhere else."""
        with self._db() as conn:
            return web_sessions.start(conn, orgs.user_id_of(conn, email), self.clock())

    def web_session_user(self, session_id: str) -> str | None:
        """The email of the session's user while the session is live, else None."""
        with self._db() as conn:
            return web_sessions.user_email(conn, session_id, self.clock())

    def end_web_session(self, session_id: str) -> None:
        """Sign-out: the session id no longer signs anyone in."""
        with self._db() as conn:
            web_sessions.revoke(conn, session_id, web_sessions.SIGNED_OUT, self.clock())

    def membership(self, email: str, org_slug: str) -> Membership | None:
        with self._db() as conn:
            return orgs.membership(conn, email, org_slug)

    def memberships(self, email: str) -> list[Membership]:
        with self._db() as conn:
            return orgs.memberships(conn, email)

    def require_role(self, email: str, org_slug: str, role: str, action: str) -> Membership:
        """The membership if its role includes `role`; else PermissionDenied (audited), or
        its subclass NotAMember, the same whether the organization exists or not."""
        with self._db() as conn:
            return orgs.require_role(conn, email, org_slug, role, action)

    def goal_editor(
        self,
        email: str,
        org_slug: str,
        *,
        action: str = GOALS_ACTION,
        needs_connection: bool = True,
    ) -> tuple[Membership, ConnectionStatus]:
        """The gate in front of every goal change (web, API, CLI): the user is an editor or
        admin of the organization (else PermissionDenied, audited) and, unless
        `needs_connection` is False (archiving), the organization has a QuickBooks company
        to take the goal's data from (else NotConnected). Returns the membership and the
        connection, whose realm is the company the goal belongs to."""
        member = self.require_role(email, org_slug, EDITOR, action)
        status = self.status(org_slug)
        if needs_connection and status.status in (NOT_CONNECTED, DISCONNECTED):
            raise NotConnected(
                f"{org_slug} has no QuickBooks connection ({status.status.replace('_', ' ')}); "
                "an admin connects it on the integrations page or with "
                f"`qb-pipeline connect --org {org_slug} --as EMAIL`"
            )
        return member, status

    # -- the connection ------------------------------------------------------------------
    def begin_connect(self, org_slug: str, actor_email: str, redirect_uri: str) -> str:
        """Intuit's authorize URL for an admin of the organization (accounting scope only,
        a fresh single-use state valid 10 minutes)."""
        with self._db() as conn:
            member = orgs.require_role(conn, actor_email, org_slug, ADMIN, connect.CONNECT_ACTION)
            return connect.begin(conn, self._oauth, member, redirect_uri)

    def complete_connect(
        self,
        state: str,
        code: str | None,
        realm_id: str | None,
        error: str | None,
        redirect_uri: str,
    ) -> ConnectionStatus:
        """Handle the OAuth callback; see connect.py for every refusal."""
        with self._db() as conn:
            org_slug, email = connect.consume_state(conn, state, redirect_uri)
            # The role is checked again: it may have changed while the user was at Intuit.
            member = orgs.require_role(conn, email, org_slug, ADMIN, connect.CONNECT_ACTION)
            connect.complete(
                conn,
                self._locks,
                self._cipher,
                self._oauth,
                member,
                code,
                realm_id,
                error,
                redirect_uri,
            )
            return read_status(conn, member.organization)

    def disconnect(self, org_slug: str, actor_email: str) -> ConnectionStatus:
        """Revoke at Intuit (failure audited, not fatal), erase the tokens, mark disconnected."""
        with self._db() as conn:
            member = orgs.require_role(
                conn, actor_email, org_slug, ADMIN, connect.DISCONNECT_ACTION
            )
            connect.disconnect(conn, self._locks, self._cipher, self._oauth, member)
            return read_status(conn, member.organization)

    def status(self, org_slug: str) -> ConnectionStatus:
        """What the integration page shows; no token in it."""
        with self._db() as conn:
            return read_status(conn, orgs.org_by_slug(conn, org_slug))

    def access_token(
        self,
        org_slug: str,
        *,
        min_valid: timedelta | None = None,
        rejected: str | None = None,
    ) -> AccessToken:
        """A valid access token for the organization's company (see tokens.py).

        Raises NotConnected, ReauthorizationRequired, IntuitUnavailable or RefreshFailed.
        """
        org = self.get_org(org_slug)
        return tokens.access_token(
            self.db,
            self._locks,
            self._cipher,
            self._oauth,
            org,
            min_valid=tokens.REFRESH_MARGIN if min_valid is None else min_valid,
            rejected=rejected,
        )

    # -- sync log and datasets (the pipeline writes them) ----------------------------------
    def record_sync(
        self,
        org_slug: str,
        realm_id: str | None,
        started_at: datetime,
        finished_at: datetime | None,
        status: str,
        message: str | None = None,
        rows: dict[str, int] | None = None,
        requests: int | None = None,
        run_id: int | None = None,
    ) -> SyncRun:
        """Insert a sync run (or update `run_id`); status: running, succeeded, failed,
        partial or cancelled."""
        with self._db() as conn:
            org = orgs.org_by_slug(conn, org_slug)
            return sync_log.record(
                conn,
                org.id,
                realm_id,
                started_at,
                finished_at,
                status,
                message,
                rows,
                requests,
                run_id,
            )

    def record_datasets(
        self, org_slug: str, realm_id: str, row_counts: dict[str, int | None]
    ) -> None:
        """Record (upsert) the datasets imported for the company `realm_id`."""
        with self._db() as conn:
            org = orgs.org_by_slug(conn, org_slug)
            sync_log.record_datasets(conn, org.id, realm_id, row_counts)

    def recent_syncs(self, org_slug: str, limit: int = 10) -> list[SyncRun]:
        """The organization's newest sync runs, newest first."""
        with self._db() as conn:
            return sync_log.recent_runs(conn, orgs.org_by_slug(conn, org_slug).id, limit)

    # -- "Sync now" ----------------------------------------------------------------------
    def sync_requester(self, email: str, org_slug: str) -> tuple[Membership, ConnectionStatus]:
        """The gate in front of "Sync now" (web, API): the user is an admin (else
        PermissionDenied, audited), the company is connected (else NotConnected) and no sync
        of the organization is queued or running (else SyncBusy)."""
        member = self.require_role(email, org_slug, ADMIN, SYNC_ACTION)
        status = self.status(org_slug)
        if status.status != CONNECTED:
            raise NotConnected(
                f"{org_slug} cannot sync now: QuickBooks is "
                f"{status.status.replace('_', ' ')}; an admin connects it on the "
                "integrations page"
            )
        current = self.sync_activity(org_slug)
        if current.busy:
            since = current.request.requested_at if current.state == sync_requests.QUEUED else None
            if since is None and current.run is not None:
                since = current.run.started_at
            moment = f" since {since:%Y-%m-%d %H:%M} UTC" if since else ""
            raise sync_requests.SyncBusy(
                f"a sync of {org_slug} is {current.state.replace('_', ' ')} already{moment}; "
                "wait for it to finish"
            )
        return member, status

    def record_sync_request(
        self,
        org_slug: str,
        email: str,
        realm_id: str | None,
        run_id: str | None,
        problem: str | None,
    ) -> sync_requests.SyncRequest:
        """Remember a "Sync now": the run it queued, or why none was queued (audited)."""
        with self._db() as conn:
            org = orgs.org_by_slug(conn, org_slug)
            return sync_requests.record(conn, org.id, realm_id, email, run_id, problem)

    def sync_activity(self, org_slug: str) -> sync_requests.SyncActivity:
        """The latest "Sync now" request and sync run, and what they say together."""
        with self._db() as conn:
            org = orgs.org_by_slug(conn, org_slug)
            runs = sync_log.recent_runs(conn, org.id, 1)
            return sync_requests.activity(
                sync_requests.latest(conn, org.id), runs[0] if runs else None
            )

    # -- personal access tokens (the JSON API) ---------------------------------------------
    def create_access_token(
        self, email: str, org_slug: str, name: str, expires_in_days: int | None = None
    ) -> access_tokens.NewAccessToken:
        """A new token for the user in the organization (any member); its secret is in the
        result only."""
        with self._db() as conn:
            member = orgs.require_role(conn, email, org_slug, "viewer", "create access tokens")
            return access_tokens.create(conn, member, name, expires_in_days)

    def access_tokens(self, email: str, org_slug: str) -> list[access_tokens.AccessTokenInfo]:
        """The organization's tokens an admin sees (all), or the user's own."""
        with self._db() as conn:
            member = orgs.require_role(conn, email, org_slug, "viewer", "list access tokens")
            mine = None if member.allows(ADMIN) else member.email
            return access_tokens.listed(conn, org_slug, mine)

    def revoke_access_token(
        self, email: str, org_slug: str, token_id: int
    ) -> access_tokens.AccessTokenInfo:
        """Revoke a token of the organization (its owner, or an admin)."""
        with self._db() as conn:
            member = orgs.require_role(conn, email, org_slug, "viewer", "revoke access tokens")
            return access_tokens.revoke(conn, member, token_id)

    def authenticate_access_token(
        self, token: str
    ) -> tuple[access_tokens.AccessTokenInfo, Membership]:
        """The token's record and its user's membership now; TokenRejected otherwise."""
        with self._db() as conn:
            return access_tokens.authenticate(conn, token)

    # -- integration settings ------------------------------------------------------------
    def settings(self, org_slug: str) -> IntegrationSettings:
        with self._db() as conn:
            return integration_settings.read(conn, orgs.org_by_slug(conn, org_slug).id)

    def update_settings(
        self, org_slug: str, actor_email: str, **changes: Any
    ) -> IntegrationSettings:
        """Admins only: auto_sync, frequency (nightly/hourly/manual), local_time (HH:MM),
        timezone (IANA), history_years (1-20)."""
        with self._db() as conn:
            member = orgs.require_role(conn, actor_email, org_slug, ADMIN, SETTINGS_ACTION)
            return integration_settings.update(conn, member, changes)

    # -- the event log (sensors read it) ------------------------------------------------
    def events_after(
        self, last_id: int, kinds: tuple[str, ...] | None = None, limit: int = 1000
    ) -> list[events.Event]:
        """Events committed after event `last_id` (of `kinds`, when given), oldest first."""
        with self._db() as conn:
            return events.after(conn, last_id, kinds, limit)

    def last_event_id(self) -> int:
        """The newest event's id (0 before the first): where a new reader starts."""
        with self._db() as conn:
            return events.last_id(conn)

    # -- audit ---------------------------------------------------------------------------
    def audit_log(self, org_slug: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The newest audit entries first (of one organization, or of all)."""
        with self._db() as conn:
            org_id = orgs.org_by_slug(conn, org_slug).id if org_slug else None
            return audit.entries(conn, org_id, limit)


__all__ = ["IntegrationService"]
