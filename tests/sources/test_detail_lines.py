"""P&L transaction lines (ProfitAndLossDetail, both bases) tie out: summed by day and then
by month they equal the emulator's own monthly ProfitAndLoss account by account, and the
whole history equals marts.pnl_monthly; class and department filters give the emulator's P&L
by Classes and Departments; a later sync replaces the months it re-pulls, so an edited or
deleted transaction leaves no stale line; and a malformed answer fails clearly."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from qb_pipeline.quickbooks import UnexpectedAnswer, flatten_report
from qb_pipeline.quickbooks.detail_reports import DETAIL_COLUMNS, detail_lines
from qb_pipeline.sources.quickbooks.helpers.periods import month_end
from tests.sources.conftest import Company, Warehouse, make_warehouse
from tests.sources.test_dimension_reports import emulator_by_dimension, months_back

BASES = ("Accrual", "Cash")


def emulator_pnl(company: Company, basis: str, month: date) -> dict[str, Decimal]:
    """{account_id: own amount} of QuickBooks' ProfitAndLoss for one month."""
    end = min(month_end(month), company.backend.today())
    report = company.report(
        "ProfitAndLoss",
        start_date=month.isoformat(),
        end_date=end.isoformat(),
        accounting_method=basis,
        summarize_column_by="Total",
    )
    return {
        line["account_id"]: line["amount"]
        for line in flatten_report(report)
        if line["account_id"] and not line["is_summary"] and line["amount"] is not None
    }


def daily_lines(warehouse: Warehouse, org: str, basis: str, month: date, **filters: str):
    """{(day, account_id): amount} of marts.transaction_lines for one month."""
    where = "".join(f" AND {column} = ?" for column in filters)
    rows = warehouse.query(
        "SELECT txn_date, account_id, sum(amount) FROM marts.transaction_lines"
        " WHERE org_id = ? AND basis = ? AND month = ?" + where + " GROUP BY ALL",
        org,
        basis.lower(),
        month,
        *filters.values(),
        org=org,
    )
    return {(day, account): amount for day, account, amount in rows}


