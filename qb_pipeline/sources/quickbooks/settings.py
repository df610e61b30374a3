"""Constants of the `quickbooks` dlt source: what it reads, in which pages and windows.

Entity names are QuickBooks' own; each lands in a table named after it in snake case
(`JournalEntry` -> `journal_entry`), with nested lists as child tables
(`journal_entry__line`).
"""

from __future__ import annotations

import re

SOURCE_NAME = "quickbooks"
DATASET_NAME = "qbo_raw"
# Nested lists two levels deep become child tables (invoice__line,
# invoice__line__linked_txn); deeper ones stay JSON in their parent's row.
MAX_TABLE_NESTING = 2
# Parquet loads far faster and leaner than DuckDB's default insert_values
# (field-notes: 7 s and 0.4 GB against 28 s and 5.4 GB for 200k rows).
LOADER_FILE_FORMAT = "parquet"

# Name lists: queries hide inactive rows unless asked (`Active IN (true, false)`).
LIST_ENTITIES: tuple[str, ...] = (
    "Account",
    "Class",
    "Department",
    "Item",
    "Customer",
    "Vendor",
    "Employee",
    "Term",
    "PaymentMethod",
    "TaxCode",
    "TaxRate",
    "Budget",
)
# Transactions are hard-deleted in QuickBooks; only CDC reports the deletions.
TRANSACTION_ENTITIES: tuple[str, ...] = (
    "Invoice",
    "Bill",
    "Purchase",
    "JournalEntry",
    "Deposit",
    "SalesReceipt",
    "Payment",
    "BillPayment",
    "CreditMemo",
    "RefundReceipt",
    "VendorCredit",
    "Transfer",
    "Estimate",
    "PurchaseOrder",
)
# One record per company, read directly on every sync.
SINGLETON_ENTITIES: tuple[str, ...] = ("CompanyInfo", "Preferences")
ALL_ENTITIES: tuple[str, ...] = (*LIST_ENTITIES, *TRANSACTION_ENTITIES, *SINGLETON_ENTITIES)

# Entities the CDC endpoint refuses (reference section 5): always read by query.
CDC_UNSUPPORTED: frozenset[str] = frozenset({"TaxCode", "TaxRate"})
# Read in full on every sync: an account's CurrentBalance moves with every posting while
# its MetaData.LastUpdatedTime does not, so no cursor can see the change.
ALWAYS_FULL: frozenset[str] = frozenset({"Account"})

PAGE_SIZE = 1000  # Intuit's maximum MAXRESULTS
# Root rows whose Arrow tables are joined before dlt gets them (arrow_pages.TableBatches):
# dlt's work per table it is given is fixed (about 10 ms); see bench/README.md.
ARROW_BATCH_RECORDS = 5000
# Re-read this much before the cursor and the previous CDC checkpoint: LastUpdatedTime has
# second precision and a record can commit a little after the time it carries.
OVERLAP_SECONDS = 300
# CDC answers for the last 30 days; stay a day inside that.
CDC_LOOKBACK_DAYS = 29

# Reports: (name, accounting bases). CashFlow is one statement; it is pulled on accrual.
REPORTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ProfitAndLoss", ("Accrual", "Cash")),
    ("BalanceSheet", ("Accrual", "Cash")),
    ("CashFlow", ("Accrual",)),
)
REPORT_SUMMARIZE_BY = "Month"
DEFAULT_HISTORY_YEARS = 3  # fiscal years before the current one
# Re-pulled on every sync besides the current fiscal year: back-dated entries land in
# closed months, and a month is never older than this when first re-read.
TRAILING_DAYS = 60
MAX_REPORT_MONTHS = 12  # per request; split further on ReportRangeTooWide

# Integer-valued fields. Every other JSON number is loaded as a float, so that a money field
# that QuickBooks happens to serialize as `275` does not split into two typed columns.
INTEGER_FIELDS: frozenset[str] = frozenset(
    {"LineNum", "Level", "DueDays", "DiscountDays", "DayOfMonthDue", "DueNextMonthDays",
     "DiscountDayOfMonth", "TaxOrder"}
)  # fmt: skip

MONTH_NAMES: tuple[str, ...] = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def table_name(entity: str) -> str:
    """The raw table of `entity`: `JournalEntry` -> `journal_entry`."""
    return _CAMEL_BOUNDARY.sub("_", entity).lower()


TABLE_NAMES: dict[str, str] = {entity: table_name(entity) for entity in ALL_ENTITIES}
REPORT_LINES_TABLE = "report_lines"
