"""Problems found in goal files, each in the user's own words.

Every problem names the file (and line when known), the goal, the field, the bad value and
what is allowed or available, on one line:

    goal_models/demo/revenue.yaml:7: goal 'revenue-monthly': grain: 'weekly' is not
    allowed; allowed: 'month', 'quarter' or 'year'

Warnings (for example a goal on an account deleted in QuickBooks) are reported the same way
with "warning:" in front; they do not stop a goal from being computed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class FieldIssue:
    """A problem with one field of one goal, before we know which file it came from."""

    field: str  # dotted path, e.g. "tracks.account.account_id"; "" for the whole goal
    message: str  # complete sentence fragment, already naming the value and what is allowed
    severity: str = ERROR
    loc: tuple[str | int, ...] | None = None  # path inside the goal, for line numbers


@dataclass(frozen=True)
class Problem:
    file: str | None
    message: str
    goal: str | None = None  # the goal's id, or "#3" (its position) when it has none
    field: str | None = None
    line: int | None = None
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        parts = [where]
        if self.severity == WARNING:
            parts.append("warning")
        if self.goal is not None:
            parts.append(f"goal {self.goal}")
        if self.field:
            parts.append(self.field)
        return ": ".join([*parts, self.message])

    def at_line(self, line: int | None) -> Problem:
        return replace(self, line=line)


def show(value: Any) -> str:
    """A value as the user wrote it, short enough for one line."""
    if isinstance(value, Path):
        value = str(value)
    text = repr(value) if isinstance(value, str) else _plain(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, default=str)
    return str(value)


def listing(values: list[str] | tuple[str, ...], limit: int = 25) -> str:
    """'a, b, c' or 'a, b, ... (and 12 more)' for long lists; 'none' when empty."""
    if not values:
        return "none"
    shown = list(values[:limit])
    more = len(values) - len(shown)
    return ", ".join(shown) + (f", ... (and {more} more)" if more > 0 else "")


def goal_label(goal_id: Any, index: int | None) -> str | None:
    """How a problem names a goal: its id when it has a usable one, else its position."""
    if isinstance(goal_id, str) and goal_id.strip():
        return repr(goal_id)
    return f"#{index + 1}" if index is not None else None


__all__ = ["ERROR", "WARNING", "FieldIssue", "Problem", "goal_label", "listing", "show"]
