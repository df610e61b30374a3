"""Everything that talks to the QuickBooks Online data API: the client, its errors, the
shape every answer must have (answers.py), the per-realm request limiter, the retry policy,
fault parsing and report flattening."""

from qb_pipeline.quickbooks.client import CdcResult, QuickBooksClient, TokenProvider
from qb_pipeline.quickbooks.errors import (
    AuthenticationError,
    AuthorizationError,
    NetworkError,
    QuickBooksError,
    ReportRangeTooWide,
    ServerError,
    ThrottledError,
    UnexpectedAnswer,
)
from qb_pipeline.quickbooks.limiter import (
    LocalRequestLimiter,
    RateWindow,
    RequestLimiter,
    UnlimitedLimiter,
    shared_limiter,
)
from qb_pipeline.quickbooks.reports import flatten_report
from qb_pipeline.quickbooks.retry import RetryPolicy

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "CdcResult",
    "LocalRequestLimiter",
    "NetworkError",
    "QuickBooksClient",
    "QuickBooksError",
    "RateWindow",
    "ReportRangeTooWide",
    "RequestLimiter",
    "RetryPolicy",
    "ServerError",
    "ThrottledError",
    "TokenProvider",
    "UnexpectedAnswer",
    "UnlimitedLimiter",
    "flatten_report",
    "shared_limiter",
]
