"""The dlt source `quickbooks`: one QuickBooks Online company into the `qbo_raw` dataset.

Tables (schema `qbo_raw`; every row carries `org_id` and `realm_id`):

- one table per entity, named in snake case: `account`, `class`, `department`, `item`,
  `customer`, `vendor`, `employee`, `term`, `payment_method`, `tax_code`, `tax_rate`,
  `budget`, `invoice`, `bill`, `purchase`, `journal_entry`, `deposit`, `sales_receipt`,
  `payment`, `bill_payment`, `credit_memo`, `refund_receipt`, `vendor_credit`,
  `transfer`, `estimate`, `purchase_order`, `company_info`, `preferences`. Nested lists
  are child tables (`invoice__line`, `journal_entry__line`, `invoice__line__linked_txn`,
  ...) joined by `child._dlt_parent_id = parent._dlt_id` (`_dlt_root_id` for the root
  row). Merged on `(org_id, realm_id, id)`.
- `report_lines`: ProfitAndLoss and BalanceSheet (accrual and cash) and CashFlow (accrual),
  one row per report line and month (see report_rows.py), merged on
  `(org_id, realm_id, report_name, basis, period_start)`.

How entities stay current (choices documented in changes.py and helpers.py):

- `Account` is read in full on every sync (balances move without LastUpdatedTime moving).
- Other entities have a cursor on `updated_at` (MetaData.LastUpdatedTime), re-read with a
  5-minute overlap; duplicates are merged away by the primary key, the newest kept.
- On a sync after the first, one CDC request lists every entity's changes since the last
  sync, and entities whose changes it fully lists are not queried at all; the others are
  queried with `MetaData.LastUpdatedTime >= cursor`, ordered by it, 1,000 a page.
- Hard-deleted transactions are deleted from the tables (rows and child rows), not flagged:
  the raw tables mirror QuickBooks. CDC reports deletions of the last 30 days; when a
  transaction entity's last sync is older than that (or unknown), the entity is read in
  full and every stored row of this org and company that QuickBooks no longer has is
  deleted. Other organizations' and companies' rows are never touched.
- CompanyInfo and Preferences are read on every sync.

The source makes no request when it is built (Dagster builds it to learn its tables); the
first resource to run asks QuickBooks for what it needs. Progress (entity, pages, rows) is
logged on the `qb_pipeline.sources.quickbooks` logger.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from qb_pipeline.quickbooks import QuickBooksClient
from qb_pipeline.sources.quickbooks.changes import write_checkpoint
from qb_pipeline.sources.quickbooks.helpers import (
    deletion_row,
    entity_pages,
    loaded_row,
    stored_ids,
)
from qb_pipeline.sources.quickbooks.periods import (
    PulledRange,
    pulled_after,
    request_ranges,
    windows_to_pull,
)
from qb_pipeline.sources.quickbooks.report_rows import fetch_report, report_rows
from qb_pipeline.sources.quickbooks.session import SyncSession
from qb_pipeline.sources.quickbooks.settings import (
    ALL_ENTITIES,
    ALWAYS_FULL,
    CDC_UNSUPPORTED,
    CURSOR_FIELD,
    DEFAULT_HISTORY_YEARS,
    LOADER_FILE_FORMAT,
    MAX_TABLE_NESTING,
    OVERLAP_SECONDS,
    REPORT_LINES_TABLE,
    REPORTS,
    SINGLETON_ENTITIES,
    SOURCE_NAME,
    TABLE_NAMES,
    TRANSACTION_ENTITIES,
)
from qb_pipeline.sources.quickbooks.tables import (
    ACCOUNT_COLUMNS,
    ENTITY_COLUMNS,
    ENTITY_KEY,
    MERGE,
    REPORT_LINE_COLUMNS,
    REPORT_LINE_KEY,
    REPORT_PERIOD_KEY,
)

log = logging.getLogger("qb_pipeline.sources.quickbooks")

__all__ = ["ALL_ENTITIES", "quickbooks_source"]


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
) -> list[DltResource]:
    """One company's data. `fiscal_year_start_month` (1-12) defaults to CompanyInfo's;
    `history_years` whole fiscal years of reports before the current one; `today` fixes the
    company's date (default: the server's); `entities` narrows the entities read."""
    unknown = sorted(set(entities) - set(ALL_ENTITIES))
    if unknown:
        raise ValueError(f"unknown QuickBooks entities {unknown}; known: {list(ALL_ENTITIES)}")
    if history_years < 0:
        raise ValueError(f"history_years must not be negative, not {history_years}")
    session = SyncSession(
        client,
        org_id,
        realm_id,
        cdc_entities=[e for e in entities if _uses_cdc(e)],
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
        resources.append(report_lines(session, history_years))
    return resources


# -- resources -------------------------------------------------------------------------------
# The cursor of every incremental entity (dlt copies it per resource).
UPDATED_AT: dlt.sources.incremental[datetime] = dlt.sources.incremental(
    CURSOR_FIELD,
    lag=OVERLAP_SECONDS,
    primary_key=(),  # no dedup here: the merge keeps the newest row per id
    on_cursor_value_missing="include",  # deletion rows of a full reload carry no time
)


def changed_records(
    session: SyncSession,
    entity: str,
    updated_at: dlt.sources.incremental[datetime] = UPDATED_AT,
) -> Iterator[list[dict]]:
    """Records of one list or transaction entity changed since the last sync, and
    deletion rows for the transactions deleted since."""
    scanned_at = session.server_now()  # before reading: the next sync starts here
    found = session.changes.changes(entity) if _uses_cdc(entity) else None
    is_transaction = entity in TRANSACTION_ENTITIES
    if found is not None and found.complete:
        log.info("%s: %d changed, %d deleted (CDC)", entity, len(found.records),
                 len(found.deletions))  # fmt: skip
        yield [loaded_row(r, session.org_id, session.realm_id) for r in found.records]
        yield _deletions(session, found.deletions)
    else:
        # Past CDC's 1,000-object cap, follow CDC for the deletions (None: it cannot tell).
        deletions = session.changes.deletions_since(entity) if found is not None else None
        if is_transaction and deletions is None:
            yield from _full_reload(session, entity)
        else:
            # A list entity (a delete is an update to inactive), a CDC-less one, or one
            # whose changes passed CDC's cap: read by query from the cursor.
            for page in entity_pages(session.client, entity, since=updated_at.start_value):
                yield [loaded_row(r, session.org_id, session.realm_id) for r in page]
            yield _deletions(session, deletions or [])
    if _uses_cdc(entity):
        write_checkpoint(entity, scanned_at)


def all_records(session: SyncSession, entity: str) -> Iterator[list[dict]]:
    """Every record of the entity, inactive ones included, on every sync."""
    for page in entity_pages(session.client, entity):
        yield [loaded_row(r, session.org_id, session.realm_id) for r in page]


def singleton_record(session: SyncSession, entity: str) -> Iterator[dict]:
    """CompanyInfo or Preferences (one record per company)."""
    record = session.company_info() if entity == "CompanyInfo" else session.client.preferences()
    yield loaded_row(record, session.org_id, session.realm_id)


@dlt.resource(
    name=REPORT_LINES_TABLE,
    primary_key=REPORT_LINE_KEY,
    merge_key=REPORT_PERIOD_KEY,
    write_disposition=MERGE,
    columns=REPORT_LINE_COLUMNS,
    file_format=LOADER_FILE_FORMAT,
)
def report_lines(session: SyncSession, history_years: int) -> Iterator[list[dict]]:
    """Monthly report lines over the history on the first sync, then the re-pull window
    (periods.py) on every sync."""
    state = dlt.current.resource_state().setdefault("pulled", {})
    today = session.today()
    first_month = session.fiscal_year_start_month()
    pulled_at = session.server_now()
    for name, bases in REPORTS:
        for basis in bases:
            key = f"{name}:{basis}"
            previous = PulledRange.from_state(state.get(key))
            windows = windows_to_pull(today, first_month, history_years, previous)
            for window in windows:
                for chunk in request_ranges(window, first_month):
                    for part, report in fetch_report(session.client, name, basis, chunk):
                        rows = report_rows(
                            report,
                            org_id=session.org_id,
                            realm_id=session.realm_id,
                            name=name,
                            basis=basis,
                            window=part,
                            pulled_at=pulled_at,
                        )
                        log.info("%s %s %s..%s: %d rows", name, basis, part.start, part.end,
                                 len(rows))  # fmt: skip
                        yield rows
            state[key] = pulled_after(previous, windows, today).to_state()


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
        columns=columns,
        file_format=LOADER_FILE_FORMAT,
    )


def _deletions(session: SyncSession, deletions: list) -> list[dict]:
    return [deletion_row(i, session.org_id, session.realm_id, when) for i, when in deletions]


def _full_reload(session: SyncSession, entity: str) -> Iterator[list[dict]]:
    """Every record of a transaction entity, then deletion rows for the stored ones that
    QuickBooks no longer has (CDC cannot tell: the last sync is too old or unknown)."""
    log.info("%s: full reload (deletions older than CDC's window)", entity)
    seen: set[str] = set()
    for page in entity_pages(session.client, entity):
        seen.update(str(r.get("Id")) for r in page)
        yield [loaded_row(r, session.org_id, session.realm_id) for r in page]
    gone = stored_ids(TABLE_NAMES[entity], session.org_id, session.realm_id) - seen
    if gone:
        log.info("%s: %d stored records no longer in QuickBooks", entity, len(gone))
    yield _deletions(session, [(record_id, None) for record_id in sorted(gone)])
