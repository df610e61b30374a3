"""The dlt source `quickbooks`: one QuickBooks Online company into the `qbo_raw` dataset.

Tables (schema `qbo_raw`; every row carries `org_id` and `realm_id`):

- one table per entity, named in snake case: `account`, `class`, `department`, `item`,
  `customer`, `vendor`, `employee`, `term`, `payment_method`, `tax_code`, `tax_rate`,
  `budget`, `invoice`, `bill`, `purchase`, `journal_entry`, `deposit`, `sales_receipt`,
  `payment`, `bill_payment`, `credit_memo`, `refund_receipt`, `vendor_credit`,
  `transfer`, `estimate`, `purchase_order`, `company_info`, `preferences`. Nested lists
  are child tables (`invoice__line`, `journal_entry__line`, `invoice__line__linked_txn`,
  ...) joined by `child._dlt_parent_id = parent._dlt_id` (`_dlt_root_id` for the root
  row). Root tables merge on `(org_id, realm_id, id)`. Every page is yielded as Arrow
  tables, the root and its child tables (arrow_pages.py), so dlt does no per-row work; dlt
  1.31 cannot take nested tables from extraction, so child tables are appended and, after
  each load, child rows whose root row was replaced or deleted are removed (pipeline.py).
- `report_dimension_lines`: ProfitAndLoss by Classes and by Departments per month, for
  companies that track them (dimension_reports.py).
- `report_lines`: ProfitAndLoss and BalanceSheet (accrual and cash) and CashFlow (accrual),
  one row per report line and month (see report_rows.py), merged on
  `(org_id, realm_id, report_name, basis, period_start)`.

How entities stay current (choices documented in changes.py and helpers.py):

- `Account` is read in full on every sync (balances move without LastUpdatedTime moving).
- Other entities have a cursor on `updated_at` (MetaData.LastUpdatedTime, kept in the
  resource state by helpers.read_cursor/write_cursor), re-read with a 5-minute overlap;
  duplicates are merged away by the primary key, the newest kept.
- On a sync after the first, one CDC request lists every entity's changes since the last
  sync, and entities whose changes it fully lists are not queried at all; the others are
  queried with `MetaData.LastUpdatedTime >= cursor`, ordered by it, 1,000 a page.
- Hard-deleted transactions are deleted from the tables (rows and child rows), not flagged:
  the raw tables mirror QuickBooks. CDC reports deletions of the last 30 days; when a
  transaction entity's last sync is older than that (or unknown), the entity is read in
  full and every stored row of this org and company that QuickBooks no longer has is
  deleted. Other organizations' and companies' rows are never touched.
- CompanyInfo and Preferences are read on every sync. Account, TaxCode, TaxRate,
  CompanyInfo and Preferences come in one batch request (session.py) while each fits a page.

The source makes no request when it is built (Dagster builds it to learn its tables); the
first resource to run asks QuickBooks for what it needs. The Dagster asset and the bench
load it in two passes, entities then reports, with the report requests sent ahead
(loads.py); a plain `pipeline.run(source)` loads it in one. Progress (entity, pages, rows) is
logged on the `qb_pipeline.sources.quickbooks` logger.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from qb_pipeline.quickbooks import QuickBooksClient
from qb_pipeline.sources.quickbooks.helpers.arrow_pages import (
    ROOT_KEY_COLUMNS,
    PageBuilder,
    TableBatches,
    page_items,
)
from qb_pipeline.sources.quickbooks.helpers.changes import write_checkpoint
from qb_pipeline.sources.quickbooks.helpers.paging import (
    entity_pages,
    read_cursor,
    stored_ids,
    write_cursor,
)
from qb_pipeline.sources.quickbooks.helpers.periods import pulled_after
from qb_pipeline.sources.quickbooks.helpers.reads import PREFETCHABLE, SyncSession
from qb_pipeline.sources.quickbooks.helpers.report_plan import report_chunks, report_pulls
from qb_pipeline.sources.quickbooks.helpers.report_rows import fetch_report, report_rows
from qb_pipeline.sources.quickbooks.helpers.row_tables import rows_table
from qb_pipeline.sources.quickbooks.settings import (
    ACCOUNT_COLUMNS,
    ALL_ENTITIES,
    ALWAYS_FULL,
    ARROW_BATCH_RECORDS,
    CDC_UNSUPPORTED,
    DEFAULT_HISTORY_YEARS,
    ENTITY_COLUMNS,
    ENTITY_KEY,
    LOADER_FILE_FORMAT,
    MAX_TABLE_NESTING,
    MERGE,
    OVERLAP_SECONDS,
    REPORT_LINE_COLUMNS,
    REPORT_LINE_KEY,
    REPORT_LINES_TABLE,
    REPORT_PERIOD_KEY,
    SINGLETON_ENTITIES,
    SOURCE_NAME,
    TABLE_NAMES,
    TRANSACTION_ENTITIES,
)

log = logging.getLogger("qb_pipeline.sources.quickbooks")

__all__ = ["ALL_ENTITIES", "quickbooks_source", "sync_session"]


@dlt.source(name=SOURCE_NAME, max_table_nesting=MAX_TABLE_NESTING)
def quickbooks_source(
    client: QuickBooksClient,
    org_id: str,
    realm_id: str,
    fiscal_year_start_month: int | None = None,
    history_years: int = DEFAULT_HISTORY_YEARS,
    today: date | None = None,
    entities: Sequence[str] = ALL_ENTITIES,
    include_reports: bool = True,
    session: SyncSession | None = None,
) -> list[DltResource]:
    """One company's data. `fiscal_year_start_month` (1-12) defaults to CompanyInfo's;
    `history_years` whole fiscal years of reports before the current one; `today` fixes the
    company's date (default: the server's); `entities` narrows the entities read. `session`
    (from `sync_session`, with the same arguments) is given by a caller that loads in two
    passes and sends the reports' requests ahead (loads.py)."""
    unknown = sorted(set(entities) - set(ALL_ENTITIES))
    if unknown:
        raise ValueError(f"unknown QuickBooks entities {unknown}; known: {list(ALL_ENTITIES)}")
    if history_years < 0:
        raise ValueError(f"history_years must not be negative, not {history_years}")
    if session is None:
        session = sync_session(
            client,
            org_id,
            realm_id,
            entities=entities,
            fiscal_year_start_month=fiscal_year_start_month,
            today=today,
        )
    resources: list[DltResource] = []
    for entity in entities:
        if entity in ALWAYS_FULL:
            resources.append(_bind(all_records, entity, ACCOUNT_COLUMNS)(session, entity))
        elif entity in SINGLETON_ENTITIES:
            resources.append(_bind(singleton_record, entity, ENTITY_COLUMNS)(session, entity))
        else:
            resources.append(_bind(changed_records, entity, ENTITY_COLUMNS)(session, entity))
    if include_reports:
        from qb_pipeline.sources.quickbooks.helpers.dimension_reports import report_dimension_lines

        resources.append(report_lines(session, history_years))
        resources.append(report_dimension_lines(session, history_years))
    return resources


