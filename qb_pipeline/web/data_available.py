""" "Data available" in a user's words: what was imported for the connected company, and the
dates each dataset covers ("Profit and Loss (monthly) since Jan 2023", "Invoices (2023-01-04
to 2026-11-15)").

The names and row counts come from the control DB (the sync records them); the dates come
from the serving copy: report marts by month, transactions by their transaction date. A
dataset the copy cannot date (a list such as customers, or a copy not published yet) is
named without dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from qb_pipeline.connections.results import Dataset

# dataset -> (label, relation, date column); reports are monthly, dated by their months.
REPORTS = {
    "profit_and_loss": ("Profit and Loss (monthly)", "marts.pnl_monthly", "month"),
    "balance_sheet": ("Balance Sheet (month ends)", "marts.balance_sheet_monthly", "month_end"),
    "cash_flow": ("Cash Flow (monthly)", "marts.cash_flow_monthly", "month"),
    "report_dimension_lines": (
        "Profit and Loss by class and location (monthly)",
        "marts.pnl_monthly_by_dimension",
        "month",
    ),
}
TRANSACTIONS = {
    "invoice": "Invoices",
    "sales_receipt": "Sales receipts",
    "payment": "Customer payments",
    "credit_memo": "Credit memos",
    "refund_receipt": "Refunds",
    "estimate": "Estimates",
    "deposit": "Deposits",
    "bill": "Bills",
    "bill_payment": "Bill payments",
    "purchase": "Expenses and checks",
    "purchase_order": "Purchase orders",
    "vendor_credit": "Vendor credits",
    "journal_entry": "Journal entries",
    "transfer": "Transfers",
}
LISTS = {
    "account": "Chart of accounts",
    "customer": "Customers",
    "vendor": "Vendors",
    "employee": "Employees",
    "item": "Products and services",
    "class": "Classes",
    "department": "Locations",
    "term": "Payment terms",
    "payment_method": "Payment methods",
    "tax_code": "Tax codes",
    "tax_rate": "Tax rates",
    "budget": "Budgets",
    "company_info": "Company information",
    "preferences": "Company preferences",
}
RAW_SCHEMA = "qbo_raw"
# The order of the table: the chart of accounts, reports, transactions, then the lists.
ORDER = ["account", *REPORTS, *TRANSACTIONS, *LISTS]

RELATION_EXISTS_SQL = """
SELECT count(*)
FROM information_schema.columns
WHERE table_schema = ? AND table_name = ? AND column_name = ?
"""


@dataclass(frozen=True)
class Available:
    """One row of "Data available"."""

    name: str  # the dataset's name in the sync log (e.g. invoice)
    label: str  # what a person reads, dates included
    rows: int | None
    updated_at: datetime | None
    first: date | None = None
    last: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.name,
            "label": self.label,
            "rows": self.rows,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
        }


def _span(
    con: duckdb.DuckDBPyConnection, relation: str, column: str, org: str, realm_id: str
) -> tuple[date | None, date | None]:
    schema, table = relation.split(".")
    (exists,) = con.execute(RELATION_EXISTS_SQL, [schema, table, column]).fetchone()
    if not exists:
        return None, None
    # Names come from the constants above, never from input.
    query = (
        f'SELECT min(TRY_CAST("{column}" AS DATE)), max(TRY_CAST("{column}" AS DATE)) '
        f'FROM {schema}."{table}" WHERE org_id = ? AND realm_id = ?'
    )
    first, last = con.execute(query, [org, realm_id]).fetchone()
    return first, last


def describe(
    con: duckdb.DuckDBPyConnection | None,
    org: str,
    realm_id: str | None,
    datasets: list[Dataset],
) -> list[Available]:
    """Every imported dataset of the company, labelled, with its dates when `con` (the
    serving copy) has them."""
    found = []
    for dataset in sorted(datasets, key=lambda d: (_rank(d.name), d.name)):
        first = last = None
        if dataset.name in REPORTS:
            label, relation, column = REPORTS[dataset.name]
            if con is not None and realm_id is not None:
                first, last = _span(con, relation, column, org, realm_id)
            text = f"{label} since {first:%b %Y}" if first else label
        elif dataset.name in TRANSACTIONS:
            label = TRANSACTIONS[dataset.name]
            if con is not None and realm_id is not None:
                first, last = _span(con, f"{RAW_SCHEMA}.{dataset.name}", "txn_date", org, realm_id)
            text = f"{label} ({first} to {last})" if first and last else label
        else:
            text = LISTS.get(dataset.name, dataset.name.replace("_", " ").capitalize())
        found.append(
            Available(dataset.name, text, dataset.row_count, dataset.updated_at, first, last)
        )
    return found


def _rank(name: str) -> int:
    return ORDER.index(name) if name in ORDER else len(ORDER)


__all__ = ["Available", "describe"]
