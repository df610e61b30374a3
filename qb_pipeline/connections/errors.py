"""Errors of the connection service; each message is one clear sentence for a person.

Messages name the user's own words (the organization slug, the email, the role) and never
carry a token, a code, a password, the client secret or the secret key.
"""

from __future__ import annotations

from qb_pipeline.config import ConfigError


class IntegrationError(Exception):
    """Base of every error the service raises on purpose; `str(error)` is the message."""


class InvalidInput(IntegrationError, ValueError):
    """A value the caller gave is not allowed (slug, email, role, password, setting)."""


class NotFound(IntegrationError, LookupError):
    """An organization, a user or a membership does not exist."""


class AlreadyExists(IntegrationError):
    """An organization with that slug exists already."""


class PermissionDenied(IntegrationError):
    """The user's role in the organization does not allow the action (HTTP 403)."""


class NotAMember(PermissionDenied):
    """The user is not a member of the organization, or there is no such organization: one
    refusal for both, so that nobody can tell which organizations exist."""


class SignInThrottled(IntegrationError):
    """Too many failed sign-ins for this account or from this address; wait, then retry.

    The same for accounts that exist and those that do not; `retry_after` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
        super().__init__(
            "Too many failed sign-in attempts for this account or from this address. "
            f"Wait {wait}, then try again."
        )
        self.retry_after = retry_after


class StateMismatch(IntegrationError):
    """The OAuth callback's `state` is unknown, used already or expired; nothing was stored."""


class ConnectCancelled(IntegrationError):
    """The user cancelled on QuickBooks' consent page (`error=access_denied`)."""


class ConnectionRefused(IntegrationError):
    """Another QuickBooks company is connected to the organization; disconnect it first."""


class ConnectFailed(IntegrationError):
    """QuickBooks answered the connect flow with an error (not a cancel); nothing stored."""


class NotConnected(IntegrationError):
    """The organization has no connected QuickBooks company."""


class ReauthorizationRequired(IntegrationError):
    """QuickBooks refused the stored refresh token; an admin must reconnect."""


class RefreshFailed(IntegrationError):
    """The token endpoint refused a refresh for a reason other than invalid_grant (for
    example invalid_client: the app's credentials are wrong); the connection is unchanged."""


class IntuitUnavailable(IntegrationError):
    """An Intuit endpoint could not be reached or answered with a server error."""


class SecretKeyError(ConfigError):
    """QBP_SECRET_KEY cannot decrypt the stored tokens (a different key was used)."""


__all__ = [
    "AlreadyExists",
    "ConfigError",
    "ConnectCancelled",
    "ConnectFailed",
    "ConnectionRefused",
    "IntegrationError",
    "IntuitUnavailable",
    "InvalidInput",
    "NotAMember",
    "NotConnected",
    "NotFound",
    "PermissionDenied",
    "ReauthorizationRequired",
    "RefreshFailed",
    "SecretKeyError",
    "SignInThrottled",
    "StateMismatch",
]