def sync_session(
    client: QuickBooksClient,
    org_id: str,
    realm_id: str,
    *,
    entities: Sequence[str] = ALL_ENTITIES,
    fiscal_year_start_month: int | None = None,
    today: date | None = None,
) -> SyncSession:
    """What the resources of one sync share (session.py); makes no request."""
    return SyncSession(
        client,
        org_id,
        realm_id,
        cdc_entities=[e for e in entities if _uses_cdc(e)],
        fiscal_year_start_month=fiscal_year_start_month,
        today=today,
        # Account, TaxCode, TaxRate, CompanyInfo and Preferences in one batch request.
        prefetch=[e for e in entities if e in PREFETCHABLE],
    )


# -- resources -------------------------------------------------------------------------------
# Entity resources yield Arrow tables per page (arrow_pages.py): the root table and its
# child tables, so dlt does no per-row work of its own.


def changed_records(session: SyncSession, entity: str) -> Iterator[Any]:
    """Records of one list or transaction entity changed since the last sync, and
    deletion rows for the transactions deleted since.

    The cursor (helpers.read_cursor) is the newest `updated_at` loaded so far; the query
    starts OVERLAP_SECONDS before it."""
    session.reading_started()
    scanned_at = session.server_now()  # before reading: the next sync starts here
    found = session.changes.changes(entity) if _uses_cdc(entity) else None
    is_transaction = entity in TRANSACTION_ENTITIES
    pages = _pages(session, entity)
    cursor = read_cursor(dlt.current.resource_state())
    if found is not None and found.complete:
        log.info("%s: %d changed, %d deleted (CDC)", entity, len(found.records),
                 len(found.deletions))  # fmt: skip
        yield from page_items(pages.page(found.records))
        yield from _deletions(pages, found.deletions)
    else:
        # Past CDC's 1,000-object cap, follow CDC for the deletions (None: it cannot tell).
        deletions = session.changes.deletions_since(entity) if found is not None else None
        if is_transaction and deletions is None:
            yield from _full_reload(session, entity, pages)
        else:
            # A list entity (a delete is an update to inactive), a CDC-less one, or one
            # whose changes passed CDC's cap: read by query from the cursor.
            since = cursor - timedelta(seconds=OVERLAP_SECONDS) if cursor else None
            batches = TableBatches(ARROW_BATCH_RECORDS)
            for page in _entity_pages(session, entity, since):
                yield from batches.add(pages.page(page))
            yield from batches.flush()
            yield from _deletions(pages, deletions or [])
    write_cursor(dlt.current.resource_state(), cursor, pages.newest)
    if _uses_cdc(entity):
        write_checkpoint(entity, scanned_at)


