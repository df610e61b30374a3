"""Faults queued through the control API: what the next matching /v3 requests answer.

A fault names an HTTP status (401, 403, 429, 500, 502, 503, 504) or "slow", how many
requests it applies to, and optionally a realm, a path prefix, a delay and a body format.
The request middleware (middleware.py) takes one use of the first matching fault per
request; nothing else in the emulator knows faults exist.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

# Statuses the fault queue can inject, and "slow" (a delay, then the normal answer).
INJECTABLE_STATUSES: tuple[int, ...] = (401, 403, 429, 500, 502, 503, 504)
FORMATS: tuple[str, ...] = ("json", "xml")


@dataclass
class FaultSpec:
    """Make the next `count` matching requests fail with `status` (or be slow)."""

    id: int
    status: int | str  # an HTTP status from INJECTABLE_STATUSES, or "slow"
    count: int = 1
    realm_id: str | None = None  # None: any realm
    format: str = "json"  # body of 401/403/429/500 faults: "json" or "xml"
    path_prefix: str | None = None  # relative to /v3/company/{realmId}/, or absolute "/v3/..."
    delay_ms: int = 0  # waited before answering (the fault, or the normal answer if slow)
    retry_after: int | None = None  # seconds, sent as Retry-After on 429

    def matches(self, realm_id: str, path: str) -> bool:
        if self.realm_id is not None and self.realm_id != realm_id:
            return False
        if not self.path_prefix:
            return True
        if self.path_prefix.startswith("/"):
            return path.startswith(self.path_prefix)
        relative = path.removeprefix(f"/v3/company/{realm_id}/")
        return relative.startswith(self.path_prefix)

    def as_json(self) -> dict:
        body = asdict(self)
        body["realmId"] = body.pop("realm_id")
        return body


def parse_fault_spec(payload: dict) -> dict[str, Any]:
    """Validate a control-API fault request; ValueError names the offending field."""
    status = payload.get("status")
    if status != "slow" and status not in INJECTABLE_STATUSES:
        allowed = ", ".join(str(s) for s in INJECTABLE_STATUSES)
        raise ValueError(f'status: must be one of {allowed} or "slow", got {status!r}')
    count = _int_field(payload, "count", 1, minimum=1)
    delay_ms = _int_field(payload, "delay_ms", 0, minimum=0)
    if status == "slow" and delay_ms == 0:
        raise ValueError('delay_ms: a "slow" fault needs delay_ms > 0')
    fmt = payload.get("format", "json")
    if fmt not in FORMATS:
        raise ValueError(f'format: must be "json" or "xml", got {fmt!r}')
    realm_id = payload.get("realmId")
    if realm_id is not None and (not isinstance(realm_id, str) or not realm_id):
        raise ValueError("realmId: must be a non-empty string when given")
    prefix = payload.get("path_prefix")
    if prefix is not None and not isinstance(prefix, str):
        raise ValueError("path_prefix: must be a string")
    retry_after = payload.get("retry_after")
    if retry_after is not None:
        retry_after = _int_field(payload, "retry_after", 0, minimum=0)
    unknown = set(payload) - {
        "status", "count", "delay_ms", "format", "realmId", "path_prefix", "retry_after",
    }  # fmt: skip
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: unknown field")
    return {
        "status": status,
        "count": count,
        "realm_id": realm_id,
        "format": fmt,
        "path_prefix": prefix or None,
        "delay_ms": delay_ms,
        "retry_after": retry_after,
    }


def _int_field(payload: dict, name: str, default: int, minimum: int) -> int:
    value = payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return value


class FaultQueue:
    """Queued faults, consumed first-in first-out by the requests they match."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._specs: list[FaultSpec] = []
        self._next_id = 1

    def add(self, **fields: Any) -> FaultSpec:
        with self._lock:
            spec = FaultSpec(id=self._next_id, **fields)
            self._next_id += 1
            self._specs.append(spec)
            return spec

    def take(self, realm_id: str, path: str) -> FaultSpec | None:
        """The first queued fault matching this request, with one use consumed."""
        if not self._specs:  # the common case, without the lock
            return None
        with self._lock:
            for index, spec in enumerate(self._specs):
                if spec.matches(realm_id, path):
                    spec.count -= 1
                    if spec.count <= 0:
                        del self._specs[index]
                    return spec
        return None

    def pending(self) -> list[FaultSpec]:
        with self._lock:
            return list(self._specs)

    def clear(self) -> int:
        with self._lock:
            cleared = len(self._specs)
            self._specs.clear()
            return cleared
