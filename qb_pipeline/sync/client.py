"""The QuickBooks client of an organization's connected company, for a sync.

The client (qb_pipeline/quickbooks/) knows nothing of organizations: it is given a realm,
an API base and a function that hands out access tokens. This module ties it to the
connection service: that service's tokens (refreshed as the connection's rules say) and the
per-realm request limiter shared by every process under QBP_HOME.
"""

from __future__ import annotations

from typing import Any

from qb_pipeline.connections import IntegrationService, NotConnected, ReauthorizationRequired
from qb_pipeline.connections.results import REAUTHORIZATION_REQUIRED
from qb_pipeline.quickbooks import QuickBooksClient, shared_limiter


def client_for_org(service: IntegrationService, org_slug: str, **options: Any) -> QuickBooksClient:
    """A client for the organization's connected company (`options` go to the client; pass
    limiter=UnlimitedLimiter() to go unlimited).

    Raises NotConnected or ReauthorizationRequired before any request is made."""
    current = service.status(org_slug)
    if current.status == REAUTHORIZATION_REQUIRED:
        reason = current.status_reason or "QuickBooks refused the stored refresh token"
        raise ReauthorizationRequired(
            f"{org_slug}: {reason}; an admin must reconnect QuickBooks before a sync"
        )
    if not current.is_connected or not current.realm_id:
        raise NotConnected(
            f"organization {org_slug} is not connected to QuickBooks "
            f"({current.status.replace('_', ' ')}); an admin can connect it with: "
            f"qb-pipeline connect --org {org_slug} --as EMAIL"
        )
    if options.get("limiter") is None:
        options["limiter"] = shared_limiter(
            service.config.home, postgres_url=service.config.postgres_database_url
        )

    def token_provider(rejected: str | None) -> str:
        return service.access_token(org_slug, rejected=rejected).value

    return QuickBooksClient(
        current.realm_id, service.config.endpoints.api_base, token_provider, **options
    )


__all__ = ["client_for_org"]
