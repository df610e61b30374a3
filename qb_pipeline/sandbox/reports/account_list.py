"""AccountList: one row per active account, in chart order.

Columns (`columns=` selects among them): the account's fully qualified name (with its id),
type, detail type (AccountSubType in words), description and, for balance-sheet accounts,
its balance including sub-accounts as the chart of accounts shows it (today, accrual).
"""

from __future__ import annotations

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.reports.accounts import Chart, detail_type_label
from qb_pipeline.sandbox.reports.request import ReportRequest
from qb_pipeline.sandbox.reports.rows import ReportBody, cell, data_row, money

ACCOUNT_LIST_COLUMNS: dict[str, tuple[str, str]] = {
    "account_name": ("Account", "String"),
    "account_type": ("Type", "String"),
    "detail_acc_type": ("Detail Type", "String"),
    "account_desc": ("Description", "String"),
    "account_bal": ("Balance", "Money"),
}


def build_account_list(company: Company, request: ReportRequest, chart: Chart) -> ReportBody:
    """One row per active account: name (with id), type, detail type, description and, for
    balance-sheet accounts, the balance including sub-accounts (as the chart of accounts)."""
    keys = tuple(k for k in request.columns or () if k in ACCOUNT_LIST_COLUMNS) or tuple(
        ACCOUNT_LIST_COLUMNS
    )
    records = {r["Id"]: r for r in company.records("Account")}
    rows = []
    for account_id in chart.tree_order():
        account, record = chart[account_id], records[account_id]
        if not account.active:
            continue
        balance = (
            ""
            if account.is_pnl
            else money(round(record.get("CurrentBalanceWithSubAccounts", 0) * 100))
        )
        values = {
            "account_name": cell(account.full_label, account_id),
            "account_type": cell(account.account_type),
            "detail_acc_type": cell(detail_type_label(account.sub_type)),
            "account_desc": cell(account.description),
            "account_bal": cell(balance),
        }
        rows.append(data_row([values[k] for k in keys]))
    columns = [
        {
            "ColTitle": ACCOUNT_LIST_COLUMNS[k][0],
            "ColType": ACCOUNT_LIST_COLUMNS[k][1],
            "MetaData": [{"Name": "ColKey", "Value": k}],
        }
        for k in keys
    ]
    return ReportBody(columns, rows, bool(rows))
