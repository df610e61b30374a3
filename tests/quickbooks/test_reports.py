"""flatten_report turns one QuickBooks report into rows keyed by account id and group."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from qb_pipeline.quickbooks import ReportRangeTooWide, flatten_report
from qb_pipeline.quickbooks.reports import truncation_marker


def cells(label: str, *amounts: str, id_: str | None = None) -> list[dict]:
    first = {"value": label} if id_ is None else {"value": label, "id": id_}
    return [first, *({"value": a} for a in amounts)]


def data(label: str, *amounts: str, id_: str | None = None, **extra: str) -> dict:
    return {"ColData": cells(label, *amounts, id_=id_), "type": "Data", **extra}


def section(header=None, rows=None, summary=None, group=None, typed=True) -> dict:
    row: dict = {}
    if header is not None:
        row["Header"] = {"ColData": header}
    if rows is not None:
        row["Rows"] = {"Row": rows}
    if summary is not None:
        row["Summary"] = {"ColData": summary}
    if typed:
        row["type"] = "Section"
    if group:
        row["group"] = group
    return row


def header(name="ProfitAndLoss", start="2026-01-01", end="2026-06-30", basis="Accrual", **more):
    return {
        "Time": "2026-11-15T09:20:11-08:00",
        "ReportName": name,
        "ReportBasis": basis,
        "StartPeriod": start,
        "EndPeriod": end,
        "Currency": "USD",
        "Option": [
            {"Name": "AccountingStandard", "Value": "GAAP"},
            {"Name": "NoReportData", "Value": "false"},
        ],
        **more,
    }


LABEL = {"ColTitle": "", "ColType": "Account", "MetaData": [{"Name": "ColKey", "Value": "account"}]}
TOTAL = {
    "ColTitle": "Total",
    "ColType": "Money",
    "MetaData": [{"Name": "ColKey", "Value": "total"}],
}


def period(title: str, start: str, end: str) -> dict:
    return {
        "ColTitle": title,
        "ColType": "Money",
        "MetaData": [
            {"Name": "StartDate", "Value": start},
            {"Name": "EndDate", "Value": end},
            {"Name": "ColKey", "Value": title},
        ],
    }


Q1 = period("Q1 2026", "2026-01-01", "2026-03-31")
Q2 = period("Apr 1-29, 2026", "2026-04-01", "2026-04-29")


def quarterly_pnl() -> dict:
    """Income with a parent (own postings in its Header) nesting sub-accounts three deep,
    COGS, a computed Gross Profit, Expenses with a blank and a negative cell, Net Income."""
    landscaping = section(
        header=cells("Landscaping Services", "100.00", "", "100.00", id_="45"),
        rows=[
            section(
                header=cells("Job Materials", "10.00", "5.00", "15.00", id_="46"),
                rows=[
                    section(
                        header=cells("Plants", "", "", "", id_="47"),
                        rows=[data("Seeds", "1.50", "2.50", "4.00", id_="48")],
                        summary=cells("Total Plants", "1.50", "2.50", "4.00"),
                    ),
                    data("Stone", "20.00", "", "20.00", id_="49"),
                ],
                summary=cells("Total Job Materials", "31.50", "7.50", "39.00"),
            ),
            data("Labor", "300.00", "150.00", "450.00", id_="51"),
        ],
        summary=cells("Total Landscaping Services", "431.50", "157.50", "589.00"),
    )
    income = section(
        header=cells("Income", "", "", ""),
        rows=[landscaping, data("Design income", "337.50", "", "337.50", id_="82")],
        summary=cells("Total Income", "769.00", "157.50", "926.50"),
        group="Income",
    )
    cogs = section(
        header=cells("Cost of Goods Sold", "", "", ""),
        rows=[data("Cost of Goods Sold", "120.00", "60.00", "180.00", id_="80")],
        summary=cells("Total Cost of Goods Sold", "120.00", "60.00", "180.00"),
        group="COGS",
    )
    gross = section(summary=cells("Gross Profit", "649.00", "97.50", "746.50"), group="GrossProfit")
    expenses = section(
        header=cells("Expenses", "", "", ""),
        rows=[
            data("Meals", "18.97", "", "18.97", id_="13"),
            data("Refunds", "-65.00", "-10.00", "-75.00", id_="17"),
        ],
        summary=cells("Total Expenses", "-46.03", "-10.00", "-56.03"),
        group="Expenses",
    )
    net = section(summary=cells("Net Income", "695.03", "107.50", "802.53"), group="NetIncome")
    return {
        "Header": header(end="2026-04-29", SummarizeColumnsBy="Quarter"),
        "Columns": {"Column": [LABEL, Q1, Q2, TOTAL]},
        "Rows": {"Row": [income, cogs, gross, expenses, net]},
    }


def by_line(rows: list[dict], column: str) -> dict:
    return {
        (r["account_id"], r["account_name"], r["is_summary"]): r
        for r in rows
        if r["column_key"] == column
    }


def test_one_row_per_line_and_money_column():
    rows = flatten_report(quarterly_pnl())
    lines = {(r["account_id"], r["account_name"], r["is_summary"]) for r in rows}
    assert len(rows) == len(lines) * 3
    assert {r["column_key"] for r in rows} == {"Q1 2026", "Apr 1-29, 2026", "total"}
    first = rows[0]
    assert (first["report_name"], first["basis"], first["currency"]) == (
        "ProfitAndLoss", "Accrual", "USD",
    )  # fmt: skip


def test_periods_come_from_column_metadata_and_the_header_for_totals():
    rows = flatten_report(quarterly_pnl())
    periods = {r["column_key"]: (r["period_start"], r["period_end"]) for r in rows}
    assert periods == {
        "Q1 2026": (date(2026, 1, 1), date(2026, 3, 31)),
        "Apr 1-29, 2026": (date(2026, 4, 1), date(2026, 4, 29)),
        "total": (date(2026, 1, 1), date(2026, 4, 29)),
    }


def test_a_parents_own_postings_and_its_sub_accounts_are_separate_rows():
    q1 = by_line(flatten_report(quarterly_pnl()), "Q1 2026")
    parent = q1[("45", "Landscaping Services", False)]
    assert parent["amount"] == Decimal("100.00")
    assert parent["has_sub_accounts"] is True
    assert parent["section_path"] == ["Income"]
    total = q1[(None, "Total Landscaping Services", True)]
    assert total["summary_of_account_id"] == "45"
    assert total["amount"] == Decimal("431.50")
    # Own rows sum to the section total: nothing is counted twice.
    own = [r for r in q1.values() if not r["is_summary"] and "45" in r["section_path"]]
    assert sum(r["amount"] or 0 for r in own) + parent["amount"] == total["amount"]


def test_sub_accounts_nest_three_deep_with_their_section_path():
    q1 = by_line(flatten_report(quarterly_pnl()), "Q1 2026")
    seeds = q1[("48", "Seeds", False)]
    assert seeds["section_path"] == ["Income", "45", "46", "47"]
    assert seeds["group"] == "Income"  # nested sections have no group of their own
    assert seeds["has_sub_accounts"] is False
    assert q1[("47", "Plants", False)]["amount"] is None  # a header without own postings
    assert q1[(None, "Total Plants", True)]["section_path"] == ["Income", "45", "46", "47"]


def test_blank_cells_are_none_and_negative_amounts_are_kept():
    rows = flatten_report(quarterly_pnl())
    april = by_line(rows, "Apr 1-29, 2026")
    assert april[("82", "Design income", False)]["amount"] is None
    assert april[("17", "Refunds", False)]["amount"] == Decimal("-10.00")
    assert by_line(rows, "total")[("17", "Refunds", False)]["amount"] == Decimal("-75.00")
    assert all(isinstance(r["amount"], Decimal | None) for r in rows)


def test_groups_and_computed_lines():
    q1 = by_line(flatten_report(quarterly_pnl()), "Q1 2026")
    assert q1[("80", "Cost of Goods Sold", False)]["group"] == "COGS"
    assert q1[("13", "Meals", False)]["group"] == "Expenses"
    gross = q1[(None, "Gross Profit", True)]
    assert (gross["group"], gross["section_path"], gross["summary_of_account_id"]) == (
        "GrossProfit", ["GrossProfit"], None,
    )  # fmt: skip
    assert q1[(None, "Net Income", True)]["amount"] == Decimal("695.03")
    # Group headers ("Income") carry no amounts and give no rows.
    assert (None, "Income", False) not in q1


def test_account_rows_sum_to_their_group_summary():
    rows = flatten_report(quarterly_pnl())
    for column in ("Q1 2026", "Apr 1-29, 2026", "total"):
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for r in rows:
            if r["column_key"] == column and r["account_id"] and not r["is_summary"]:
                sums[r["group"]] += r["amount"] or 0
        summaries = {
            r["group"]: r["amount"]
            for r in rows
            if r["column_key"] == column and r["is_summary"] and len(r["section_path"]) == 1
        }
        for group in ("Income", "COGS", "Expenses"):
            assert sums[group] == summaries[group], (column, group)


def test_labels_do_not_matter_ids_and_groups_do():
    report = quarterly_pnl()
    renamed = quarterly_pnl()
    renamed["Rows"]["Row"][0]["Header"]["ColData"][0]["value"] = "Einnahmen"
    renamed["Rows"]["Row"][0]["Summary"]["ColData"][0]["value"] = "Summe Einnahmen"

    def keyed(rows):
        return {
            (r["account_id"], r["group"], tuple(r["section_path"]), r["is_summary"],
             r["column_key"]): r["amount"]
            for r in rows
            if r["account_id"] or r["is_summary"]
        }  # fmt: skip

    assert keyed(flatten_report(report)) == keyed(flatten_report(renamed))


def balance_sheet() -> dict:
    """Monthly BalanceSheet: nested standard groups and Equity's id-less Net Income row."""
    jan = period("Jan 2026", "2026-01-01", "2026-01-31")
    feb = period("Feb 2026", "2026-02-01", "2026-02-28")
    bank = section(
        header=cells("Bank Accounts", "", ""),
        rows=[
            section(
                header=cells("Checking", "4000.00", "4100.00", id_="35"),
                rows=[data("Payroll account", "200.00", "-50.00", id_="36")],
                summary=cells("Total Checking", "4200.00", "4050.00"),
            )
        ],
        summary=cells("Total Bank Accounts", "4200.00", "4050.00"),
        group="BankAccounts",
    )
    assets = section(
        header=cells("ASSETS", "", ""),
        rows=[
            section(
                header=cells("Current Assets", "", ""),
                rows=[bank],
                summary=cells("Total Current Assets", "4200.00", "4050.00"),
                group="CurrentAssets",
            )
        ],
        summary=cells("TOTAL ASSETS", "4200.00", "4050.00"),
        group="TotalAssets",
    )
    equity = section(
        header=cells("Equity", "", ""),
        rows=[
            data("Opening Balance Equity", "5000.00", "5000.00", id_="34"),
            data("Retained Earnings", "", "", id_="2"),
            data("Net Income", "-800.00", "-950.00", group="NetIncome"),
        ],
        summary=cells("Total Equity", "4200.00", "4050.00"),
        group="Equity",
    )
    liabilities_and_equity = section(
        header=cells("LIABILITIES AND EQUITY", "", ""),
        rows=[equity],
        summary=cells("TOTAL LIABILITIES AND EQUITY", "4200.00", "4050.00"),
        group="TotalLiabilitiesAndEquity",
    )
    return {
        "Header": header("BalanceSheet", end="2026-02-28", SummarizeColumnsBy="Month"),
        "Columns": {"Column": [LABEL, jan, feb]},
        "Rows": {"Row": [assets, liabilities_and_equity]},
    }


