"""Plain results of the connection service. None of them holds a token or a password hash,
except `AccessToken`, whose repr hides its value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ROLES = ("admin", "editor", "viewer")
# What each role may do includes everything the roles after it may do.
ROLE_RANK = {"viewer": 1, "editor": 2, "admin": 3}

# Connection states stored in the control DB; `not_connected` is only ever reported, for an
# organization that has never connected a company.
CONNECTED = "connected"
DISCONNECTED = "disconnected"
REAUTHORIZATION_REQUIRED = "reauthorization_required"
ERROR = "error"
NOT_CONNECTED = "not_connected"
CONNECTION_STATES = (CONNECTED, DISCONNECTED, REAUTHORIZATION_REQUIRED, ERROR)

FREQUENCIES = ("nightly", "hourly", "manual")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Organization:
    id: int
    slug: str
    name: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, "name": self.name, "created_at": _iso(self.created_at)}


@dataclass(frozen=True)
class User:
    id: int
    email: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"email": self.email, "created_at": _iso(self.created_at)}


@dataclass(frozen=True)
class Membership:
    user: User
    organization: Organization
    role: str

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def org_slug(self) -> str:
        return self.organization.slug

    def allows(self, role: str) -> bool:
        """Whether this membership's role includes `role` (admin > editor > viewer)."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    def to_dict(self) -> dict[str, Any]:
        return {"email": self.email, "org": self.org_slug, "role": self.role}


@dataclass(frozen=True)
class IntegrationSettings:
    auto_sync: bool = True
    frequency: str = "nightly"
    local_time: str = "02:00"
    timezone: str = "UTC"
    history_years: int = 3
    updated_at: datetime | None = None
    updated_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "auto_sync": self.auto_sync,
            "frequency": self.frequency,
            "local_time": self.local_time,
            "timezone": self.timezone,
            "history_years": self.history_years,
            "updated_at": _iso(self.updated_at),
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class SyncRun:
    id: int
    realm_id: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    message: str | None
    rows: dict[str, int] = field(default_factory=dict)
    requests: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "realm_id": self.realm_id,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "status": self.status,
            "message": self.message,
            "rows": dict(self.rows),
            "requests": self.requests,
        }


@dataclass(frozen=True)
class Dataset:
    """A dataset imported for the connected company (filled by the pipeline)."""

    name: str
    row_count: int | None
    updated_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "row_count": self.row_count, "updated_at": _iso(self.updated_at)}


@dataclass(frozen=True)
class ConnectionStatus:
    """Everything the integration page and `qb-pipeline status` show; no token in it."""

    org_slug: str
    org_name: str
    status: str  # one of CONNECTION_STATES, or NOT_CONNECTED
    status_reason: str | None = None
    realm_id: str | None = None
    company_name: str | None = None
    connected_at: datetime | None = None
    connected_by: str | None = None
    disconnected_at: datetime | None = None
    disconnected_by: str | None = None
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None  # rolling (about 100 days, renewed on rotation)
    refresh_hard_expires_at: datetime | None = None  # Intuit's 5-year cap
    last_refreshed_at: datetime | None = None
    last_sync: SyncRun | None = None
    # The newest sync that imported data (succeeded, or partial: imported but not published),
    # which freshness is measured from; last_sync may be a later failure.
    last_success: SyncRun | None = None
    datasets_available: list[Dataset] = field(default_factory=list)
    settings: IntegrationSettings = field(default_factory=IntegrationSettings)

    @property
    def is_connected(self) -> bool:
        return self.status == CONNECTED

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: datetimes as ISO-8601 text, nested results as dicts."""
        return {
            "org": self.org_slug,
            "org_name": self.org_name,
            "status": self.status,
            "status_reason": self.status_reason,
            "realm_id": self.realm_id,
            "company_name": self.company_name,
            "connected_at": _iso(self.connected_at),
            "connected_by": self.connected_by,
            "disconnected_at": _iso(self.disconnected_at),
            "disconnected_by": self.disconnected_by,
            "access_expires_at": _iso(self.access_expires_at),
            "refresh_expires_at": _iso(self.refresh_expires_at),
            "refresh_hard_expires_at": _iso(self.refresh_hard_expires_at),
            "last_refreshed_at": _iso(self.last_refreshed_at),
            "last_sync": self.last_sync.to_dict() if self.last_sync else None,
            "last_success": self.last_success.to_dict() if self.last_success else None,
            "datasets_available": [d.to_dict() for d in self.datasets_available],
            "settings": self.settings.to_dict(),
        }


@dataclass(frozen=True, repr=False)
class AccessToken:
    """A valid access token for one company. The value never shows in repr or str."""

    value: str
    realm_id: str
    expires_at: datetime

    def __repr__(self) -> str:
        return (
            f"AccessToken(realm_id={self.realm_id!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, value=<hidden>)"
        )

    __str__ = __repr__

    @property
    def authorization_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.value}"}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    org_slug: str | None
    actor: str | None
    action: str
    detail: dict[str, Any]
    outcome: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": _iso(self.at),
            "org": self.org_slug,
            "actor": self.actor,
            "action": self.action,
            "detail": dict(self.detail),
            "outcome": self.outcome,
        }
