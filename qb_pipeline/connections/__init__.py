"""Organizations, users and roles, and each organization's QuickBooks connection.

The web app and the CLI both go through `IntegrationService` (service.py).
"""

from qb_pipeline.connections.errors import (
    AlreadyExists,
    ConnectCancelled,
    ConnectFailed,
    ConnectionRefused,
    IntegrationError,
    IntuitUnavailable,
    InvalidInput,
    NotAMember,
    NotConnected,
    NotFound,
    PermissionDenied,
    ReauthorizationRequired,
    RefreshFailed,
    SecretKeyError,
    SignInThrottled,
    StateMismatch,
)
from qb_pipeline.connections.results import (
    AccessToken,
    AuditEntry,
    ConnectionStatus,
    Dataset,
    IntegrationSettings,
    Membership,
    Organization,
    SyncRun,
    User,
)
from qb_pipeline.connections.service import IntegrationService

__all__ = [
    "AccessToken",
    "AlreadyExists",
    "AuditEntry",
    "ConnectCancelled",
    "ConnectFailed",
    "ConnectionRefused",
    "ConnectionStatus",
    "Dataset",
    "IntegrationError",
    "IntegrationService",
    "IntegrationSettings",
    "IntuitUnavailable",
    "InvalidInput",
    "Membership",
    "NotAMember",
    "NotConnected",
    "NotFound",
    "Organization",
    "PermissionDenied",
    "ReauthorizationRequired",
    "RefreshFailed",
    "SecretKeyError",
    "SignInThrottled",
    "StateMismatch",
    "SyncRun",
    "User",
]