def test_balance_sheet_nesting_and_the_net_income_line():
    rows = flatten_report(balance_sheet())
    feb = by_line(rows, "Feb 2026")
    payroll = feb[("36", "Payroll account", False)]
    assert payroll["group"] == "BankAccounts"  # the nearest group
    assert payroll["section_path"] == ["TotalAssets", "CurrentAssets", "BankAccounts", "35"]
    assert payroll["amount"] == Decimal("-50.00")
    assert feb[("35", "Checking", False)]["amount"] == Decimal("4100.00")
    net_income = feb[(None, "Net Income", False)]
    assert (net_income["group"], net_income["is_summary"]) == ("NetIncome", False)
    assert net_income["section_path"] == ["TotalLiabilitiesAndEquity", "Equity"]
    assert feb[("2", "Retained Earnings", False)]["amount"] is None
    total_assets = feb[(None, "TOTAL ASSETS", True)]
    assert (total_assets["group"], total_assets["amount"]) == ("TotalAssets", Decimal("4050.00"))
    assert {r["period_end"] for r in rows} == {date(2026, 1, 31), date(2026, 2, 28)}


def test_rows_without_type_are_inferred():
    report = {
        "Header": header("TrialBalance", SummarizeColumnsBy="Total"),
        "Columns": {"Column": [LABEL, TOTAL]},
        "Rows": {
            "Row": [
                {"ColData": cells("Checking", "10.00", id_="35")},
                section(
                    header=cells("Parent", "1.00", id_="9"),
                    rows=[{"ColData": cells("Child", "2.00", id_="10")}],
                    summary=cells("Total Parent", "3.00"),
                    typed=False,
                ),
                section(summary=cells("TOTAL", "13.00"), group="GrandTotal", typed=False),
            ]
        },
    }
    total = by_line(flatten_report(report), "total")
    assert total[("35", "Checking", False)]["amount"] == Decimal("10.00")
    assert total[("10", "Child", False)]["section_path"] == ["9"]
    assert total[(None, "Total Parent", True)]["summary_of_account_id"] == "9"
    assert total[(None, "TOTAL", True)]["group"] == "GrandTotal"


