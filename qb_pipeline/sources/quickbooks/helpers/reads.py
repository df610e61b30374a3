"""What one sync knows about the company and the server's clock, asked for at most once.

The source builds a SyncSession without making a request (Dagster builds sources when it
loads definitions); the first resource that needs a fact asks QuickBooks, the others reuse
the answer. Time comes from the server, never from this machine: CDC windows are judged by
QuickBooks' clock and report months by the company's own date.

Small entities in one request. Account (read in full on every sync), TaxCode and TaxRate
(CDC does not list them), CompanyInfo and Preferences are each a request on every sync,
usually for a page of less than 1,000 records. The session reads them together with one
`POST batch` (`prefetched`), made on first use, which turns five requests into one. An
entity whose batch answer fills a whole page (there may be more), or whose query
QuickBooks refused, is read by paged query as before: `prefetched` says so with None.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime

from qb_pipeline.quickbooks import QuickBooksClient, QuickBooksError
from qb_pipeline.quickbooks.client import BatchItemError
from qb_pipeline.quickbooks.errors import (
    AuthenticationError,
    AuthorizationError,
    NetworkError,
    ServerError,
    ThrottledError,
)
from qb_pipeline.sources.quickbooks.helpers.changes import ChangeScan
from qb_pipeline.sources.quickbooks.helpers.paging import entity_where, parse_qbo_time
from qb_pipeline.sources.quickbooks.helpers.report_prefetch import ReportPrefetch
from qb_pipeline.sources.quickbooks.settings import MONTH_NAMES, PAGE_SIZE, SINGLETON_ENTITIES

log = logging.getLogger("qb_pipeline.sources.quickbooks")

# Entities read on every sync that usually fit one page: worth one batch request together.
PREFETCHABLE: tuple[str, ...] = ("Account", "TaxCode", "TaxRate", "CompanyInfo", "Preferences")
# Errors that would fail the paged reads as well: they stop the sync instead of a fallback.
_NOT_A_REFUSAL = (
    AuthenticationError,
    AuthorizationError,
    NetworkError,
    ServerError,
    ThrottledError,
)


class SyncSession:
    """Shared by the resources of one source instance (one sync of one company)."""

    def __init__(
        self,
        client: QuickBooksClient,
        org_id: str,
        realm_id: str,
        *,
        cdc_entities: Sequence[str],
        fiscal_year_start_month: int | None = None,
        today: date | None = None,
        prefetch: Sequence[str] = (),
    ) -> None:
        """`prefetch`: entities of PREFETCHABLE that this sync reads, for `prefetched`."""
        if fiscal_year_start_month is not None and not 1 <= fiscal_year_start_month <= 12:
            raise ValueError(
                f"fiscal_year_start_month must be 1..12, not {fiscal_year_start_month}"
            )
        unknown = [entity for entity in prefetch if entity not in PREFETCHABLE]
        if unknown:
            raise ValueError(
                f"cannot prefetch {unknown}; entities read in one batch: {list(PREFETCHABLE)}"
            )
        self.client = client
        self.org_id = org_id
        self.realm_id = realm_id
        self.changes = ChangeScan(client, cdc_entities)
        self._fiscal_month = fiscal_year_start_month
        self._today = today
        self._lock = threading.RLock()
        self._company_info: dict | None = None
        self._preferences: dict | None = None
        self._probed_time: datetime | None = None
        self._prefetch = tuple(dict.fromkeys(prefetch))
        self._prefetched: dict[str, list[dict]] | None = None
        # Report requests sent ahead while the entities load (report_prefetch.py, loads.py).
        self.reports = ReportPrefetch(client)
        # Called once, when the first entity resource starts reading (loads.py): inside the
        # extraction, so it sees the sync's state as the resources do.
        self.on_first_read: Callable[[], None] | None = None

    def prefetched(self, entity: str, since: datetime | None = None) -> list[dict] | None:
        """Every record of `entity` (inactive ones included) changed at or after `since`
        (all when None), oldest change first, from the sync's one batch request; or None:
        read it by paged query instead (not prefetched, more than a page, or refused).

        The batch is sent on the first call, for every entity given as `prefetch`. It
        reads each entity in full, so `since` is applied here as the paged query would
        (`MetaData.LastUpdatedTime >= since`, to the second)."""
        with self._lock:
            if self._prefetched is None:
                self._prefetched = self._read_prefetch()
            records = self._prefetched.get(entity)
        if records is None or since is None:
            return records
        floor = since.replace(microsecond=0)
        return [r for r in records if _changed_at_or_after(r, floor)]

    def reading_started(self) -> None:
        """An entity resource starts: run `on_first_read` if this is the first."""
        with self._lock:
            hook, self.on_first_read = self.on_first_read, None
        if hook is not None:
            hook()

    def company_info(self) -> dict:
        with self._lock:
            if self._company_info is None:
                found = self.prefetched("CompanyInfo") if "CompanyInfo" in self._prefetch else None
                self._company_info = found[0] if found else self.client.company_info()
            return self._company_info

    def preferences(self) -> dict:
        with self._lock:
            if self._preferences is None:
                found = self.prefetched("Preferences") if "Preferences" in self._prefetch else None
                self._preferences = found[0] if found else self.client.preferences()
            return self._preferences

    def fiscal_year_start_month(self) -> int:
        """1..12: the argument if given, else CompanyInfo.FiscalYearStartMonth."""
        if self._fiscal_month is None:
            self._fiscal_month = month_number(self.company_info().get("FiscalYearStartMonth"))
        return self._fiscal_month

    def server_now(self) -> datetime:
        """The server's current time with the company's offset: the CDC answer's time when
        the sync asked CDC, else the time in a minimal report's header (one request)."""
        self.changes.run()
        if self.changes.server_time is not None:
            return self.changes.server_time
        with self._lock:
            if self._probed_time is None:
                self._probed_time = self._probe_time()
            return self._probed_time

    def today(self) -> date:
        """The company's date (the argument, if the caller fixed it)."""
        return self._today or self.server_now().date()

    def _read_prefetch(self) -> dict[str, list[dict]]:
        """{entity: records} for the entities whose batch answer is complete."""
        if len(self._prefetch) < 2:
            return {}  # a batch of one saves no request
        try:
            results = self.client.batch([_prefetch_query(e) for e in self._prefetch])
        except QuickBooksError as error:
            if isinstance(error, _NOT_A_REFUSAL) or error.status != 400:
                raise
            log.warning("QuickBooks refused the batch read (%s); reading by query", error)
            return {}
        found: dict[str, list[dict]] = {}
        for entity, result in zip(self._prefetch, results, strict=True):
            if isinstance(result, BatchItemError):
                log.warning("%s: QuickBooks refused its batch query (%s); reading by query",
                            entity, result)  # fmt: skip
            elif entity in SINGLETON_ENTITIES and len(result) != 1:
                log.warning("%s: the batch answered %d records; reading it directly",
                            entity, len(result))  # fmt: skip
            elif len(result) >= PAGE_SIZE:
                log.info("%s: a full page in the batch; reading it by paged query", entity)
            else:
                found[entity] = result
        if found:
            read = ", ".join(f"{entity} {len(records)}" for entity, records in found.items())
            log.info("One batch request read %s records", read)
        return found

    def _probe_time(self) -> datetime:
        report = self.client.report(
            "ProfitAndLoss", {"date_macro": "Today", "summarize_column_by": "Total"}
        )
        # The client checked it: a date-time with its offset (quickbooks/answers.py).
        return datetime.fromisoformat(report["Header"]["Time"])


def month_number(name: object) -> int:
    """`"July"` -> 7; QuickBooks spells FiscalYearStartMonth as an English month name."""
    if isinstance(name, str):
        for number, month in enumerate(MONTH_NAMES, start=1):
            if month.lower() == name.strip().lower():
                return number
    raise QuickBooksError(
        f"CompanyInfo.FiscalYearStartMonth is {name!r}, not a month name; "
        "pass fiscal_year_start_month to the source"
    )


def _prefetch_query(entity: str) -> str:
    """The batch statement of one entity: every record, the same rows as a paged read."""
    if entity in SINGLETON_ENTITIES:
        return f"SELECT * FROM {entity}"
    where = entity_where(entity, None)
    condition = f" WHERE {where}" if where else ""
    return (
        f"SELECT * FROM {entity}{condition} ORDERBY MetaData.LastUpdatedTime MAXRESULTS {PAGE_SIZE}"
    )


def _changed_at_or_after(record: dict, floor: datetime) -> bool:
    updated = parse_qbo_time((record.get("MetaData") or {}).get("LastUpdatedTime"))
    return updated is None or updated >= floor
