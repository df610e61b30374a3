"""Errors the QuickBooks client raises; each carries what Intuit support asks for.

`status`, `code`, `message`, `detail` and `intuit_tid` come from the response (the fault body
and the `intuit_tid` header). None of them ever holds a token: the client never puts request
headers into an error, and the one fault detail that can echo a token (401 "Token expired:
<prefix>") is scrubbed before it gets here (see faults.scrub_detail).
"""

from __future__ import annotations


class QuickBooksError(Exception):
    """A request QuickBooks refused or could not answer, after any retries allowed."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        intuit_tid: str | None = None,
        fault_type: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.intuit_tid = intuit_tid
        self.fault_type = fault_type
        self.path = path

    def __str__(self) -> str:
        parts = [self.message]
        facts = []
        if self.status is not None:
            facts.append(f"HTTP {self.status}")
        if self.code:
            facts.append(f"code {self.code}")
        if self.fault_type:
            facts.append(f"type {self.fault_type}")
        if self.path:
            facts.append(f"path {self.path}")
        if self.intuit_tid:
            facts.append(f"intuit_tid {self.intuit_tid}")
        if facts:
            parts.append(f"({', '.join(facts)})")
        if self.detail:
            parts.append(f"- {self.detail}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ThrottledError(QuickBooksError):
    """429 ThrottleExceeded (code 3001) on every attempt the retry policy allowed."""


class AuthenticationError(QuickBooksError):
    """401 again after the one token refresh and retry: the token provider's token is refused."""


class AuthorizationError(QuickBooksError):
    """403 (code 3100 and friends): the app is not authorized for this company."""


class ServerError(QuickBooksError):
    """500/502/503/504 on every attempt the retry policy allowed."""


class NetworkError(QuickBooksError):
    """Timeouts or connection errors on every attempt the retry policy allowed."""


class UnexpectedAnswer(QuickBooksError):
    """A `200 OK` answer whose JSON has not the shape its endpoint must answer with (a member
    missing, or of another type): nothing of it is used, and the sync fails.

    `endpoint` is the request's path without its query string; `problem` names the JSON path
    and the type expected and found, never a value (the token endpoint's answer holds tokens).
    """

    def __init__(
        self, endpoint: str, problem: str, *, intuit_tid: str | None = None, status: int = 200
    ) -> None:
        super().__init__(
            f"QuickBooks answered {endpoint} in an unexpected shape: {problem}",
            status=status,
            intuit_tid=intuit_tid,
            path=endpoint,
        )
        self.endpoint = endpoint
        self.problem = problem

    def __str__(self) -> str:
        facts = [f"HTTP {self.status}"]  # the endpoint is in the message already
        if self.intuit_tid:
            facts.append(f"intuit_tid {self.intuit_tid}")
        return f"{self.message} ({', '.join(facts)})"


class ReportRangeTooWide(QuickBooksError):
    """A report timed out at the gateway (504) or came back truncated ("Unable to display
    more data. Please reduce the date range."): split the date range and ask again."""


__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "NetworkError",
    "QuickBooksError",
    "ReportRangeTooWide",
    "ServerError",
    "ThrottledError",
    "UnexpectedAnswer",
]