def test_empty_reports_give_no_rows():
    no_data = quarterly_pnl()
    no_data["Header"]["Option"][1]["Value"] = "true"
    assert flatten_report(no_data) == []
    assert (
        flatten_report({"Header": header(), "Columns": {"Column": [LABEL, TOTAL]}, "Rows": {}})
        == []
    )
    assert flatten_report({"Header": header(), "Columns": {"Column": [LABEL, TOTAL]}}) == []


def test_a_truncated_report_raises_range_too_wide():
    report = quarterly_pnl()
    marker = "Unable to display more data. Please reduce the date range."
    report["Rows"]["Row"][3]["Rows"]["Row"].append(data(marker, "", "", ""))
    assert truncation_marker(report) == marker
    with pytest.raises(ReportRangeTooWide, match="reduce the date range"):
        flatten_report(report)
    assert truncation_marker(quarterly_pnl()) is None


def test_a_cell_that_is_not_money_names_its_line():
    report = quarterly_pnl()
    report["Rows"]["Row"][3]["Rows"]["Row"][0]["ColData"][1]["value"] = "n/a"
    with pytest.raises(ValueError, match="Meals"):
        flatten_report(report)


# --- against the emulator: account rows add up to QuickBooks' own group totals ------------------
def group_check(rows: list[dict], groups: tuple[str, ...]) -> int:
    checked = 0
    for column in {r["column_key"] for r in rows}:
        sums: dict[str, Decimal] = defaultdict(Decimal)
        summaries: dict[str, Decimal | None] = {}
        for r in rows:
            if r["column_key"] != column:
                continue
            if r["account_id"] and not r["is_summary"]:
                sums[r["group"]] += r["amount"] or 0
            elif r["is_summary"] and r["summary_of_account_id"] is None:
                summaries[r["group"]] = r["amount"]
        for group in groups:
            if group in summaries:
                assert sums[group] == (summaries[group] or 0), (column, group)
                checked += 1
    return checked