def all_records(session: SyncSession, entity: str) -> Iterator[Any]:
    """Every record of the entity, inactive ones included, on every sync."""
    session.reading_started()
    pages = _pages(session, entity)
    batches = TableBatches(ARROW_BATCH_RECORDS)
    for page in _entity_pages(session, entity, None):
        yield from batches.add(pages.page(page))
    yield from batches.flush()


def _entity_pages(
    session: SyncSession, entity: str, since: datetime | None
) -> Iterator[list[dict]] | list[list[dict]]:
    """The session's batch answer for a small entity (one page), else the paged query."""
    prefetched = session.prefetched(entity, since=since)
    if prefetched is not None:
        return [prefetched]
    return entity_pages(session.client, entity, since=since)


def singleton_record(session: SyncSession, entity: str) -> Iterator[Any]:
    """CompanyInfo or Preferences (one record per company)."""
    session.reading_started()
    record = session.company_info() if entity == "CompanyInfo" else session.preferences()
    yield from page_items(_pages(session, entity).page([record]))


@dlt.resource(
    name=REPORT_LINES_TABLE,
    primary_key=REPORT_LINE_KEY,
    merge_key=REPORT_PERIOD_KEY,
    write_disposition=MERGE,
    columns={**REPORT_LINE_COLUMNS, **ROOT_KEY_COLUMNS},
    file_format=LOADER_FILE_FORMAT,
)
def report_lines(session: SyncSession, history_years: int) -> Iterator[Any]:
    """Monthly report lines over the history on the first sync, then the re-pull window
    (periods.py) on every sync."""
    state = dlt.current.resource_state().setdefault("pulled", {})
    today = session.today()
    pulled_at = session.server_now()
    for pull in report_pulls(session, history_years, state):
        for chunk in report_chunks(session, pull):
            for part, report in fetch_report(session.reports.report, pull.name, pull.basis, chunk):
                rows = report_rows(
                    report,
                    org_id=session.org_id,
                    realm_id=session.realm_id,
                    name=pull.name,
                    basis=pull.basis,
                    window=part,
                    pulled_at=pulled_at,
                )
                log.info("%s %s %s..%s: %d rows", pull.name, pull.basis, part.start, part.end,
                         len(rows))  # fmt: skip
                yield rows_table(rows, REPORT_LINE_COLUMNS, REPORT_LINE_KEY)
        state[pull.state_key] = pulled_after(pull.previous, pull.windows, today).to_state()


# -- helpers ---------------------------------------------------------------------------------
def _uses_cdc(entity: str) -> bool:
    return (
        entity not in CDC_UNSUPPORTED
        and entity not in ALWAYS_FULL
        and entity not in SINGLETON_ENTITIES
    )


def _bind(function: Any, entity: str, columns: dict) -> Any:
    """`function` as the resource of `entity`, named after its table."""
    return dlt.resource(
        function,
        name=TABLE_NAMES[entity],
        primary_key=ENTITY_KEY,
        write_disposition=MERGE,
        columns={**columns, **ROOT_KEY_COLUMNS},
        file_format=LOADER_FILE_FORMAT,
    )


def _pages(session: SyncSession, entity: str) -> PageBuilder:
    return PageBuilder(TABLE_NAMES[entity], session.org_id, session.realm_id)


def _deletions(pages: PageBuilder, deletions: list[tuple[str, datetime | None]]) -> Iterator[Any]:
    return page_items(pages.deletions(deletions))


def _full_reload(session: SyncSession, entity: str, pages: PageBuilder) -> Iterator[Any]:
    """Every record of a transaction entity, then deletion rows for the stored ones that
    QuickBooks no longer has (CDC cannot tell: the last sync is too old or unknown)."""
    log.info("%s: full reload (deletions older than CDC's window)", entity)
    seen: set[str] = set()
    batches = TableBatches(ARROW_BATCH_RECORDS)
    for page in entity_pages(session.client, entity):
        seen.update(str(r.get("Id")) for r in page)
        yield from batches.add(pages.page(page))
    yield from batches.flush()
    gone = stored_ids(TABLE_NAMES[entity], session.org_id, session.realm_id) - seen
    if gone:
        log.info("%s: %d stored records no longer in QuickBooks", entity, len(gone))
    yield from _deletions(pages, [(record_id, None) for record_id in sorted(gone)])
