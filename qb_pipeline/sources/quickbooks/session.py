"""What one sync knows about the company and the server's clock, asked for at most once.

The source builds a SyncSession without making a request (Dagster builds sources when it
loads definitions); the first resource that needs a fact asks QuickBooks, the others reuse
the answer. Time comes from the server, never from this machine: CDC windows are judged by
QuickBooks' clock and report months by the company's own date.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date, datetime

from qb_pipeline.quickbooks import QuickBooksClient, QuickBooksError
from qb_pipeline.sources.quickbooks.changes import ChangeScan
from qb_pipeline.sources.quickbooks.settings import MONTH_NAMES


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
    ) -> None:
        if fiscal_year_start_month is not None and not 1 <= fiscal_year_start_month <= 12:
            raise ValueError(
                f"fiscal_year_start_month must be 1..12, not {fiscal_year_start_month}"
            )
        self.client = client
        self.org_id = org_id
        self.realm_id = realm_id
        self.changes = ChangeScan(client, cdc_entities)
        self._fiscal_month = fiscal_year_start_month
        self._today = today
        self._lock = threading.RLock()
        self._company_info: dict | None = None
        self._probed_time: datetime | None = None

    def company_info(self) -> dict:
        with self._lock:
            if self._company_info is None:
                self._company_info = self.client.company_info()
            return self._company_info

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

    def _probe_time(self) -> datetime:
        report = self.client.report(
            "ProfitAndLoss", {"date_macro": "Today", "summarize_column_by": "Total"}
        )
        text = (report.get("Header") or {}).get("Time")
        try:
            moment = datetime.fromisoformat(text) if isinstance(text, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise QuickBooksError(
                "QuickBooks answered a report without a usable Header.Time "
                f"({text!r}); the sync cannot tell the server's time"
            )
        return moment


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
