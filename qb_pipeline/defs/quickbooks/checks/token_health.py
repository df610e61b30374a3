"""Token health: a check per organization that warns before QuickBooks stops accepting its
refresh token.

Intuit's refresh token has two expiries (stored by the connection service, never the token):

- rolling (`refresh_expires_at`, about 100 days): every sync that refreshes the access token
  after the first day gets a new refresh token and pushes it back, so it only comes near when
  an organization has not synced for months;
- hard (`refresh_hard_expires_at`, 5 years after the admin connected): nothing renews it; an
  admin must reconnect QuickBooks before it passes. The rolling expiry never passes the hard one.

The check `refresh_token_health` on `qbo/connection_status` (the asset that records every
connection in the warehouse), partitioned by organization, passes while both are more than
14 days away ($QBP_TOKEN_WARN_DAYS), warns (WARN) inside that window naming the expiry and its
date, and fails (ERROR) once one has passed. For an organization without a connected company it
says so (WARN): there is no token to keep alive. It runs in every sync after the connection is
recorded, and the token health sensor runs it for an organization whose state or dates changed
(sensors/token_health.py), so the warning shows in the UI even for organizations that sync rarely.
"""

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    MetadataValue,
    multi_asset_check,
)

from qb_pipeline.connections import ConnectionStatus
from qb_pipeline.connections.results import CONNECTED, NOT_CONNECTED, REAUTHORIZATION_REQUIRED
from qb_pipeline.defs.keys import CONNECTION_STATUS
from qb_pipeline.defs.quickbooks.checks.check_runs import (
    OrganizationCheckOutcome,
    as_of,
    organization_check_spec,
)
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.defs.sensor_kit import (
    Clock,
    utcnow,
)

CHECK_NAME = "refresh_token_health"
CONNECTION_KEY = CONNECTION_STATUS
WARN_DAYS_ENV = "QBP_TOKEN_WARN_DAYS"
DEFAULT_WARN_DAYS = 14

# States (metadata `state`).
HEALTHY = "healthy"
EXPIRES_SOON = "expires_soon"
EXPIRED = "expired"
NO_TOKEN = "no_token"

# What makes a new evaluation worth reporting (besides pass/fail and severity).
SIGNATURE = ("state", "refresh_expires_at", "refresh_hard_expires_at")


def warn_days(env: Mapping[str, str] | None = None) -> int:
    """$QBP_TOKEN_WARN_DAYS (whole days, at least 1), else 14; a bad value is an error naming it."""
    env = os.environ if env is None else env
    text = env.get(WARN_DAYS_ENV, "").strip()
    if not text:
        return DEFAULT_WARN_DAYS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(
            f"{WARN_DAYS_ENV} must be a whole number of days, at least 1; got {text!r}"
        )
    return int(text)


