"""Reports land as monthly lines that add up to QuickBooks' own reports, and re-pulled months
replace what was stored (back-dated entries appear, vanished lines disappear)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import httpx
import pytest

from qb_pipeline.quickbooks import flatten_report
from qb_pipeline.sources.quickbooks.helpers.periods import DateRange, add_months, fiscal_year_start
from qb_pipeline.sources.quickbooks.helpers.report_rows import fetch_report
from qb_pipeline.warehouse import run_sql_models
from tests.sources.conftest import (
    Company,
    Warehouse,
    company_with_fiscal_month,
    make_warehouse,
    realms,
)


def build_marts(warehouse: Warehouse) -> None:
    with duckdb.connect(str(warehouse.path())) as con:
        run_sql_models(con)


def report_totals(company: Company, name: str, basis: str, start: date, end: date) -> dict:
    """{account_id: amount} of the account lines of a report's Total column."""
    report = company.report(
        name,
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        accounting_method=basis,
        summarize_column_by="Total",
    )
    return {
        line["account_id"]: line["amount"]
        for line in flatten_report(report)
        if line["account_id"] and not line["is_summary"] and line["amount"] is not None
    }


def pnl_sums(warehouse: Warehouse, org: str, basis: str, start: date, end: date) -> dict:
    rows = warehouse.query(
        "SELECT account_id, sum(amount) FROM marts.pnl_monthly"
        " WHERE org_id = ? AND basis = ? AND month BETWEEN ? AND ? GROUP BY account_id",
        org,
        basis,
        start,
        end,
    )
    return dict(rows)


@pytest.mark.parametrize("org", ["acme", "alder"])
@pytest.mark.parametrize("basis", ["Accrual", "Cash"])
def test_pnl_monthly_summed_over_each_fiscal_year_equals_the_profit_and_loss_report(
    synced, org, basis
):
    warehouse, tenants = synced.warehouse, synced.tenants
    company = tenants[org]
    today = company.backend.today()
    start = add_months(fiscal_year_start(today, company.backend.fiscal_year_start_month), -36)
    years = 0
    while start <= today:
        end = min(add_months(start, 12) - timedelta(days=1), today)
        expected = report_totals(company, "ProfitAndLoss", basis, start, end)
        assert expected, f"no P&L activity in {start}..{end}"
        assert pnl_sums(warehouse, org, basis.lower(), start, end) == expected, (start, end)
        start = add_months(start, 12)
        years += 1
    assert years == 4


def test_pnl_monthly_has_one_row_per_basis_account_and_month(synced):
    warehouse = synced.warehouse
    duplicates = warehouse.query(
        "SELECT org_id, realm_id, basis, month, account_id, count(*) FROM marts.pnl_monthly"
        " GROUP BY ALL HAVING count(*) > 1"
    )
    assert duplicates == []
    months = warehouse.query("SELECT DISTINCT extract(day FROM month) FROM marts.pnl_monthly")
    assert months == [(1,)]


def test_parent_accounts_and_sub_accounts_are_separate_rows(synced):
    warehouse, tenants = synced.warehouse, synced.tenants
    company = tenants["acme"]
    parents = {
        (a.get("ParentRef") or {}).get("value")
        for a in company.backend.records("Account")
        if a.get("ParentRef")
    }
    rows = warehouse.query(
        "SELECT DISTINCT r.account_id FROM qbo.report_lines AS r WHERE r.org_id = 'acme'"
        " AND r.has_sub_accounts"
    )
    assert {row[0] for row in rows} <= parents
    assert rows, "some parent accounts have postings of their own or sub-accounts"


def test_balance_sheet_monthly_equals_the_balance_sheet_at_each_month_end(synced):
    warehouse, tenants = synced.warehouse, synced.tenants
    company = tenants["alder"]
    today = company.backend.today()
    for months_back in (1, 7, 20):
        month_end = add_months(today.replace(day=1), -months_back + 1) - timedelta(days=1)
        for basis in ("Accrual", "Cash"):
            expected = report_totals(
                company, "BalanceSheet", basis, month_end.replace(day=1), month_end
            )
            rows = warehouse.query(
                "SELECT account_id, balance FROM marts.balance_sheet_monthly"
                " WHERE org_id = 'alder' AND basis = ? AND month_end = ?"
                " AND account_id IS NOT NULL",  # the Net Income row: test_balance_sheet_monthly
                basis.lower(),
                month_end,
            )
            assert dict(rows) == expected, (basis, month_end)


