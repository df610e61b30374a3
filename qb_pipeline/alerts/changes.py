"""What alerts watch in a goal's published values, and what counts as a change.

A goal's *observation* is its watched fields in its latest period with an actual (the value
the goals page and the materialization show, compute.LatestValue). The alert step compares
each goal's observation with the one it recorded last time (table alert_goal_states) and
reports the fields that differ. Data in, data out: no database here.

Watched: `status`, `is_stale` and `pace_status` (the period in progress judged on its
projection, marts.goal_values.pace_status; None for a period that is over). A stored
observation without a field (one recorded before the field was watched) reads as "not
known": the field's first value is recorded without reporting a change, so an upgrade sends
no burst of false alerts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

# Field of the observation -> how a change of it is named in digests.
WATCHED_FIELDS: dict[str, str] = {
    "status": "status",
    "is_stale": "stale",
    "pace_status": "pace_status",
}


@dataclass(frozen=True)
class Observation:
    """One goal as the alert step saw it: the watched fields and the context of a message."""

    goal_id: str
    goal_name: str
    fields: dict[str, Any]
    period_start: date | None = None
    period_end: date | None = None
    actual: float | None = None
    target: float | None = None
    stale_reason: str | None = None


@dataclass(frozen=True)
class Change:
    """A watched field of a goal that differs from the last observation."""

    goal_id: str
    goal_name: str
    field: str  # "status", "stale" or "pace_status"
    before: Any
    after: Any
    period_start: date | None
    period_end: date | None
    actual: float | None
    target: float | None
    stale_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "goal_id": self.goal_id,
            "goal_name": self.goal_name,
            "field": self.field,
            "before": self.before,
            "after": self.after,
            "period_start": self.period_start.isoformat() if self.period_start else None,
            "period_end": self.period_end.isoformat() if self.period_end else None,
            "actual": self.actual,
            "target": self.target,
            "stale_reason": self.stale_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        def day(text: str | None) -> date | None:
            return date.fromisoformat(text) if text else None

        return cls(
            goal_id=data["goal_id"],
            goal_name=data["goal_name"],
            field=data["field"],
            before=data["before"],
            after=data["after"],
            period_start=day(data.get("period_start")),
            period_end=day(data.get("period_end")),
            actual=data.get("actual"),
            target=data.get("target"),
            stale_reason=data.get("stale_reason"),
        )

    def describe(self) -> str:
        """One line for a person: `Monthly revenue: status on_track -> off_track (Nov 2026)`."""
        period = f" ({self.period_start:%b %Y})" if self.period_start else ""
        if self.field == "stale":
            if self.after:
                why = f": {self.stale_reason.replace('_', ' ')}" if self.stale_reason else ""
                return f"{self.goal_name}: data went stale{why}{period}"
            return f"{self.goal_name}: data is fresh again{period}"
        before = str(self.before).replace("_", " ")
        after = str(self.after).replace("_", " ")
        return f"{self.goal_name}: {self.field.replace('_', ' ')} {before} -> {after}{period}"


def observe(latest: Any, goal_name: str) -> Observation:
    """The observation of a goal from its latest value (compute.LatestValue or alike): the
    watched fields it has; a field it does not carry yet is left out, not None."""
    fields = {name: getattr(latest, name) for name in WATCHED_FIELDS if hasattr(latest, name)}
    return Observation(
        goal_id=latest.goal_id,
        goal_name=goal_name,
        fields=fields,
        period_start=latest.period_start,
        period_end=latest.period_end,
        actual=latest.actual,
        target=latest.target,
        stale_reason=latest.stale_reason,
    )


def detect(
    previous: Mapping[str, Mapping[str, Any]], current: Mapping[str, Observation]
) -> list[Change]:
    """The changes from `previous` (goal id -> stored fields) to `current`, in goal order.

    A goal seen for the first time is a baseline, not a change (there is nothing it changed
    from); so is a watched field the stored observation does not have yet."""
    found = []
    for goal_id in sorted(current):
        seen = current[goal_id]
        before = previous.get(goal_id)
        if before is None:
            continue
        for name, label in WATCHED_FIELDS.items():
            if name not in seen.fields or name not in before:
                continue
            if before[name] == seen.fields[name]:
                continue
            found.append(
                Change(
                    goal_id=goal_id,
                    goal_name=seen.goal_name,
                    field=label,
                    before=before[name],
                    after=seen.fields[name],
                    period_start=seen.period_start,
                    period_end=seen.period_end,
                    actual=seen.actual,
                    target=seen.target,
                    stale_reason=seen.stale_reason,
                )
            )
    return found