@dataclass(frozen=True)
class TokenHealth(OrganizationCheckOutcome):
    """How close one organization's refresh token is to an expiry, at one moment."""

    org: str
    state: str
    connection: str
    refresh_expires_at: datetime | None
    refresh_hard_expires_at: datetime | None
    warn_days: int
    now: datetime
    description: str

    @property
    def check_key(self) -> AssetCheckKey:
        return AssetCheckKey(CONNECTION_KEY, CHECK_NAME)

    @property
    def passed(self) -> bool:
        return self.state == HEALTHY

    @property
    def severity(self) -> AssetCheckSeverity:
        return AssetCheckSeverity.ERROR if self.state == EXPIRED else AssetCheckSeverity.WARN

    def _days_left(self, moment: datetime | None) -> MetadataValue:
        if moment is None:
            return MetadataValue.null()
        return MetadataValue.float(round((moment - self.now).total_seconds() / 86400, 1))

    def metadata(self) -> dict[str, Any]:
        def stamp(moment: datetime | None) -> MetadataValue:
            return MetadataValue.timestamp(moment) if moment is not None else MetadataValue.null()

        return {
            "org": MetadataValue.text(self.org),
            "state": MetadataValue.text(self.state),
            "connection_status": MetadataValue.text(self.connection),
            "refresh_expires_at": stamp(self.refresh_expires_at),
            "refresh_hard_expires_at": stamp(self.refresh_hard_expires_at),
            "days_until_refresh_expiry": self._days_left(self.refresh_expires_at),
            "days_until_hard_expiry": self._days_left(self.refresh_hard_expires_at),
            "warn_days_before": MetadataValue.int(self.warn_days),
        }


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def assess_token(status: ConnectionStatus, now: datetime, days: int) -> TokenHealth:
    """The health of the organization's refresh token at `now` (see the module)."""
    org = status.org_slug
    rolling, hard = status.refresh_expires_at, status.refresh_hard_expires_at

    def result(state: str, description: str) -> TokenHealth:
        return TokenHealth(org, state, status.status, rolling, hard, days, now, description)

    if status.status != CONNECTED:
        return result(NO_TOKEN, f"{org}: no refresh token to check: {_no_token_reason(status)}.")
    if rolling is None and hard is None:
        return result(
            EXPIRES_SOON, f"{org}: QuickBooks did not say when the refresh token expires."
        )
    window = timedelta(days=days)
    # The hard expiry first: when it is near, the rolling one (capped by it) is too, and only
    # reconnecting helps.
    if hard is not None and hard - now <= window:
        if hard <= now:
            return result(
                EXPIRED,
                f"{org}: the QuickBooks authorization expired on {_day(hard)} "
                "(hard expiry); an admin must reconnect QuickBooks.",
            )
        return result(
            EXPIRES_SOON,
            f"{org}: the QuickBooks authorization reaches its hard expiry on {_day(hard)} "
            f"(in {_in_days(hard, now)}); a sync cannot renew it: an admin must reconnect "
            "QuickBooks before then.",
        )
    if rolling is not None and rolling - now <= window:
        if rolling <= now:
            return result(
                EXPIRED,
                f"{org}: the refresh token expired on {_day(rolling)}; an "
                "admin must reconnect QuickBooks.",
            )
        return result(
            EXPIRES_SOON,
            f"{org}: the refresh token expires on {_day(rolling)} (in {_in_days(rolling, now)}) "
            "unless a sync renews it before then; after that an admin must reconnect QuickBooks.",
        )
    dates = [
        f"refresh token until {_day(rolling)}" if rolling else None,
        f"authorization until {_day(hard)} (hard expiry)" if hard else None,
    ]
    return result(HEALTHY, f"{org}: " + ", ".join(d for d in dates if d) + ".")


def _in_days(moment: datetime, now: datetime) -> str:
    days = (moment - now).total_seconds() / 86400
    return f"{days:.0f} days" if days >= 1.5 else f"{days * 24:.0f} hours"


def _no_token_reason(status: ConnectionStatus) -> str:
    if status.status == REAUTHORIZATION_REQUIRED:
        return "QuickBooks needs reauthorization by an admin"
    if status.status == NOT_CONNECTED:
        return "no QuickBooks company is connected"
    return f"QuickBooks is {status.status.replace('_', ' ')}"


def build_token_health_check(clock: Clock = utcnow) -> AssetChecksDefinition:
    """The `refresh_token_health` check; `clock` gives "now" (tests pass a fixed one)."""

    @multi_asset_check(
        name="quickbooks_token_health_check",
        specs=[
            organization_check_spec(
                CHECK_NAME,
                CONNECTION_KEY,
                description=(
                    "The organization's QuickBooks refresh token is more than "
                    f"{DEFAULT_WARN_DAYS} days ({WARN_DAYS_ENV}) from its rolling and its hard "
                    "expiry; the dates are in the metadata."
                ),
            )
        ],
        can_subset=True,
    )
    def quickbooks_token_health_check(
        context: AssetCheckExecutionContext, quickbooks: QuickBooksIntegration
    ) -> Iterator[AssetCheckResult]:
        status = quickbooks.service().status(context.partition_key)
        health = assess_token(status, as_of(context, clock()), warn_days())
        context.log.info(health.description)
        yield health.check_result()

    return quickbooks_token_health_check


quickbooks_token_health_check = build_token_health_check()