def test_a_too_wide_report_range_is_split_and_gives_the_same_lines(emulator):
    company = Company(emulator, realms(emulator)[0])
    window = DateRange(date(2025, 1, 1), date(2025, 12, 31))
    with company.client() as client:
        whole = list(fetch_report(client.report, "ProfitAndLoss", "Accrual", window))
    # The next four report requests time out at the gateway: the client gives up after two
    # on the whole year, then after two on its first half, which splits again.
    answer = httpx.post(
        f"{emulator.url}/_emulator/faults",
        json={"status": 504, "count": 4, "realmId": company.realm_id, "path_prefix": "reports/"},
    )
    answer.raise_for_status()
    with company.client() as client:
        parts = list(fetch_report(client.report, "ProfitAndLoss", "Accrual", window))
    assert [p for p, _ in parts] == [
        DateRange(date(2025, 1, 1), date(2025, 3, 31)),
        DateRange(date(2025, 4, 1), date(2025, 6, 30)),
        DateRange(date(2025, 7, 1), date(2025, 12, 31)),
    ]

    def monthly(reports: list) -> dict:
        found: dict = defaultdict(Decimal)
        for _, report in reports:
            for line in flatten_report(report):
                if line["column_key"] != "total" and line["account_id"] and line["amount"]:
                    found[(line["account_id"], line["period_start"])] += line["amount"]
        return dict(found)

    assert monthly(parts) == monthly(whole)


# -- re-pulled months -----------------------------------------------------------------------
def journal_entry(day: date, debit: str, credit: str, amount: float) -> dict:
    def line(posting: str, account: str) -> dict:
        return {
            "Amount": amount,
            "DetailType": "JournalEntryLineDetail",
            "JournalEntryLineDetail": {"PostingType": posting, "AccountRef": {"value": account}},
        }

    return {
        "TxnDate": day.isoformat(),
        "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        "Line": [line("Debit", debit), line("Credit", credit)],
    }


def account_of(company: Company, account_type: str) -> str:
    return next(
        a["Id"]
        for a in company.backend.records("Account")
        if a["AccountType"] == account_type and a["Active"] and not a.get("ParentRef")
    )


def pnl_amount(warehouse: Warehouse, month: date, account: str) -> Decimal | None:
    rows = warehouse.query(
        "SELECT amount FROM marts.pnl_monthly WHERE org_id = 'acme' AND basis = 'accrual'"
        " AND month = ? AND account_id = ?",
        month,
        account,
    )
    return rows[0][0] if rows else None


# The entities the marts need (the chart of accounts, and the company's fiscal year and home
# currency): a sync reads them always, these tests read nothing else.
COMPANY_ENTITIES = ["Account", "CompanyInfo", "Preferences"]


def test_backdated_entries_in_a_closed_month_reach_pnl_monthly(private_emulator, tmp_path):
    """The company's fiscal year started in January and it is now 20 January: December is
    a closed month of the previous year, re-pulled because it is within 60 days."""
    running = private_emulator(today=date(2027, 1, 20))
    company = company_with_fiscal_month(running, 1)
    warehouse = make_warehouse(tmp_path / "qbp-home")
    warehouse.sync("acme", company, entities=COMPANY_ENTITIES)
    build_marts(warehouse)
    expense = account_of(company, "Expense")
    bank = account_of(company, "Bank")
    december = date(2026, 12, 1)
    before = pnl_amount(warehouse, december, expense) or Decimal(0)

    company.control("POST", "entities/JournalEntry", json=journal_entry(
        date(2026, 12, 14), debit=expense, credit=bank, amount=1234.5))  # fmt: skip
    warehouse.sync("acme", company, entities=COMPANY_ENTITIES)

    assert pnl_amount(warehouse, december, expense) == before + Decimal("1234.50")
    expected = report_totals(company, "ProfitAndLoss", "Accrual", december, date(2026, 12, 31))
    assert pnl_sums(warehouse, "acme", "accrual", december, date(2026, 12, 31)) == expected


def test_a_line_that_vanishes_from_a_repulled_month_vanishes_from_the_table(
    private_emulator, tmp_path
):
    running = private_emulator()
    company = company_with_fiscal_month(running, 1)
    warehouse = make_warehouse(tmp_path / "qbp-home")
    # A new expense account whose only posting is one journal entry last month.
    account = {
        "Name": "Temporary Fees",
        "AccountType": "Expense",
        "AccountSubType": "OtherMiscellaneousServiceCost",
        "Classification": "Expense",
        "Active": True,
        "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
    }
    created = company.control("POST", "entities/Account", json=account)["Account"]
    today = company.backend.today()
    last_month = add_months(today.replace(day=1), -1)
    entry = company.control("POST", "entities/JournalEntry", json=journal_entry(
        last_month + timedelta(days=3), debit=created["Id"], credit=account_of(company, "Bank"),
        amount=77.0))["JournalEntry"]  # fmt: skip
    warehouse.sync("acme", company, entities=COMPANY_ENTITIES)
    build_marts(warehouse)
    assert pnl_amount(warehouse, last_month, created["Id"]) == Decimal("77.00")

    company.control("DELETE", f"entities/JournalEntry/{entry['Id']}")
    warehouse.sync("acme", company, entities=COMPANY_ENTITIES)

    assert pnl_amount(warehouse, last_month, created["Id"]) is None
    stored = warehouse.query(
        "SELECT count(*) FROM qbo_raw.report_lines WHERE account_id = ?", created["Id"]
    )
    assert stored == [(0,)]
