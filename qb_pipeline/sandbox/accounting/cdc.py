"""Change Data Capture: what changed in a company since a moment.

Rules kept here, away from HTTP: entity names are case-insensitive; `changedSince` may be a
date or a date-time (with an offset, `Z`, or none = company-local) no older than 30 days on
the company's clock; some entities are refused; changed records (inactive list records
included) are those with `MetaData.LastUpdatedTime >= changedSince`; hard-deleted records
appear as `status: "Deleted"` stubs; at most 1000 objects per entity, oldest change first
(so a client can move its watermark forward and ask again).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from qb_pipeline.sandbox.accounting.clock import format_timestamp
from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.accounting.entities import CDC_UNSUPPORTED, canonical_entity

LOOKBACK = timedelta(days=30)
MAX_OBJECTS_PER_ENTITY = 1000


class CdcError(Exception):
    """A request CDC refuses. `kind` says which fault the API answers with: "missing" (a
    required parameter is absent), "invalid" (a parameter's value is wrong) or
    "unsupported" (QuickBooks refuses the operation); `parameter` names the parameter."""

    def __init__(self, kind: str, parameter: str, detail: str = "") -> None:
        super().__init__(detail or f"{parameter} is missing")
        self.kind = kind
        self.parameter = parameter
        self.detail = detail


def parse_entities(text: str | None) -> list[str]:
    """Canonical entity names, in request order, without duplicates."""
    if text is None or not text.strip():
        raise CdcError("missing", "entities")
    names: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        canonical = canonical_entity(name)
        if canonical is None:
            raise CdcError("invalid", "entities", f"unknown entity {name!r}")
        if canonical in CDC_UNSUPPORTED:
            raise CdcError(
                "unsupported", "entities", f"Operation cdc is not supported for {canonical}."
            )
        if canonical not in names:
            names.append(canonical)
    if not names:
        raise CdcError("missing", "entities")
    return names


def parse_changed_since(text: str | None, company: Company) -> datetime:
    """An aware datetime; a bare date means company-local midnight."""
    if text is None or not text.strip():
        raise CdcError("missing", "changedSince")
    value = text.strip()
    try:
        if len(value) == 10:
            moment = datetime.combine(datetime.fromisoformat(value).date(), time(0))
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise CdcError(
            "invalid", "changedSince", f"{value!r} is not an ISO date or date-time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=company.tz)
    if moment < company.now() - LOOKBACK:
        raise CdcError(
            "unsupported",
            "changedSince",
            f"Operation cdc with changedSince date {value} which is older than fixed "
            "days is not supported.",
        )
    return moment


def change_data_capture(company: Company, entities: list[str], since: datetime) -> list[dict]:
    """The `CDCResponse` list (without the top-level `time`)."""
    responses: list[dict] = []
    with company.lock:
        for entity in entities:
            changes = _changes(company, entity, since)
            if changes:
                responses.append({entity: changes, "startPosition": 1, "maxResults": len(changes)})
    return [{"QueryResponse": responses or [{}]}]


def _changes(company: Company, entity: str, since: datetime) -> list[dict]:
    timed: list[tuple[datetime, int, dict]] = []
    for record in company.records(entity):
        updated = datetime.fromisoformat(record["MetaData"]["LastUpdatedTime"])
        if updated >= since:
            timed.append((updated, len(timed), record))
    for deletion in company.deletions:
        if deletion.entity == entity and deletion.deleted_at >= since:
            stub = {
                "domain": "QBO",
                "status": "Deleted",
                "Id": deletion.id,
                "MetaData": {
                    "LastUpdatedTime": format_timestamp(deletion.deleted_at.astimezone(company.tz))
                },
            }
            timed.append((deletion.deleted_at, len(timed), stub))
    timed.sort(key=lambda item: (item[0], item[1]))
    return [record for _, _, record in timed[:MAX_OBJECTS_PER_ENTITY]]
