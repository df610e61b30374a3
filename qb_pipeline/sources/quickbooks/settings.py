"""Constants of the `quickbooks` dlt source: what it reads, in which pages and windows.

Entity names are QuickBooks' own; each lands in a table named after it in snake case
(`JournalEntry` -> `journal_entry`), with nested lists as child tables
(`journal_entry__line`).

The last part holds the table hints of `qbo_raw`: keys, merge rules and the columns declared
up front. Columns the staging SQL reads are declared with their types, so they exist (empty)
even when no record has the field (a company without sub-accounts has no `ParentRef` at all)
and keep one type whatever the first record looked like.
"""

from __future__ import annotations

import re
from typing import Any

SOURCE_NAME = "quickbooks"
DATASET_NAME = "qbo_raw"
# Nested lists two levels deep become child tables (invoice__line,
# invoice__line__linked_txn); deeper ones stay JSON in their parent's row.
MAX_TABLE_NESTING = 2
# Parquet loads far faster and leaner than DuckDB's default insert_values
# (measured here: 7 s and 0.4 GB against 28 s and 5.4 GB for 200k rows).
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


# -- table hints ---------------------------------------------------------------------------

MERGE: dict[str, str] = {"disposition": "merge", "strategy": "delete-insert"}
ENTITY_KEY: tuple[str, ...] = ("org_id", "realm_id", "id")
REPORT_PERIOD_KEY: tuple[str, ...] = ("org_id", "realm_id", "report_name", "basis", "period_start")
REPORT_LINE_KEY: tuple[str, ...] = (*REPORT_PERIOD_KEY, "line_key")


def _text(description: str) -> dict[str, Any]:
    return {"data_type": "text", "description": description}


ENTITY_COLUMNS: dict[str, dict[str, Any]] = {
    "org_id": _text("Organization (tenant) slug that owns the connection"),
    "realm_id": _text("QuickBooks company id (realmId)"),
    "id": _text("QuickBooks record Id"),
    "updated_at": {
        "data_type": "timestamp",
        "dedup_sort": "desc",  # of two versions in one load, the newest wins
        "description": "MetaData.LastUpdatedTime in UTC (the incremental cursor)",
    },
    "is_deleted": {
        "data_type": "bool",
        "hard_delete": True,
        "description": "Hard-delete marker: rows loaded with true delete the record; "
        "always empty in the table",
    },
    # As QuickBooks wrote them, with the company's UTC offset (`updated_at` is the typed
    # copy); as text they also skip a costly timestamp parse per row when loading.
    "meta_data__create_time": _text("MetaData.CreateTime as sent, company-local offset"),
    "meta_data__last_updated_time": _text("MetaData.LastUpdatedTime as sent"),
}

ACCOUNT_COLUMNS: dict[str, dict[str, Any]] = {
    **ENTITY_COLUMNS,
    "name": _text("Account name (deleted accounts end in ' (deleted)')"),
    "fully_qualified_name": _text("Name with its parents, joined by ':'"),
    "account_type": _text("AccountType, e.g. 'Bank', 'Income', 'Cost of Goods Sold'"),
    "account_sub_type": _text("AccountSubType, e.g. 'Checking'"),
    "classification": _text("Asset, Liability, Equity, Revenue or Expense"),
    "parent_ref__value": _text("Parent account Id (sub-accounts only)"),
    "sub_account": {"data_type": "bool", "description": "True for a sub-account"},
    "active": {"data_type": "bool", "description": "False for inactive and deleted accounts"},
    "acct_num": _text("Account number, when the company uses them"),
    "current_balance": {"data_type": "double", "description": "Own balance, natural sign"},
    "current_balance_with_sub_accounts": {
        "data_type": "double",
        "description": "Balance including sub-accounts",
    },
    "currency_ref__value": _text("Currency code of the account"),
}

# Child-table columns the staging SQL reads that a record may lack: a budget that is not
# subdivided by class, location or customer has no ClassRef, DepartmentRef or CustomerRef
# on any line, and the columns must exist all the same (qbo.budgets reads them).
CHILD_TABLE_COLUMNS: dict[str, dict[str, dict[str, Any]]] = {
    "budget__budget_detail": {
        "class_ref__value": _text("Class Id of a budget subdivided by class"),
        "department_ref__value": _text("Department (location) Id of a budget by location"),
        "customer_ref__value": _text("Customer Id of a budget subdivided by customer"),
    },
}

REPORT_LINE_COLUMNS: dict[str, dict[str, Any]] = {
    "org_id": _text("Organization (tenant) slug"),
    "realm_id": _text("QuickBooks company id (realmId)"),
    "report_name": _text("ProfitAndLoss, BalanceSheet or CashFlow"),
    "basis": _text("Accounting basis asked for: Accrual or Cash"),
    "period_start": {"data_type": "date", "description": "First day of the month column"},
    "period_end": {
        "data_type": "date",
        "description": "Last day of the month column (the sync's date for the current month)",
    },
    "line_key": _text(
        "Line key unique within report month: enclosing sections, then account:<id>, total "
        "or line:<group>; '' on period markers"
    ),
    "row_kind": _text("'line', or 'period' for the marker row of each pulled month"),
    "account_id": _text("Account Id of an account line; empty on summaries and computed lines"),
    "account_name": _text("Label QuickBooks printed on the line (localized; not a key)"),
    "report_group": _text(
        "Group of the nearest enclosing section: Income, COGS, GrossProfit, Expenses, "
        "NetIncome, BankAccounts, ..."
    ),
    "section_path": _text("Keys of the enclosing sections, outermost first, joined by '/'"),
    "is_summary": {"data_type": "bool", "description": "True on a section's total line"},
    "summary_of_account_id": _text("On the total of a parent account: that account's Id"),
    "has_sub_accounts": {
        "data_type": "bool",
        "description": "True on a parent account's own line (its sub-accounts are separate)",
    },
    "amount": {
        "data_type": "decimal",
        "description": "Amount in the home currency; empty for a blank cell",
    },
    "currency": _text("Home currency of the report"),
    "pulled_at": {"data_type": "timestamp", "description": "Server time of the sync"},
}
