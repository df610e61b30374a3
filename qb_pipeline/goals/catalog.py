"""What an organization's connected company has imported: the facts goals are checked against.

One `Catalog` per organization is read with a fixed handful of queries (however many goals
are checked), from the marts only. Validation and `goals create` use it to say what is
available when a goal points at something that is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from qb_pipeline.goals.marts import existing_marts, mart_columns, relations
from qb_pipeline.goals.sqlfiles import sql_text

MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
)  # fmt: skip


@dataclass(frozen=True)
class AccountInfo:
    account_id: str
    name: str
    fully_qualified_name: str | None
    account_type: str | None
    classification: str | None
    parent_account_id: str | None
    active: bool

    @property
    def is_deleted(self) -> bool:
        # QuickBooks never hard-deletes an account: it makes it inactive and renames it.
        return not self.active and (self.name or "").endswith("(deleted)")

    @property
    def label(self) -> str:
        return f"{self.account_id} {self.fully_qualified_name or self.name}"


@dataclass
class Catalog:
    org_id: str
    realm_id: str | None
    accounts: dict[str, AccountInfo] = field(default_factory=dict)
    bases: dict[str, set[str]] = field(default_factory=dict)  # dataset -> bases with rows
    groups: dict[str, set[str]] = field(default_factory=dict)  # dataset -> report groups
    dimensions: dict[tuple[str, str], str] = field(default_factory=dict)  # (dim, id) -> name
    budgets: dict[str, str] = field(default_factory=dict)  # budget id -> name, newest first
    fiscal_year_start_month: int | None = None

    @property
    def datasets(self) -> list[str]:
        """Datasets with imported rows, in a stable order."""
        return sorted(d for d, bases in self.bases.items() if bases)

    @property
    def has_data(self) -> bool:
        return bool(self.datasets) or bool(self.accounts)

    def children(self, account_id: str) -> list[AccountInfo]:
        return [a for a in self.accounts.values() if a.parent_account_id == account_id]

    def dimension_choices(self, dimension: str) -> list[str]:
        return [
            f"{dim_id} {name}"
            for (dim, dim_id), name in sorted(self.dimensions.items())
            if dim == dimension
        ]


def load_catalog(
    con: duckdb.DuckDBPyConnection, org_id: str, realm_id: str | None = None
) -> Catalog:
    """The organization's imported accounts, datasets, bases, groups and dimensions.

    With `realm_id`, only rows of that company count (an organization that switched
    companies keeps the old company's rows until they are purged).
    """
    marts = relations(existing_marts(con))
    params = {"org_id": org_id, "realm_id": realm_id}
    catalog = Catalog(org_id, realm_id)
    accounts = con.execute(sql_text("catalog_accounts.sql").format(**marts), params).fetchall()
    for row in accounts:
        info = AccountInfo(*row[:6], active=bool(row[6]) if row[6] is not None else True)
        catalog.accounts[info.account_id] = info
    for dataset, basis, group in con.execute(
        sql_text("catalog_datasets.sql").format(**marts), params
    ).fetchall():
        catalog.bases.setdefault(dataset, set()).add(basis)
        if group is not None:
            catalog.groups.setdefault(dataset, set()).add(group)
    for dimension, dim_id, name in con.execute(
        sql_text("catalog_dimensions.sql").format(**marts), params
    ).fetchall():
        catalog.dimensions[(dimension, dim_id)] = name or ""
    for budget_id, name, _start in con.execute(
        sql_text("catalog_budgets.sql").format(**marts), params
    ).fetchall():
        catalog.budgets[str(budget_id)] = name or ""
    catalog.fiscal_year_start_month = read_fiscal_year_start_month(
        con, org_id, realm_id, marts=marts
    )
    return catalog


def parse_month(value: object) -> int | None:
    """1..12 from 4, '4' or 'April' (QuickBooks' CompanyInfo spells the month out)."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text.isdigit() and 1 <= int(text) <= 12:
        return int(text)
    return MONTH_NAMES.index(text) + 1 if text in MONTH_NAMES else None


def read_fiscal_year_start_month(
    con: duckdb.DuckDBPyConnection,
    org_id: str,
    realm_id: str | None = None,
    *,
    marts: dict[str, str] | None = None,
) -> int | None:
    """The company's FiscalYearStartMonth as 1..12, when the warehouse holds it.

    `marts` (from marts.relations) saves looking up which marts exist once more.
    """
    marts = marts if marts is not None else relations(existing_marts(con))
    params = {"org_id": org_id, "realm_id": realm_id}
    rows = con.execute(sql_text("catalog_company.sql").format(**marts), params).fetchall()
    return parse_month(rows[0][0]) if rows else None


def read_data_through(
    con: duckdb.DuckDBPyConnection,
    org_id: str,
    realm_id: str | None = None,
    database: str | None = None,
) -> date | None:
    """The last day the company's imported reports cover (marts.company.data_through of the
    connection's database, or of the attached `database`), when the warehouse holds it.

    Read on its own, not through the contract's relations: a warehouse whose marts were built
    before the column existed still computes its goals (with no pace) until its next sync."""
    if "data_through" not in mart_columns(con, "company", database):
        return None
    company = f'"{database}".marts.company' if database else "marts.company"
    (through,) = con.execute(
        f"SELECT max(CAST(data_through AS DATE)) FROM {company}"
        " WHERE org_id = $org_id AND ($realm_id IS NULL OR realm_id = $realm_id)",
        {"org_id": org_id, "realm_id": realm_id},
    ).fetchone()
    return through


__all__ = [
    "AccountInfo",
    "Catalog",
    "load_catalog",
    "parse_month",
    "read_data_through",
    "read_fiscal_year_start_month",
]
