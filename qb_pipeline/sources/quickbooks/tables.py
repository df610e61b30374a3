"""Table hints of the `qbo_raw` tables: keys, merge rules and the columns declared up front.

Columns the staging SQL reads are declared with their types, so they exist (empty) even
when no record has the field (a company without sub-accounts has no `ParentRef` at all)
and keep one type whatever the first record looked like.
"""

from __future__ import annotations

from typing import Any

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