def by_account(days: dict[tuple[date, str], Decimal]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (_day, account), amount in days.items():
        totals[account] += amount
    return {account: amount for account, amount in totals.items() if amount != 0}


@pytest.mark.parametrize("org", ["acme", "alder"])
@pytest.mark.parametrize("basis", BASES)
def test_the_days_of_a_month_add_up_to_the_emulators_profit_and_loss(synced, org, basis):
    company = synced.tenants[org]
    today = company.backend.today()
    for month in months_back(today, (0, 1, 7, 20, 40)):
        days = daily_lines(synced.warehouse, org, basis, month)
        assert all(day.replace(day=1) == month for day, _ in days), month
        expected = {a: v for a, v in emulator_pnl(company, basis, month).items() if v != 0}
        assert expected, f"{org}: nothing posted in {month}"
        assert by_account(days) == expected, (org, basis, month)


def test_the_whole_history_equals_pnl_monthly_on_both_bases(synced):
    mismatches = synced.warehouse.query(
        """
        WITH lines AS (
            SELECT org_id, realm_id, basis, month, account_id, sum(amount) AS amount
            FROM marts.transaction_lines GROUP BY ALL
        )
        SELECT p.org_id, p.basis, p.month, p.account_id, p.amount, l.amount
        FROM marts.pnl_monthly AS p
        FULL JOIN lines AS l USING (org_id, realm_id, basis, month, account_id)
        WHERE COALESCE(p.amount, 0) <> COALESCE(l.amount, 0)
        """
    )
    assert mismatches == []
    covered = synced.warehouse.query(
        "SELECT org_id, basis, count(DISTINCT month), count(*) FROM marts.transaction_lines"
        " GROUP BY ALL ORDER BY ALL"
    )
    # Three fiscal years before the current one, and the current one up to today.
    assert [(org, basis, months) for org, basis, months, _ in covered] == [
        ("acme", "accrual", 47), ("acme", "cash", 47), ("alder", "accrual", 41),
        ("alder", "cash", 41),
    ]  # fmt: skip
    assert all(lines > 500 for *_, lines in covered), covered  # not a comparison of nothing


@pytest.mark.parametrize(("dimension", "column"), [("class", "class_id"),
                                                   ("department", "department_id")])  # fmt: skip
def test_a_class_or_department_filter_gives_quickbooks_figures_by_that_member(
    synced, dimension, column
):
    company = synced.tenants["acme"]  # Harbor & Pine tracks classes and locations
    month = months_back(company.backend.today(), (2,))[0]
    by_member = emulator_by_dimension(company, dimension, "Accrual", month, month_end(month))
    members = sorted({member for _, member in by_member if member is not None})
    assert len(members) >= 2
    for member in members:
        expected = {a: v for (a, m), v in by_member.items() if m == member and v != 0}
        days = daily_lines(synced.warehouse, "acme", "Accrual", month, **{column: member})
        assert by_account(days) == expected, (dimension, member)


def test_lines_lead_back_to_their_transactions(synced):
    company = synced.tenants["acme"]
    rows = synced.warehouse.query(
        "SELECT txn_type, txn_id, txn_date, name_id FROM marts.transaction_lines"
        " WHERE org_id = 'acme' AND basis = 'accrual' AND txn_type = 'Invoice' LIMIT 50",
        org="acme",
    )
    assert len(rows) == 50
    invoices = {r["Id"]: r for r in company.backend.records("Invoice")}
    for _type, txn_id, txn_date, name_id in rows:
        record = invoices[txn_id]
        assert date.fromisoformat(record["TxnDate"]) == txn_date
        assert record["CustomerRef"]["value"] == name_id


def raw_month(warehouse: Warehouse, basis: str, month: date) -> dict[str, Decimal]:
    rows = warehouse.query(
        "SELECT account_id, sum(amount) FROM qbo_raw.pnl_detail_lines WHERE basis = ?"
        " AND period_start = ? AND row_kind = 'line' GROUP BY ALL",
        basis,
        month,
    )
    return {account: amount for account, amount in rows if amount != 0}


def test_a_later_sync_replaces_the_months_it_pulls_again(private_emulator, tmp_path):
    running = private_emulator()
    company = Company(running, running.state.backend.list_companies()[0].realm_id)
    warehouse = make_warehouse(tmp_path / "qbp-home")
    warehouse.sync("acme", company)
    month = company.backend.today().replace(day=1)
    [(invoice_id,)] = warehouse.query(
        "SELECT min(txn_id) FROM qbo_raw.pnl_detail_lines WHERE basis = 'Accrual'"
        " AND period_start = ? AND txn_type = 'Invoice'",
        month,
    )
    company.control("DELETE", f"entities/Invoice/{invoice_id}")
    company.activity(days=1, change_ratio=0.05)

    second = warehouse.sync("acme", company)

    assert second.info.has_failed_jobs is False
    gone = warehouse.query(
        "SELECT count(*) FROM qbo_raw.pnl_detail_lines WHERE txn_type = 'Invoice' AND txn_id = ?",
        invoice_id,
    )
    assert gone == [(0,)]
    for basis in BASES:
        expected = {a: v for a, v in emulator_pnl(company, basis, month).items() if v != 0}
        assert raw_month(warehouse, basis, month) == expected, basis
    duplicates = warehouse.query(
        "SELECT basis, period_start, line_key, count(*) FROM qbo_raw.pnl_detail_lines"
        " GROUP BY ALL HAVING count(*) > 1"
    )
    assert duplicates == []


def test_an_answer_without_the_columns_it_needs_names_them():
    report = {
        "Header": {"ReportName": "ProfitAndLossDetail"},
        "Columns": {"Column": [{"ColTitle": "Date", "MetaData": [
            {"Name": "ColKey", "Value": "tx_date"}]}]},
        "Rows": {"Row": [{"ColData": [{"value": "2026-01-02"}], "type": "Data"}]},
    }  # fmt: skip
    with pytest.raises(UnexpectedAnswer, match="no ColKey account_name, subt_nat_amount, txn_type"):
        detail_lines(report)


def _report(cells: list[dict]) -> dict:
    columns = [{"ColTitle": key, "MetaData": [{"Name": "ColKey", "Value": key}]}
               for key in DETAIL_COLUMNS]  # fmt: skip
    return {
        "Header": {"ReportName": "ProfitAndLossDetail"},
        "Columns": {"Column": columns},
        "Rows": {"Row": [{"type": "Data", "ColData": cells}]},
    }


def _cells(**values: dict) -> list[dict]:
    base = {key: {"value": ""} for key in DETAIL_COLUMNS}
    base.update(
        tx_date={"value": "2026-03-04"},
        txn_type={"value": "Invoice", "id": "130"},
        account_name={"value": "4000 Services", "id": "22"},
        subt_nat_amount={"value": "1,250.50"},
    )
    base.update(values)
    return [base[key] for key in DETAIL_COLUMNS]


def test_a_line_is_read_by_its_column_keys():
    (line,) = detail_lines(_report(_cells(klass_name={"value": "Retail", "id": "7"})))
    assert (line.txn_date, line.txn_type, line.txn_id) == (date(2026, 3, 4), "Invoice", "130")
    assert (line.account_id, line.amount, line.class_id) == ("22", Decimal("1250.50"), "7")
    assert line.department_id is None


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (_cells(tx_date={"value": "04/03/2026"}), "tx_date is '04/03/2026', not a date"),
        (_cells(account_name={"value": "4000 Services"}), "Invoice 130: a line has no account"),
        (_cells(txn_type={"value": "Invoice"}), "has no transaction type or id"),
        (_cells(subt_nat_amount={"value": "12 USD"}), "subt_nat_amount '12 USD' is not a number"),
    ],
)
def test_a_malformed_line_fails_naming_the_field_and_value(cells, message):
    with pytest.raises(UnexpectedAnswer, match=message):
        detail_lines(_report(cells))


def test_a_beginning_balance_row_is_not_a_line():
    opening = _cells(tx_date={"value": "Beginning Balance"}, txn_type={"value": ""},
                     account_name={"value": ""}, subt_nat_amount={"value": ""})  # fmt: skip
    assert detail_lines(_report(opening)) == []
