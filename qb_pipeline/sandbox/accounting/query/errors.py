"""Query faults as QuickBooks words them: 4000 syntax, 4001 validation, 4002 processing."""

from __future__ import annotations

_MESSAGES = {
    "4000": "Error parsing query",
    "4001": "Invalid query",
    "4002": "Error processing query",
}


class QueryError(Exception):
    """A query QBO would refuse: `code` 4000 (syntax), 4001 (validation), 4002 (processing)."""

    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        self.message = _MESSAGES[code]
        self.detail = detail
        self.fault_type = "Service" if code == "4002" else "ValidationFault"
        super().__init__(f"{code} {self.message}: {detail}")


def invalid(detail: str) -> QueryError:
    return QueryError("4001", f"QueryValidationError: {detail}")
