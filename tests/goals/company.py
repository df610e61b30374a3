"""A small company, built by hand as the contract's marts, whose figures are easy to check.

Organization `acme` (realm r1), fiscal year starting in APRIL. Imported months: FY2026
(2025-04 .. 2026-03, fiscal months 1..12) and FY2027's April, May, June and August;
July 2026 is missing from every mart (a period with no data).

Accrual P&L per month (fm = fiscal month, 1 = April; y = 1 in FY2026, 2 in FY2027):

    account                         amount            report_group
    10 Services                     1000              Income
    11 Services:Consulting          200 (parent 10)   Income
    12 ...:Senior Consulting        50  (parent 11)   Income
    13 Products                     100 * fm * y      Income
    14 Discounts given              -80               Income
    70 Event Sponsorships (deleted) 250, 2025-04..06  Income      (inactive, deleted)
    20 Cost of Goods Sold           300               COGS
    30 Utilities                    20                Expenses
    31 Utilities:Gas and Electric   100 (parent 30)   Expenses
    32 Utilities:Telephone          40  (parent 30)   Expenses
    40 Rent                         1000              Expenses
    50 Interest Earned              10                OtherIncome
    60 Penalties                    5                 OtherExpenses
    45 Old Software (inactive)      no rows           Expenses

so Income = 1170 + 100*fm*y (+250 in 2025-04..06), GrossProfit = Income - 300,
Expenses = 1160, NetIncome = Income - 1455 (= Income - 300 - 1160 + 10 - 5).

Cash P&L: Services 800 every month; Products receives the previous month's accrual amount
(nothing in 2025-04); Rent 1000.

Balance sheet, accrual, at each month end (n = months since 2025-04, so 2025-04 is 0):
checking (1) 10000 + 1000*n [BankAccounts], A/R (3) 5000 [AR], Mastercard (2) 500
[CreditCards], Retained Earnings (80) 2000 [Equity], and the "Net Income" row without an
account, 145 [NetIncome]. Cash basis: checking 9000 + 1000*n only.

By dimension (accrual): class C1 Retail = 60% of Products + all of Services; class C2
Online = 40% of Products; class C3 Events = Products 100 and COGS 30 in 2025-04 only;
department D1 North = Services and Rent.

A second organization `beta` has one accrual P&L row, to prove organizations never mix.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa

from qb_pipeline.goals.periods import add_months, month_end

ORG = "acme"
REALM = "r1"
FIRST_MONTH = date(2025, 4, 1)
MISSING_MONTH = date(2026, 7, 1)
MONTHS = [
    add_months(FIRST_MONTH, n) for n in range(17) if add_months(FIRST_MONTH, n) != MISSING_MONTH
]

ACCOUNTS = [
    # id, name, type, classification, parent, active
    ("1", "Business Checking", "Bank", "Asset", None, True),
    ("2", "Mastercard", "Credit Card", "Liability", None, True),
    ("3", "Accounts Receivable (A/R)", "Accounts Receivable", "Asset", None, True),
    ("80", "Retained Earnings", "Equity", "Equity", None, True),
    ("10", "Services", "Income", "Revenue", None, True),
    ("11", "Consulting", "Income", "Revenue", "10", True),
    ("12", "Senior Consulting", "Income", "Revenue", "11", True),
    ("13", "Products", "Income", "Revenue", None, True),
    ("14", "Discounts given", "Income", "Revenue", None, True),
    ("70", "Event Sponsorships (deleted)", "Income", "Revenue", None, False),
    ("20", "Cost of Goods Sold", "Cost of Goods Sold", "Expense", None, True),
    ("30", "Utilities", "Expense", "Expense", None, True),
    ("31", "Gas and Electric", "Expense", "Expense", "30", True),
    ("32", "Telephone", "Expense", "Expense", "30", True),
    ("40", "Rent", "Expense", "Expense", None, True),
    ("45", "Old Software", "Expense", "Expense", None, False),
    ("50", "Interest Earned", "Other Income", "Revenue", None, True),
    ("60", "Penalties", "Other Expense", "Expense", None, True),
]
NAMES = {a[0]: a[1] for a in ACCOUNTS}
GROUP = {
    "10": "Income", "11": "Income", "12": "Income", "13": "Income", "14": "Income",
    "70": "Income", "20": "COGS", "30": "Expenses", "31": "Expenses", "32": "Expenses",
    "40": "Expenses", "50": "OtherIncome", "60": "OtherExpenses",
}  # fmt: skip
CLASSES = {"C1": "Retail", "C2": "Online", "C3": "Events"}
DEPARTMENTS = {"D1": "North"}


def fiscal_month(month: date) -> int:
    return (month.month - 4) % 12 + 1


def year_factor(month: date) -> int:
    return 1 if month < date(2026, 4, 1) else 2


def products(month: date) -> int:
    return 100 * fiscal_month(month) * year_factor(month)


def accrual_pnl(month: date) -> dict[str, float]:
    amounts = {
        "10": 1000, "11": 200, "12": 50, "13": products(month), "14": -80, "20": 300,
        "30": 20, "31": 100, "32": 40, "40": 1000, "50": 10, "60": 5,
    }  # fmt: skip
    if month <= date(2025, 6, 1):
        amounts["70"] = 250
    return amounts


def cash_pnl(month: date) -> dict[str, float]:
    amounts = {"10": 800, "40": 1000}
    previous = add_months(month, -1)
    if previous in MONTHS:
        amounts["13"] = products(previous)
    return amounts


def index(month: date) -> int:
    return (month.year - 2025) * 12 + month.month - 4


CREATE_MARTS = """
CREATE SCHEMA IF NOT EXISTS marts;
CREATE TABLE marts.accounts (
    org_id VARCHAR, realm_id VARCHAR, account_id VARCHAR, name VARCHAR,
    fully_qualified_name VARCHAR, account_type VARCHAR, account_sub_type VARCHAR,
    classification VARCHAR, parent_account_id VARCHAR, active BOOLEAN,
    current_balance DECIMAL(18,2), currency VARCHAR, updated_at TIMESTAMP
);
CREATE TABLE marts.pnl_monthly (
    org_id VARCHAR, realm_id VARCHAR, basis VARCHAR, month DATE, account_id VARCHAR,
    account_name VARCHAR, report_group VARCHAR, amount DECIMAL(18,2), currency VARCHAR
);
CREATE TABLE marts.pnl_monthly_by_dimension (
    org_id VARCHAR, realm_id VARCHAR, basis VARCHAR, month DATE, account_id VARCHAR,
    dimension VARCHAR, dimension_id VARCHAR, dimension_name VARCHAR, amount DECIMAL(18,2)
);
CREATE TABLE marts.balance_sheet_monthly (
    org_id VARCHAR, realm_id VARCHAR, basis VARCHAR, month_end DATE, account_id VARCHAR,
    account_name VARCHAR, report_group VARCHAR, balance DECIMAL(18,2), currency VARCHAR
);
"""


def build_marts(
    con: duckdb.DuckDBPyConnection,
    org: str = ORG,
    realm: str = REALM,
    *,
    fiscal_year_start: str | None = "April",
    data_through: date | None = None,
) -> None:
    """Create the marts (if needed) and fill them with the company above; with
    `data_through`, marts.company says the data runs through that day (August 2026 is then
    the month in progress, with a pace)."""
    if "accounts" not in {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
    ).fetchall()}:  # fmt: skip
        con.execute(CREATE_MARTS)
    _insert(
        con,
        "accounts",
        "org_id, realm_id, account_id, name, fully_qualified_name, account_type, "
        "classification, parent_account_id, active",
        [
            (org, realm, a, name, _qualified(a), kind, cls, parent, active)
            for a, name, kind, cls, parent, active in ACCOUNTS
        ],
    )
    pnl_rows = []
    for month in MONTHS:
        for basis, amounts in (("accrual", accrual_pnl(month)), ("cash", cash_pnl(month))):
            for account, amount in amounts.items():
                pnl_rows.append(
                    (org, realm, basis, month, account, NAMES[account], GROUP[account], amount)
                )
    _insert(
        con,
        "pnl_monthly",
        "org_id, realm_id, basis, month, account_id, account_name, report_group, amount",
        pnl_rows,
    )
    dim_rows = []
    for month in MONTHS:
        p = products(month)
        dim_rows += [
            (month, "13", "class", "C1", 0.6 * p),
            (month, "10", "class", "C1", 1000),
            (month, "13", "class", "C2", 0.4 * p),
            (month, "10", "department", "D1", 1000),
            (month, "40", "department", "D1", 1000),
        ]
    dim_rows += [(FIRST_MONTH, "13", "class", "C3", 100), (FIRST_MONTH, "20", "class", "C3", 30)]
    names = {**CLASSES, **DEPARTMENTS}
    _insert(
        con,
        "pnl_monthly_by_dimension",
        "org_id, realm_id, basis, month, account_id, dimension, dimension_id, dimension_name, "
        "amount",
        [(org, realm, "accrual", m, a, d, i, names[i], amt) for m, a, d, i, amt in dim_rows],
    )
    bs_rows = []
    for month in MONTHS:
        n = index(month)
        end = month_end(month)
        bs_rows += [
            ("accrual", end, "1", "Business Checking", "BankAccounts", 10000 + 1000 * n),
            ("accrual", end, "3", "Accounts Receivable (A/R)", "AR", 5000),
            ("accrual", end, "2", "Mastercard", "CreditCards", 500),
            ("accrual", end, "80", "Retained Earnings", "Equity", 2000),
            ("accrual", end, None, "Net Income", "NetIncome", 145),
            ("cash", end, "1", "Business Checking", "BankAccounts", 9000 + 1000 * n),
        ]
    _insert(
        con,
        "balance_sheet_monthly",
        "org_id, realm_id, basis, month_end, account_id, account_name, report_group, balance",
        [(org, realm, *row) for row in bs_rows],
    )
    if fiscal_year_start is not None:
        con.execute(
            "CREATE TABLE IF NOT EXISTS marts.company "
            "(org_id VARCHAR, realm_id VARCHAR, fiscal_year_start_month VARCHAR)"
        )
        con.execute("INSERT INTO marts.company VALUES (?, ?, ?)", [org, realm, fiscal_year_start])
    if data_through is not None:
        con.execute("ALTER TABLE marts.company ADD COLUMN IF NOT EXISTS data_through DATE")
        con.execute(
            "UPDATE marts.company SET data_through = ? WHERE org_id = ? AND realm_id = ?",
            [data_through, org, realm],
        )


def add_beta(con: duckdb.DuckDBPyConnection) -> None:
    """A second organization with one accrual P&L row (and its account)."""
    con.execute(
        "INSERT INTO marts.accounts VALUES "
        "('beta', 'r2', '13', 'Products', 'Products', 'Income', '', 'Revenue', NULL, true, "
        "0, 'USD', NULL)"
    )
    con.execute(
        "INSERT INTO marts.pnl_monthly VALUES "
        "('beta', 'r2', 'accrual', DATE '2025-05-01', '13', 'Products', 'Income', 99999, 'USD')"
    )


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: str, rows: list) -> None:
    """Insert many rows at once (row-by-row inserts make every test seconds slower)."""
    names = [c.strip() for c in columns.split(",")]
    data = pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})
    con.register("_rows", data)
    try:
        con.execute(f"INSERT INTO marts.{table} ({columns}) SELECT {columns} FROM _rows")
    finally:
        con.unregister("_rows")


def _qualified(account_id: str) -> str:
    parent = {a[0]: a[4] for a in ACCOUNTS}
    names = [NAMES[account_id]]
    while parent.get(account_id):
        account_id = parent[account_id]
        names.insert(0, NAMES[account_id])
    return ":".join(names)
