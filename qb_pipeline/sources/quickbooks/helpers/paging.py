"""Reading entities: query paging, the cursor, deletion rows, and what the warehouse holds.

A loaded row is the QuickBooks record as served (flattened into columns and child tables
by arrow_pages.py, as dlt would) plus four columns the source adds:

- `org_id`, `realm_id`: whose company it is; with `id` they form the primary key, so data
  of different organizations and companies never mixes;
- `updated_at`: `MetaData.LastUpdatedTime` as a UTC timestamp (the incremental cursor;
  the text compares wrongly across daylight-saving offsets);
- `is_deleted`: the hard-delete marker. Rows carrying `True` are deletions (from CDC, or
  from a full reload that no longer finds the record); dlt removes the stored record
  instead of loading them (and the pipeline its child rows, pipeline.delete_orphan_rows),
  so in the tables the column is always empty.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import dlt

from qb_pipeline.quickbooks import QuickBooksClient
from qb_pipeline.sources.quickbooks.settings import LIST_ENTITIES, PAGE_SIZE

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
    # The next page is asked for as soon as a page arrives, in a thread: QuickBooks
    # answers it while the caller turns this one into tables.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="qbo-page") as prefetch:
        pending = prefetch.submit(
            _first_page, client, entity, entity_where(entity, lower, strictly_after), page_size
        )
        while pending is not None:
            page = pending.result()
            pending = None
            pages += 1
            fresh = [r for r in page if str(r.get("Id")) not in boundary]
            if len(page) == page_size:
                newest = _updated(page[-1])
                assert newest is not None  # the client checks every record's (answers.py)
                if lower is None or newest > lower:
                    at_newest = {str(r.get("Id")) for r in page if _updated(r) == newest}
                    lower, strictly_after, boundary = newest, False, at_newest
                    where = entity_where(entity, lower, strictly_after)
                    pending = prefetch.submit(_first_page, client, entity, where, page_size)
            if fresh:
                rows += len(fresh)
                log.info("%s: page %d read, %d rows so far", entity, pages, rows)
                yield fresh
            if len(page) < page_size or pending is not None:
                continue
            # A whole page within one second: read that second by position.
            newest = _updated(page[-1])
            assert newest is not None  # as above
            seen = boundary | {str(r.get("Id")) for r in page if _updated(r) == newest}
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
            where = entity_where(entity, lower, strictly_after)
            pending = prefetch.submit(_first_page, client, entity, where, page_size)


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


# The entity cursor lives in the resource's dlt state (committed with each load, restored
# from the warehouse when the local pipeline folder is gone). Before the source built Arrow
# tables, dlt's `incremental` on `updated_at` kept it; its state is still read once.
CURSOR_KEY = "updated_at_cursor"
_LEGACY_CURSOR = ("incremental", "updated_at", "last_value")


def read_cursor(state: dict) -> datetime | None:
    """The newest `updated_at` an earlier sync loaded for this resource, or None."""
    stored = state.get(CURSOR_KEY)
    if stored is None:
        legacy: Any = state
        for key in _LEGACY_CURSOR:
            legacy = legacy.get(key) if isinstance(legacy, dict) else None
        stored = legacy
    if isinstance(stored, datetime):
        return stored.astimezone(UTC) if stored.tzinfo else stored.replace(tzinfo=UTC)
    if isinstance(stored, str):
        moment = parse_qbo_time(stored)
        return moment
    return None


def write_cursor(state: dict, previous: datetime | None, newest: datetime | None) -> None:
    """Store the later of `previous` and `newest` (the cursor never moves back)."""
    moments = [m for m in (previous, newest) if m is not None]
    if moments:
        state[CURSOR_KEY] = max(moments).isoformat()
