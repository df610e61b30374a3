"""Reading entities: query paging, the shape of a loaded row, and what the warehouse holds.

A loaded row is the QuickBooks record as served (dlt flattens nested objects into columns
and nested lists into child tables) plus four columns the source adds:

- `org_id`, `realm_id`: whose company it is; with `id` they form the primary key, so data
  of different organizations and companies never mixes;
- `updated_at`: `MetaData.LastUpdatedTime` as a UTC timestamp (the incremental cursor;
  the text compares wrongly across daylight-saving offsets);
- `is_deleted`: the hard-delete marker. Rows carrying `True` are deletions (from CDC, or
  from a full reload that no longer finds the record); dlt removes the stored record and
  its child rows instead of loading them, so in the tables the column is always empty.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt

from qb_pipeline.quickbooks import QuickBooksClient
from qb_pipeline.sources.quickbooks.settings import (
    INTEGER_FIELDS,
    LIST_ENTITIES,
    PAGE_SIZE,
)

log = logging.getLogger("qb_pipeline.sources.quickbooks")

DELETED_FLAG = "is_deleted"


def parse_qbo_time(text: Any) -> datetime | None:
    """A QuickBooks timestamp (`2024-06-22T11:40:17-07:00`) as an aware UTC datetime."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # QuickBooks always sends an offset; never guess one
    return moment.astimezone(UTC)


def query_time_literal(moment: datetime) -> str:
    """A date-time literal for a query's WHERE clause (UTC, second precision)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def entity_where(entity: str, since: datetime | None, strictly_after: bool = False) -> str | None:
    """The WHERE clause of an entity read: inactive list rows included, changed at or
    after `since` (strictly after with `strictly_after`)."""
    conditions = []
    if entity in LIST_ENTITIES:
        conditions.append("Active IN (true, false)")
    if since is not None:
        operator = ">" if strictly_after else ">="
        conditions.append(f"MetaData.LastUpdatedTime {operator} '{query_time_literal(since)}'")
    return " AND ".join(conditions) or None


def entity_pages(
    client: QuickBooksClient,
    entity: str,
    since: datetime | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[list[dict]]:
    """Every record of `entity` changed at or after `since` (all when None), a page at a
    time, oldest change first, each record once, logging progress.

    Pages are cut by time, not by position: each request asks for the oldest changes at
    or after the newest time of the page before. A record edited while the sync pages
    moves to the end of the order; with STARTPOSITION paging that shift would make an
    untouched record slip past unread. Records of the boundary second are read again and
    skipped by id. Should a single second hold a whole page of changes (a bulk import),
    that second is read by position and the walk continues strictly after it.
    """
    lower, strictly_after = since, False
    boundary: set[str] = set()
    pages = rows = 0
    while True:
        where = entity_where(entity, lower, strictly_after)
        page = _first_page(client, entity, where, page_size)
        pages += 1
        fresh = [r for r in page if str(r.get("Id")) not in boundary]
        if fresh:
            rows += len(fresh)
            log.info("%s: page %d read, %d rows so far", entity, pages, rows)
            yield fresh
        if len(page) < page_size:
            return
        newest = _updated(page[-1])
        if newest is None:
            raise ValueError(f"{entity} {page[-1].get('Id')} has no MetaData.LastUpdatedTime")
        at_newest = {str(r.get("Id")) for r in page if _updated(r) == newest}
        if lower is not None and newest <= lower:
            # A whole page within one second: read that second by position.
            seen = boundary | at_newest
            second = f"MetaData.LastUpdatedTime = '{query_time_literal(newest)}'"
            base = entity_where(entity, None)
            same = f"{base} AND {second}" if base else second
            for chunk in client.query_all(
                entity, where=same, order_by="MetaData.LastUpdatedTime", page_size=page_size
            ):
                pages += 1
                unseen = [r for r in chunk if str(r.get("Id")) not in seen]
                seen.update(str(r.get("Id")) for r in chunk)
                if unseen:
                    rows += len(unseen)
                    log.info("%s: page %d read, %d rows so far", entity, pages, rows)
                    yield unseen
            lower, strictly_after, boundary = newest, True, set()
            continue
        lower, strictly_after, boundary = newest, False, at_newest


def _first_page(
    client: QuickBooksClient, entity: str, where: str | None, page_size: int
) -> list[dict]:
    pages = client.query_all(
        entity, where=where, order_by="MetaData.LastUpdatedTime", page_size=page_size
    )
    try:
        return next(pages, [])
    finally:
        pages.close()  # only the first page: the next one is cut by time


def _updated(record: dict) -> datetime | None:
    return parse_qbo_time((record.get("MetaData") or {}).get("LastUpdatedTime"))


def loaded_row(record: dict, org_id: str, realm_id: str) -> dict:
    """The row loaded for one QuickBooks record (see the module docstring)."""
    row = _as_floats(record)
    row["org_id"] = org_id
    row["realm_id"] = realm_id
    row["updated_at"] = parse_qbo_time((record.get("MetaData") or {}).get("LastUpdatedTime"))
    return row


def deletion_row(record_id: str, org_id: str, realm_id: str, deleted_at: datetime | None) -> dict:
    """The row that deletes a stored record (and its child rows) at load time."""
    return {
        "org_id": org_id,
        "realm_id": realm_id,
        "Id": record_id,
        "updated_at": deleted_at,
        DELETED_FLAG: True,
    }


def is_deletion_stub(record: dict) -> bool:
    """CDC reports a deleted record as `{"status": "Deleted", "Id": ..., "MetaData": ...}`."""
    return str(record.get("status", "")).lower() == "deleted"


def _as_floats(value: dict) -> dict:
    """A copy of `value` whose JSON integers are floats, but for the integer fields."""
    out: dict = {}
    for key, item in value.items():
        kind = type(item)
        if kind is int and key not in INTEGER_FIELDS:
            out[key] = float(item)
        elif kind is dict:
            out[key] = _as_floats(item)
        elif kind is list:
            out[key] = [_as_floats(x) if type(x) is dict else x for x in item]
        else:
            out[key] = item
    return out


def stored_ids(table: str, org_id: str, realm_id: str) -> set[str]:
    """Ids of `table` the destination holds for this company; empty before the first load.

    Called during extraction, through the running pipeline's own destination client."""
    pipeline = dlt.current.pipeline()
    from dlt.destinations.exceptions import DatabaseUndefinedRelation

    try:
        with pipeline.sql_client() as client:
            qualified = client.make_qualified_table_name(table)
            rows = client.execute_sql(
                f"SELECT id FROM {qualified} WHERE org_id = %s AND realm_id = %s",
                org_id,
                realm_id,
            )
    except DatabaseUndefinedRelation:
        return set()
    return {str(row[0]) for row in rows or []}