@pytest.mark.parametrize("basis", ["Accrual", "Cash"])
def test_a_monthly_profit_and_loss_adds_up_per_group(emulator, connect, basis):
    qb = connect(emulator)
    report = qb.client.report(
        "ProfitAndLoss",
        {
            "start_date": "2025-01-01",
            "end_date": "2025-12-31",
            "summarize_column_by": "Month",
            "accounting_method": basis,
        },
    )
    rows = flatten_report(report)
    assert {r["column_key"] for r in rows} >= {"Jan 2025", "Dec 2025", "total"}
    assert all(r["basis"] == basis for r in rows)
    groups = ("Income", "COGS", "Expenses", "OtherIncome", "OtherExpenses")
    assert group_check(rows, groups) >= 13 * 3
    # Monthly account rows add up to the Total column, account by account.
    months: dict[str, Decimal] = defaultdict(Decimal)
    totals: dict[str, Decimal] = {}
    for r in rows:
        if r["account_id"] and not r["is_summary"]:
            if r["column_key"] == "total":
                totals[r["account_id"]] = r["amount"] or Decimal(0)
            else:
                months[r["account_id"]] += r["amount"] or 0
    assert months == totals


def test_an_emulator_balance_sheet_adds_up_per_group(emulator, connect):
    qb = connect(emulator)
    report = qb.client.report(
        "BalanceSheet",
        {"start_date": "2026-01-01", "end_date": "2026-06-30", "summarize_column_by": "Month"},
    )
    rows = flatten_report(report)
    assert any(r["group"] == "NetIncome" and not r["is_summary"] for r in rows)
    assert group_check(rows, ("BankAccounts", "AR", "AP", "FixedAssets")) > 0
