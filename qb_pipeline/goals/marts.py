"""The marts goals read, by their contract (docs/warehouse.md), and nothing else.

Goals never look at qbo_raw or staging: they read the BI contract, so the import can change
freely behind it. A mart that does not exist yet (an organization that has never synced, or
`marts.pnl_monthly_by_dimension` / `marts.cash_flow_monthly` before the import provides
them) reads as an empty relation with the contract's columns, so one missing mart never
stops the goals that do not need it.
"""

from __future__ import annotations

import duckdb

# name -> (column, type) of the columns goals read, in contract order.
MART_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "accounts": (
        ("org_id", "VARCHAR"),
        ("realm_id", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("fully_qualified_name", "VARCHAR"),
        ("account_type", "VARCHAR"),
        ("classification", "VARCHAR"),
        ("parent_account_id", "VARCHAR"),
        ("active", "BOOLEAN"),
    ),
    "pnl_monthly": (
        ("org_id", "VARCHAR"),
        ("realm_id", "VARCHAR"),
        ("basis", "VARCHAR"),
        ("month", "DATE"),
        ("account_id", "VARCHAR"),
        ("report_group", "VARCHAR"),
        ("amount", "DECIMAL(18,2)"),
        ("currency", "VARCHAR"),
    ),
    "pnl_monthly_by_dimension": (
        ("org_id", "VARCHAR"),
        ("realm_id", "VARCHAR"),
        ("basis", "VARCHAR"),
        ("month", "DATE"),
        ("account_id", "VARCHAR"),
        ("dimension", "VARCHAR"),
        ("dimension_id", "VARCHAR"),
        ("dimension_name", "VARCHAR"),
        ("amount", "DECIMAL(18,2)"),
    ),
    "balance_sheet_monthly": (
        ("org_id", "VARCHAR"),
        ("realm_id", "VARCHAR"),
        ("basis", "VARCHAR"),
        ("month_end", "DATE"),
        ("account_id", "VARCHAR"),
        ("report_group", "VARCHAR"),
        ("balance", "DECIMAL(18,2)"),
        ("currency", "VARCHAR"),
    ),
    # Not in the contract yet: the cash-flow mart this package will read once it exists,
    # shaped like marts.pnl_monthly.
    "cash_flow_monthly": (
        ("org_id", "VARCHAR"),
        ("realm_id", "VARCHAR"),
        ("basis", "VARCHAR"),
        ("month", "DATE"),
        ("account_id", "VARCHAR"),
        ("report_group", "VARCHAR"),
        ("amount", "DECIMAL(18,2)"),
    ),
    # Budget targets: the budget's amounts by account and month (optional: a company without
    # a budget has no such mart).
    "budgets": (
        ("org_id", "VARCHAR"),
        ("realm_id", "VARCHAR"),
        ("budget_id", "VARCHAR"),
        ("budget_name", "VARCHAR"),
        ("start_date", "DATE"),
        ("end_date", "DATE"),
        ("month", "DATE"),
        ("account_id", "VARCHAR"),
        ("class_id", "VARCHAR"),
        ("department_id", "VARCHAR"),
        ("amount", "DECIMAL(18,2)"),
    ),
    # Not in the contract: where the company's fiscal year start is read from.
    "company": (
        ("org_id", "VARCHAR"),
        ("realm_id", "VARCHAR"),
        ("fiscal_year_start_month", "VARCHAR"),  # 4, or April as CompanyInfo spells it
    ),
}

EXISTING_MARTS_SQL = """
SELECT table_name
FROM information_schema.tables
WHERE table_schema = 'marts'
  AND table_catalog = coalesce($database, current_database())
"""


MART_COLUMNS_SQL = """
SELECT column_name
FROM information_schema.columns
WHERE table_schema = 'marts' AND table_name = $name
  AND table_catalog = coalesce($database, current_database())
"""


def mart_columns(
    con: duckdb.DuckDBPyConnection, name: str, database: str | None = None
) -> set[str]:
    """The columns relation `marts.<name>` has in the connection's database (or the attached
    `database`); none when it does not exist. For columns added after a mart's first
    release, which a warehouse built before them lacks."""
    rows = con.execute(MART_COLUMNS_SQL, {"name": name, "database": database}).fetchall()
    return {row[0] for row in rows}


def existing_marts(con: duckdb.DuckDBPyConnection, database: str | None = None) -> set[str]:
    """Names of the relations (tables and views) in the `marts` schema of the connection's
    database, or of the attached `database`."""
    rows = con.execute(EXISTING_MARTS_SQL, {"database": database}).fetchall()
    return {row[0] for row in rows}


def relation_sql(name: str, existing: set[str], database: str | None = None) -> str:
    """What to put in FROM for mart `name` (of the attached `database`, when given): its
    columns, or an empty relation with them.

    Columns are cast to the contract's types so that a mart built with, say, integer ids
    or DOUBLE amounts reads the same; ids always compare as text.
    """
    columns = MART_COLUMNS[name]
    if name in existing:
        select = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in columns)
        where = f'"{database}".marts.{name}' if database else f"marts.{name}"
        return f"(SELECT {select} FROM {where})"
    select = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in columns)
    return f"(SELECT {select} WHERE false)"


def relations(existing: set[str], database: str | None = None) -> dict[str, str]:
    """{mart name: FROM clause} for every mart goals read (see relation_sql)."""
    return {name: relation_sql(name, existing, database) for name in MART_COLUMNS}


__all__ = ["MART_COLUMNS", "existing_marts", "mart_columns", "relation_sql", "relations"]
