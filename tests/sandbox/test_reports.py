"""Reports on a tiny hand-made company whose every figure is worked out by hand below.

The books (home currency USD, fiscal year = calendar year unless a test says otherwise,
"today" 2026-04-29, a Wednesday):

    2025-06-15 JE 1       Checking 10,000.00 / Opening Balance Equity
    2025-11-10 Invoice 1  Consulting 500.00 -> Services (paid in full 2026-01-05, Payment 1)
    2026-02-03 Invoice 2  Gardening 300.00 -> Landscaping (class Landscaping), Soil 150.00 ->
                          Plants, Consulting 100.00 -> Services; location East; 550.00 total,
                          200.00 paid 2026-03-20 (Payment 2)
    2026-02-28 JE 3       Retained Earnings 50.00 / Checking
    2026-03-01 Bill 1     Rent 1,200.00 (unpaid)
    2026-04-10 Expense 1  Rent 100.00 from Checking (class Landscaping)
    2026-04-15 JE 2       Truck 5,000.00 / Loan
    2026-04-20 Deposit 1  Interest Earned 4.10 into Checking

Services > Landscaping > Plants is a three-level income tree. On the cash basis Invoice 2
counts 200/550 of each line on 2026-03-20: Landscaping 109.09, Plants 54.55, Services 36.36.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from qb_pipeline.sandbox.accounting.clock import EmulatorClock
from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.reports import rows as report_rows
from qb_pipeline.sandbox.reports.catalog import ReportError, build_report
from qb_pipeline.sandbox.reports.periods import MACRO_NAMES, macro_range, periods
from tests.sandbox.report_helpers import (
    assert_sections_add_up,
    column_keys,
    labelled,
    option,
    section,
    summary,
    top_rows,
    values,
    walk,
)

TODAY = date(2026, 4, 29)
LANDSCAPING_CLASS = "5000000000000000001"
EAST = "1"
ACCOUNTS = [
    ("1", "Checking", "Bank", "Checking", None),
    ("2", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", None),
    ("3", "Undeposited Funds", "Other Current Asset", "UndepositedFunds", None),
    ("4", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", None),
    ("5", "Opening Balance Equity", "Equity", "OpeningBalanceEquity", None),
    ("6", "Retained Earnings", "Equity", "RetainedEarnings", None),
    ("7", "Services", "Income", "ServiceFeeIncome", None),
    ("8", "Landscaping", "Income", "ServiceFeeIncome", "7"),
    ("9", "Plants", "Income", "SalesOfProductIncome", "8"),
    ("10", "Rent", "Expense", "RentOrLeaseOfBuildings", None),
    ("11", "Sales Tax Payable", "Other Current Liability", "SalesTaxPayable", None),
    ("12", "Interest Earned", "Other Income", "InterestEarned", None),
    ("13", "Truck", "Fixed Asset", "Vehicles", None),
    ("14", "Loan", "Long Term Liability", "NotesPayable", None),
]
CLASSIFICATION = {
    "Bank": "Asset", "Accounts Receivable": "Asset", "Other Current Asset": "Asset",
    "Fixed Asset": "Asset", "Accounts Payable": "Liability", "Other Current Liability": "Liability",
    "Long Term Liability": "Liability", "Equity": "Equity", "Income": "Revenue",
    "Other Income": "Revenue", "Expense": "Expense",
}  # fmt: skip


def ref(value: str, name: str | None = None) -> dict:
    return {"value": value} if name is None else {"value": value, "name": name}


def journal(company: Company, txn_id: str, day: str, debit: str, credit: str, amount: float):
    lines = [
        {"Id": str(i), "Amount": amount, "DetailType": "JournalEntryLineDetail",
         "JournalEntryLineDetail": {"PostingType": side, "AccountRef": ref(account)}}
        for i, (side, account) in enumerate((("Debit", debit), ("Credit", credit)))
    ]  # fmt: skip
    company.add("JournalEntry", {"Id": txn_id, "TxnDate": day, "Line": lines})


def sales_line(line_id: str, item: str, amount: float, class_id: str | None = None) -> dict:
    detail: dict = {"ItemRef": ref(item), "UnitPrice": amount, "Qty": 1}
    if class_id:
        detail["ClassRef"] = ref(class_id)
    return {
        "Id": line_id,
        "Amount": amount,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": detail,
    }


def tiny_company(fiscal_month: int = 1, basis: str = "Accrual") -> Company:
    # UTC keeps the company's date equal to the emulator clock's date at any hour.
    company = Company(
        realm_id="4620816365000001",
        name="Tiny Books",
        fiscal_year_start_month=fiscal_month,
        home_currency="USD",
        timezone="UTC",
        clock=EmulatorClock(TODAY),
    )
    company.undeposited_funds_id = "3"
    company.sales_tax_account_id = "11"
    company.add("Preferences", {
        "Id": "1",
        "AccountingInfoPrefs": {"TrackDepartments": True, "DepartmentTerminology": "Location",
                                "UseAccountNumbers": False},
        "ReportPrefs": {"ReportBasis": basis},
    })  # fmt: skip
    for account_id, name, account_type, sub_type, parent in ACCOUNTS:
        record = {
            "Id": account_id,
            "Name": name,
            "FullyQualifiedName": name,
            "Active": True,
            "Classification": CLASSIFICATION[account_type],
            "AccountType": account_type,
            "AccountSubType": sub_type,
        }
        if parent:
            parent_name = company.store["Account"][parent]["FullyQualifiedName"]
            record.update(SubAccount=True, ParentRef=ref(parent))
            record["FullyQualifiedName"] = f"{parent_name}:{name}"
        company.add("Account", record)
    for item_id, name, account in (
        ("1", "Gardening", "8"),
        ("2", "Soil", "9"),
        ("3", "Consulting", "7"),
    ):
        company.add("Item", {"Id": item_id, "Name": name, "Type": "Service",
                             "IncomeAccountRef": ref(account)})  # fmt: skip
    company.add("Customer", {"Id": "1", "DisplayName": "Amy's Bird Sanctuary"})
    company.add("Vendor", {"Id": "1", "DisplayName": "Norton Lumber"})
    company.add("Class", {"Id": LANDSCAPING_CLASS, "Name": "Landscaping",
                          "FullyQualifiedName": "Landscaping"})  # fmt: skip
    company.add("Department", {"Id": EAST, "Name": "East", "FullyQualifiedName": "East"})

    journal(company, "1", "2025-06-15", "1", "5", 10000)
    company.add("Invoice", {
        "Id": "1", "TxnDate": "2025-11-10", "DocNumber": "1001", "CustomerRef": ref("1"),
        "Line": [sales_line("1", "3", 500)], "TotalAmt": 500, "Balance": 0,
    })  # fmt: skip
    company.add("Payment", {
        "Id": "1", "TxnDate": "2026-01-05", "CustomerRef": ref("1"), "TotalAmt": 500,
        "DepositToAccountRef": ref("1"),
        "Line": [{"Amount": 500, "LinkedTxn": [{"TxnId": "1", "TxnType": "Invoice"}]}],
    })  # fmt: skip
    company.add("Invoice", {
        "Id": "2", "TxnDate": "2026-02-03", "DocNumber": "1002", "CustomerRef": ref("1"),
        "DepartmentRef": ref(EAST),
        "Line": [sales_line("1", "1", 300, LANDSCAPING_CLASS), sales_line("2", "2", 150),
                 sales_line("3", "3", 100)],
        "TotalAmt": 550, "Balance": 350,
    })  # fmt: skip
    journal(company, "3", "2026-02-28", "6", "1", 50)
    company.add("Bill", {
        "Id": "1", "TxnDate": "2026-03-01", "DocNumber": "B-77", "VendorRef": ref("1"),
        "Line": [{"Id": "1", "Amount": 1200, "DetailType": "AccountBasedExpenseLineDetail",
                  "AccountBasedExpenseLineDetail": {"AccountRef": ref("10")}}],
        "TotalAmt": 1200, "Balance": 1200,
    })  # fmt: skip
    company.add("Payment", {
        "Id": "2", "TxnDate": "2026-03-20", "CustomerRef": ref("1"), "TotalAmt": 200,
        "DepositToAccountRef": ref("1"),
        "Line": [{"Amount": 200, "LinkedTxn": [{"TxnId": "2", "TxnType": "Invoice"}]}],
    })  # fmt: skip
    company.add("Purchase", {
        "Id": "1", "TxnDate": "2026-04-10", "PaymentType": "Cash", "AccountRef": ref("1"),
        "EntityRef": {"value": "1", "type": "Vendor"}, "TotalAmt": 100,
        "Line": [{"Id": "1", "Amount": 100, "DetailType": "AccountBasedExpenseLineDetail",
                  "AccountBasedExpenseLineDetail": {"AccountRef": ref("10"),
                                                    "ClassRef": ref(LANDSCAPING_CLASS)}}],
    })  # fmt: skip
    journal(company, "2", "2026-04-15", "13", "14", 5000)
    company.add("Deposit", {
        "Id": "1", "TxnDate": "2026-04-20", "DepositToAccountRef": ref("1"), "TotalAmt": 4.10,
        "Line": [{"Id": "1", "Amount": 4.10, "DetailType": "DepositLineDetail",
                  "DepositLineDetail": {"AccountRef": ref("12")}}],
    })  # fmt: skip
    return company


@pytest.fixture
def company() -> Company:
    return tiny_company()


def report(company: Company, name: str, **params: str) -> dict:
    return build_report(company, name, params)


# --- header and columns --------------------------------------------------------------------------
def test_default_profit_and_loss_covers_fiscal_year_to_date(company):
    header = report(company, "ProfitAndLoss")["Header"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", header["Time"])
    assert list(header) == [
        "Time", "ReportName", "DateMacro", "ReportBasis", "StartPeriod", "EndPeriod",
        "SummarizeColumnsBy", "Currency", "Option",
    ]  # fmt: skip
    assert header["ReportName"] == "ProfitAndLoss"
    # A calendar fiscal year is echoed as "calendar", as real captures show.
    assert header["DateMacro"] == "this calendar year-to-date"
    assert (header["StartPeriod"], header["EndPeriod"]) == ("2026-01-01", "2026-04-29")
    assert header["SummarizeColumnsBy"] == "Total"
    assert header["Option"] == [
        {"Name": "AccountingStandard", "Value": "GAAP"},
        {"Name": "NoReportData", "Value": "false"},
    ]


def test_default_range_follows_a_july_fiscal_year():
    header = report(tiny_company(fiscal_month=7), "BalanceSheet")["Header"]
    assert header["DateMacro"] == "this fiscal year-to-date"
    assert (header["StartPeriod"], header["EndPeriod"]) == ("2025-07-01", "2026-04-29")


def test_ledger_reports_default_to_this_month_to_date(company):
    for name in ("GeneralLedger", "TrialBalance", "ProfitAndLossDetail", "TransactionList"):
        header = report(company, name)["Header"]
        assert header["DateMacro"] == "this month-to-date", name
        assert (header["StartPeriod"], header["EndPeriod"]) == ("2026-04-01", "2026-04-29")
        assert "SummarizeColumnsBy" not in header
        assert header["Option"] == [{"Name": "NoReportData", "Value": "false"}]


def test_explicit_dates_leave_date_macro_out_of_the_header(company):
    header = report(company, "ProfitAndLoss", start_date="2026-02-01", end_date="2026-02-28")[
        "Header"
    ]
    assert "DateMacro" not in header
    assert (header["StartPeriod"], header["EndPeriod"]) == ("2026-02-01", "2026-02-28")


def test_lone_end_date_is_ignored_like_quickbooks(company):
    header = report(company, "ProfitAndLoss", end_date="2026-02-28")["Header"]
    assert header["DateMacro"] == "this calendar year-to-date"
    assert header["EndPeriod"] == "2026-04-29"


def test_monthly_columns_clip_the_last_month_at_end_date(company):
    columns = report(company, "ProfitAndLoss", summarize_column_by="Month")["Columns"]["Column"]
    assert columns[0] == {
        "ColTitle": "", "ColType": "Account", "MetaData": [{"Name": "ColKey", "Value": "account"}]
    }  # fmt: skip
    assert [c["ColTitle"] for c in columns[1:]] == [
        "Jan 2026", "Feb 2026", "Mar 2026", "Apr 1-29, 2026", "Total",
    ]  # fmt: skip
    assert columns[4]["MetaData"] == [
        {"Name": "StartDate", "Value": "2026-04-01"},
        {"Name": "EndDate", "Value": "2026-04-29"},
        {"Name": "ColKey", "Value": "Apr 1-29, 2026"},
    ]
    assert columns[5] == {
        "ColTitle": "Total", "ColType": "Money", "MetaData": [{"Name": "ColKey", "Value": "total"}]
    }  # fmt: skip


def test_monthly_balance_sheet_has_no_total_column(company):
    keys = column_keys(report(company, "BalanceSheet", summarize_column_by="Month"))
    assert keys == ["account", "Jan 2026", "Feb 2026", "Mar 2026", "Apr 1-29, 2026"]


def test_quarter_year_week_and_day_columns():
    july = tiny_company(fiscal_month=7)
    quarters = report(
        july, "ProfitAndLoss", start_date="2025-11-15", end_date="2026-04-29",
        summarize_column_by="Quarter",
    )  # fmt: skip
    assert [c["ColTitle"] for c in quarters["Columns"]["Column"][1:]] == [
        "Nov 15 - Dec 31, 2025", "Jan - Mar, 2026", "Apr 1-29, 2026", "Total",
    ]  # fmt: skip
    years = report(
        july, "ProfitAndLoss", start_date="2024-07-01", end_date="2026-04-29",
        summarize_column_by="Year",
    )  # fmt: skip
    assert [c["ColTitle"] for c in years["Columns"]["Column"][1:]] == [
        "Jul 2024 - Jun 2025", "Jul 1, 2025 - Apr 29, 2026", "Total",
    ]  # fmt: skip
    assert [p.title for p in periods(date(2025, 1, 1), date(2025, 12, 31), "Year", 1)] == ["2025"]
    weeks = periods(date(2026, 3, 25), date(2026, 4, 8), "Week", 1)
    assert [(p.start, p.end, p.title) for p in weeks] == [
        (date(2026, 3, 25), date(2026, 3, 28), "Mar 25-28, 2026"),
        (date(2026, 3, 29), date(2026, 4, 4), "Mar 29 - Apr 4, 2026"),
        (date(2026, 4, 5), date(2026, 4, 8), "Apr 5-8, 2026"),
    ]
    days = report(july, "ProfitAndLoss", start_date="2026-04-09", end_date="2026-04-10",
                  summarize_column_by="Days")  # fmt: skip
    assert [c["ColTitle"] for c in days["Columns"]["Column"][1:]] == [
        "Apr 9, 2026", "Apr 10, 2026", "Total",
    ]  # fmt: skip
    assert values(days, "Rent") == ["", "100.00", "100.00"]
    assert [p.title for p in periods(date(2025, 12, 28), date(2026, 1, 3), "Week", 1)] == [
        "Dec 28, 2025 - Jan 3, 2026"
    ]


# --- date macros ---------------------------------------------------------------------------------
# Expected ranges on Wednesday 2026-04-29 for a fiscal year starting in July.
JULY_MACROS = {
    "Today": ("2026-04-29", "2026-04-29"),
    "Yesterday": ("2026-04-28", "2026-04-28"),
    "This Week": ("2026-04-26", "2026-05-02"),
    "Last Week": ("2026-04-19", "2026-04-25"),
    "This Week-to-date": ("2026-04-26", "2026-04-29"),
    "Last Week-to-date": ("2026-04-19", "2026-04-22"),
    "Next Week": ("2026-05-03", "2026-05-09"),
    "Next 4 Weeks": ("2026-05-03", "2026-05-30"),
    "This Month": ("2026-04-01", "2026-04-30"),
    "Last Month": ("2026-03-01", "2026-03-31"),
    "This Month-to-date": ("2026-04-01", "2026-04-29"),
    "Last Month-to-date": ("2026-03-01", "2026-03-29"),
    "Next Month": ("2026-05-01", "2026-05-31"),
    "This Fiscal Quarter": ("2026-04-01", "2026-06-30"),
    "Last Fiscal Quarter": ("2026-01-01", "2026-03-31"),
    "This Fiscal Quarter-to-date": ("2026-04-01", "2026-04-29"),
    "Last Fiscal Quarter-to-date": ("2026-01-01", "2026-01-29"),
    "Next Fiscal Quarter": ("2026-07-01", "2026-09-30"),
    "This Fiscal Year": ("2025-07-01", "2026-06-30"),
    "Last Fiscal Year": ("2024-07-01", "2025-06-30"),
    "This Fiscal Year-to-date": ("2025-07-01", "2026-04-29"),
    "Last Fiscal Year-to-date": ("2024-07-01", "2025-04-29"),
    "Next Fiscal Year": ("2026-07-01", "2027-06-30"),
    "This Calendar Quarter": ("2026-04-01", "2026-06-30"),
    "Last Calendar Quarter": ("2026-01-01", "2026-03-31"),
    "This Calendar Quarter-to-date": ("2026-04-01", "2026-04-29"),
    "Last Calendar Quarter-to-date": ("2026-01-01", "2026-01-29"),
    "Next Calendar Quarter": ("2026-07-01", "2026-09-30"),
    "This Calendar Year": ("2026-01-01", "2026-12-31"),
    "Last Calendar Year": ("2025-01-01", "2025-12-31"),
    "This Calendar Year-to-date": ("2026-01-01", "2026-04-29"),
    "Last Calendar Year-to-date": ("2025-01-01", "2025-04-29"),
    "Next Calendar Year": ("2027-01-01", "2027-12-31"),
}


def test_every_macro_of_the_reference_is_known():
    assert set(JULY_MACROS) == set(MACRO_NAMES)


@pytest.mark.parametrize("macro", list(JULY_MACROS))
def test_macro_ranges_with_a_july_fiscal_year(macro):
    july = tiny_company(fiscal_month=7)
    header = report(july, "ProfitAndLoss", date_macro=macro)["Header"]
    assert (header["StartPeriod"], header["EndPeriod"]) == JULY_MACROS[macro]
    assert header["DateMacro"] == macro.lower()


def test_fiscal_macros_follow_a_fiscal_year_starting_in_november():
    assert macro_range("This Fiscal Quarter", date(2026, 1, 15), 11) == (
        date(2025, 11, 1), date(2026, 1, 31),
    )  # fmt: skip
    assert macro_range("This Fiscal Year", date(2026, 1, 15), 11) == (
        date(2025, 11, 1), date(2026, 10, 31),
    )  # fmt: skip


def test_to_date_macros_clip_at_shorter_months():
    assert macro_range("Last Month-to-date", date(2026, 3, 31), 1) == (
        date(2026, 2, 1), date(2026, 2, 28),
    )  # fmt: skip
    assert macro_range("Last Fiscal Year-to-date", date(2028, 2, 29), 1) == (
        date(2027, 1, 1), date(2027, 2, 28),
    )  # fmt: skip


def test_macro_names_are_case_insensitive(company):
    header = report(company, "ProfitAndLoss", date_macro="last  MONTH")["Header"]
    assert header["DateMacro"] == "last month"
    assert (header["StartPeriod"], header["EndPeriod"]) == ("2026-03-01", "2026-03-31")


# --- profit and loss -----------------------------------------------------------------------------
def test_profit_and_loss_nests_a_three_level_sub_account_tree(company):
    pnl = report(company, "ProfitAndLoss")
    income = section(pnl, "Income")
    assert income["Header"]["ColData"] == [{"value": "Income"}, {"value": ""}]
    services = income["Rows"]["Row"][0]
    assert services["type"] == "Section"
    assert "group" not in services
    assert services["Header"]["ColData"] == [{"value": "Services", "id": "7"}, {"value": "100.00"}]
    landscaping = services["Rows"]["Row"][0]
    assert landscaping["Header"]["ColData"] == [
        {"value": "Landscaping", "id": "8"}, {"value": "300.00"},
    ]  # fmt: skip
    assert landscaping["Rows"]["Row"] == [
        {"ColData": [{"value": "Plants", "id": "9"}, {"value": "150.00"}], "type": "Data"}
    ]
    assert landscaping["Summary"]["ColData"] == [
        {"value": "Total Landscaping"},
        {"value": "450.00"},
    ]
    assert services["Summary"]["ColData"] == [{"value": "Total Services"}, {"value": "550.00"}]
    assert income["Summary"]["ColData"] == [{"value": "Total Income"}, {"value": "550.00"}]


def test_profit_and_loss_groups_and_computed_lines(company):
    pnl = report(company, "ProfitAndLoss")
    groups = [row.get("group") for row in top_rows(pnl)]
    # No COGS activity: no COGS section, but Gross Profit is still computed.
    assert groups == [
        "Income", "GrossProfit", "Expenses", "NetOperatingIncome", "OtherIncome",
        "NetOtherIncome", "NetIncome",
    ]  # fmt: skip
    assert summary(pnl, "GrossProfit") == ["550.00"]
    assert summary(pnl, "Expenses") == ["1300.00"]
    assert summary(pnl, "NetOperatingIncome") == ["-750.00"]
    assert summary(pnl, "OtherIncome") == ["4.10"]
    assert summary(pnl, "NetOtherIncome") == ["4.10"]
    assert summary(pnl, "NetIncome") == ["-745.90"]
    net = section(pnl, "NetIncome")
    assert list(net) == ["Summary", "type", "group"]
    assert all("id" not in c for c in net["Summary"]["ColData"])


def test_accounts_without_activity_are_left_out(company):
    pnl = report(company, "ProfitAndLoss", start_date="2026-04-01", end_date="2026-04-29")
    labels = [r["ColData"][0]["value"] for r in walk(top_rows(pnl)) if "ColData" in r]
    assert labels == ["Rent", "Interest Earned"]
    # Income has no activity in April: Header + Summary with "" and no Rows.
    income = section(pnl, "Income")
    assert "Rows" not in income
    assert income["Summary"]["ColData"] == [{"value": "Total Income"}, {"value": ""}]


def test_monthly_profit_and_loss_blank_cells_and_total(company):
    pnl = report(company, "ProfitAndLoss", summarize_column_by="Month")
    assert values(pnl, "Rent") == ["", "", "1200.00", "100.00", "1300.00"]
    assert values(pnl, "Total Income") == ["", "550.00", "", "", "550.00"]
    # Computed lines print 0.00 where nothing happened.
    assert summary(pnl, "NetIncome") == ["0.00", "550.00", "-1200.00", "-95.90", "-745.90"]
    assert_sections_add_up(top_rows(pnl))


def test_cash_basis_recognises_invoices_when_paid(company):
    cash = report(company, "ProfitAndLoss", accounting_method="Cash")
    assert cash["Header"]["ReportBasis"] == "Cash"
    assert values(cash, "Services") == ["536.36"]
    assert values(cash, "Landscaping") == ["109.09"]
    assert values(cash, "Plants") == ["54.55"]
    assert summary(cash, "Income") == ["700.00"]
    assert summary(cash, "Expenses") == ["100.00"]  # the unpaid bill is not an expense yet
    assert summary(cash, "NetIncome") == ["604.10"]


def test_report_basis_defaults_to_the_company_preference():
    header = report(tiny_company(basis="Cash"), "ProfitAndLoss")["Header"]
    assert header["ReportBasis"] == "Cash"


def test_class_filter_is_applied_and_echoed(company):
    pnl = report(company, "ProfitAndLoss", **{"class": LANDSCAPING_CLASS})
    assert pnl["Header"]["Class"] == LANDSCAPING_CLASS
    assert summary(pnl, "Income") == ["300.00"]
    assert summary(pnl, "Expenses") == ["100.00"]
    assert summary(pnl, "NetIncome") == ["200.00"]


def test_department_filter_is_applied_and_echoed(company):
    pnl = report(company, "ProfitAndLoss", department=EAST)
    assert pnl["Header"]["Department"] == EAST
    assert summary(pnl, "Income") == ["550.00"]
    assert summary(pnl, "Expenses") == [""]
    assert summary(pnl, "NetIncome") == ["550.00"]


def test_profit_and_loss_by_class_has_a_column_per_class(company):
    pnl = report(company, "ProfitAndLoss", summarize_column_by="Classes")
    assert pnl["Header"]["SummarizeColumnsBy"] == "Classes"
    assert [c["ColTitle"] for c in pnl["Columns"]["Column"][1:]] == [
        "Landscaping", "Not Specified", "TOTAL",
    ]  # fmt: skip
    assert column_keys(pnl)[1:] == [LANDSCAPING_CLASS, "not_specified", "total"]
    assert values(pnl, "Rent") == ["100.00", "1200.00", "1300.00"]
    assert summary(pnl, "NetIncome") == ["200.00", "-945.90", "-745.90"]


def test_profit_and_loss_by_department(company):
    pnl = report(company, "ProfitAndLoss", summarize_column_by="Departments")
    assert [c["ColTitle"] for c in pnl["Columns"]["Column"][1:]] == [
        "East", "Not Specified", "TOTAL",
    ]  # fmt: skip
    assert summary(pnl, "Income") == ["550.00", "", "550.00"]


def test_empty_profit_and_loss_is_the_no_data_skeleton(company):
    pnl = report(company, "ProfitAndLoss", start_date="2024-01-01", end_date="2024-12-31")
    assert option(pnl, "NoReportData") == "true"
    assert [r.get("group") for r in top_rows(pnl)] == [
        "Income", "GrossProfit", "Expenses", "NetOperatingIncome", "NetIncome",
    ]  # fmt: skip
    assert section(pnl, "Income") == {
        "Header": {"ColData": [{"value": "Income"}, {"value": ""}]},
        "Summary": {"ColData": [{"value": "Total Income"}, {"value": ""}]},
        "type": "Section",
        "group": "Income",
    }
    assert summary(pnl, "NetIncome") == [""]


# --- balance sheet -------------------------------------------------------------------------------
def test_balance_sheet_groups_and_equity_split(company):
    bs = report(company, "BalanceSheet")
    assert [r["group"] for r in top_rows(bs)] == ["TotalAssets", "TotalLiabilitiesAndEquity"]
    assets = section(bs, "TotalAssets")
    assert assets["Header"]["ColData"][0]["value"] == "ASSETS"
    assert [r["group"] for r in assets["Rows"]["Row"]] == ["CurrentAssets", "FixedAssets"]
    current = section(bs, "CurrentAssets")
    assert [r["group"] for r in current["Rows"]["Row"]] == ["BankAccounts", "AR"]
    assert values(bs, "Checking") == ["10554.10"]
    assert values(bs, "Accounts Receivable (A/R)") == ["350.00"]
    assert summary(bs, "TotalAssets") == ["15904.10"]
    liabilities = section(bs, "Liabilities")
    assert [r["group"] for r in liabilities["Rows"]["Row"]] == [
        "CurrentLiabilities", "LongTermLiabilities",
    ]  # fmt: skip
    assert section(bs, "LongTermLiabilities")["Header"]["ColData"][0]["value"] == (
        "Long-Term Liabilities"
    )
    assert values(bs, "Accounts Payable (A/P)") == ["1200.00"]
    equity = section(bs, "Equity")
    assert equity["Rows"]["Row"] == [
        {"ColData": [{"value": "Opening Balance Equity", "id": "5"}, {"value": "10000.00"}],
         "type": "Data"},
        # 2025's income (500.00) less the 50.00 posted to it directly.
        {"ColData": [{"value": "Retained Earnings", "id": "6"}, {"value": "450.00"}],
         "type": "Data"},
        {"ColData": [{"value": "Net Income"}, {"value": "-745.90"}], "type": "Data",
         "group": "NetIncome"},
    ]  # fmt: skip
    assert summary(bs, "Equity") == ["9704.10"]
    assert summary(bs, "TotalLiabilitiesAndEquity") == ["15904.10"]
    assert_sections_add_up(top_rows(bs))


def test_cash_basis_balance_sheet_balances_too(company):
    bs = report(company, "BalanceSheet", accounting_method="Cash")
    assert values(bs, "Accounts Receivable (A/R)") == ["0.00"]
    assert values(bs, "Retained Earnings") == ["-50.00"]
    assert values(bs, "Net Income") == ["604.10"]
    assert summary(bs, "TotalAssets") == summary(bs, "TotalLiabilitiesAndEquity") == ["15554.10"]


def test_monthly_balance_sheet_balances_every_month_end(company):
    bs = report(
        company, "BalanceSheet", start_date="2025-10-01", end_date="2026-04-29",
        summarize_column_by="Month",
    )  # fmt: skip
    assets = summary(bs, "TotalAssets")
    assert assets == summary(bs, "TotalLiabilitiesAndEquity")
    assert assets == [
        "10000.00", "10500.00", "10500.00", "10500.00", "11000.00", "11000.00", "15904.10",
    ]  # fmt: skip
    # Net Income restarts at the fiscal year; 2025's income moves into Retained Earnings.
    assert values(bs, "Net Income") == ["", "500.00", "500.00", "", "550.00", "-650.00", "-745.90"]
    assert values(bs, "Retained Earnings") == ["", "", "", "500.00", "450.00", "450.00", "450.00"]


def test_balance_sheet_net_income_equals_profit_and_loss_to_date(company):
    for end in ("2026-02-15", "2026-03-31", "2026-04-29"):
        bs = report(company, "BalanceSheet", start_date="2026-01-01", end_date=end)
        pnl = report(company, "ProfitAndLoss", start_date="2026-01-01", end_date=end)
        assert values(bs, "Net Income") == summary(pnl, "NetIncome")


# --- cash flow -----------------------------------------------------------------------------------
def test_cash_flow_reconciles_net_income_to_cash(company):
    flow = report(company, "CashFlow")
    assert [r["group"] for r in top_rows(flow)] == [
        "OperatingActivities", "InvestingActivities", "FinancingActivities", "CashIncrease",
        "BeginningCash", "EndingCash",
    ]  # fmt: skip
    operating = section(flow, "OperatingActivities")
    assert operating["Rows"]["Row"][0] == {
        "ColData": [{"value": "Net Income"}, {"value": "-745.90"}], "type": "Data",
        "group": "NetIncome",
    }  # fmt: skip
    assert values(flow, "Accounts Receivable (A/R)") == ["150.00"]
    assert values(flow, "Accounts Payable (A/P)") == ["1200.00"]
    assert summary(flow, "OperatingAdjustments") == ["1350.00"]
    assert summary(flow, "OperatingActivities") == ["604.10"]
    assert values(flow, "Truck") == ["-5000.00"]
    assert values(flow, "Loan") == ["5000.00"]
    assert values(flow, "Retained Earnings") == ["-50.00"]
    assert summary(flow, "FinancingActivities") == ["4950.00"]
    assert summary(flow, "CashIncrease") == ["554.10"]
    assert summary(flow, "BeginningCash") == ["10000.00"]
    assert summary(flow, "EndingCash") == ["10554.10"]
    assert_sections_add_up(top_rows(flow))


def test_monthly_cash_flow_ties_each_month(company):
    flow = report(company, "CashFlow", summarize_column_by="Month")
    begin, increase, end = (
        summary(flow, g) for g in ("BeginningCash", "CashIncrease", "EndingCash")
    )
    for b, i, e in zip(begin, increase, end, strict=True):
        assert Decimal(b) + Decimal(i) == Decimal(e)
    assert end == ["10500.00", "10450.00", "10650.00", "10554.10", "10554.10"]


# --- trial balance -------------------------------------------------------------------------------
def test_trial_balance_debits_equal_credits(company):
    tb = report(company, "TrialBalance")
    assert [c["ColTitle"] for c in tb["Columns"]["Column"]] == ["", "Debit", "Credit"]
    assert column_keys(tb) == ["account", "debit", "credit"]
    rows = {r["ColData"][0]["value"]: [c["value"] for c in r["ColData"][1:]]
            for r in top_rows(tb) if "ColData" in r}  # fmt: skip
    assert rows == {
        "Checking": ["10554.10", ""],
        "Accounts Receivable (A/R)": ["350.00", ""],
        "Truck": ["5000.00", ""],
        "Accounts Payable (A/P)": ["", "1200.00"],
        "Loan": ["", "5000.00"],
        "Opening Balance Equity": ["", "10000.00"],
        "Retained Earnings": ["", "450.00"],
        "Services": ["", "100.00"],
        "Services:Landscaping": ["", "300.00"],
        "Services:Landscaping:Plants": ["", "150.00"],
        "Rent": ["1300.00", ""],
        "Interest Earned": ["", "4.10"],
    }
    total = top_rows(tb)[-1]
    assert total == {
        "Summary": {"ColData": [{"value": "TOTAL"}, {"value": "17204.10"}, {"value": "17204.10"}]},
        "type": "Section",
        "group": "GrandTotal",
    }


# --- detail reports ------------------------------------------------------------------------------
def test_general_ledger_sections_with_beginning_and_running_balance(company):
    gl = report(company, "GeneralLedger")
    assert column_keys(gl) == [
        "tx_date", "txn_type", "doc_num", "name", "memo", "split_acc", "subt_nat_amount",
        "rbal_nat_amount",
    ]  # fmt: skip
    assert gl["Columns"]["Column"][0]["ColType"] == "Date"
    checking = top_rows(gl)[0]
    assert checking["Header"]["ColData"][0] == {"value": "Checking", "id": "1"}
    rows = [r["ColData"] for r in checking["Rows"]["Row"]]
    assert [c["value"] for c in rows[0]] == [
        "Beginning Balance",
        "",
        "",
        "",
        "",
        "",
        "",
        "10650.00",
    ]
    assert rows[1] == [
        {"value": "2026-04-10"}, {"value": "Expense", "id": "1"}, {"value": ""},
        {"value": "Norton Lumber", "id": "1"}, {"value": ""}, {"value": "Rent", "id": "10"},
        {"value": "-100.00"}, {"value": "10550.00"},
    ]  # fmt: skip
    assert [c["value"] for c in rows[2]][1:] == [
        "Deposit", "", "", "", "Interest Earned", "4.10", "10554.10",
    ]  # fmt: skip
    assert checking["Summary"]["ColData"][0] == {"value": "Total for Checking"}
    assert [c["value"] for c in checking["Summary"]["ColData"][6:]] == ["-95.90", ""]
    # Accounts with only a beginning balance are listed; Undeposited Funds never moved.
    labels = [r["Header"]["ColData"][0]["value"] for r in top_rows(gl) if "Header" in r]
    assert "Accounts Receivable (A/R)" in labels
    assert "Undeposited Funds" not in labels


def test_general_ledger_nests_sub_accounts_like_quickbooks(company):
    gl = report(company, "GeneralLedger", start_date="2026-02-01", end_date="2026-02-28")
    services = labelled(gl, "Services")  # the Header
    parent = next(r for r in top_rows(gl) if r.get("Header") is services)
    own, landscaping = parent["Rows"]["Row"]
    assert "Header" not in own  # the parent's own lines sit in a headerless section
    assert own["Summary"]["ColData"][0]["value"] == "Total for Services"
    assert landscaping["Header"]["ColData"][0] == {"value": "Landscaping", "id": "8"}
    assert parent["Summary"]["ColData"][0]["value"] == "Total for Services with sub-accounts"
    assert parent["Summary"]["ColData"][6]["value"] == "550.00"
    invoice_line = own["Rows"]["Row"][-1]["ColData"]
    # Income lines split to the invoice's A/R account.
    assert invoice_line[1] == {"value": "Invoice", "id": "2"}
    assert invoice_line[2] == {"value": "1002"}
    assert invoice_line[5] == {"value": "Accounts Receivable (A/R)", "id": "2"}
    ar = next(
        r for r in top_rows(gl) if r["Header"]["ColData"][0]["value"].startswith("Accounts R")
    )
    ar_invoice = next(r for r in ar["Rows"]["Row"] if r["ColData"][1].get("id") == "2")
    assert ar_invoice["ColData"][5] == {"value": "-Split-", "id": ""}


def test_columns_parameter_selects_detail_columns(company):
    gl = report(company, "GeneralLedger", columns="tx_date,account_name,debt_amt,credit_amt")
    assert column_keys(gl) == ["tx_date", "account_name", "debt_amt", "credit_amt"]
    checking = top_rows(gl)[0]
    expense = checking["Rows"]["Row"][1]["ColData"]
    assert expense == [
        {"value": "2026-04-10"}, {"value": "Checking", "id": "1"}, {"value": ""},
        {"value": "100.00"},
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["GeneralLedger", "ProfitAndLossDetail", "TransactionList"])
def test_an_unknown_column_key_is_refused_with_a_fault_naming_it(company, name):
    with pytest.raises(ReportError) as caught:
        report(company, name, columns="tx_date,account_name,bogus,debt_amt")
    error = caught.value
    assert (error.status, error.code) == (400, "2010")
    assert error.message == "Request has invalid or unsupported property"
    assert "Property Name:columns" in error.detail
    assert "'bogus'" in error.detail
    assert "tx_date" in error.detail  # the keys that exist


def test_profit_and_loss_detail_layout(company):
    detail = report(company, "ProfitAndLossDetail", start_date="2026-02-01", end_date="2026-02-28")
    ordinary = top_rows(detail)[0]
    assert ordinary["Header"]["ColData"][0]["value"] == "Ordinary Income/Expenses"
    gross, income = ordinary["Rows"]["Row"]
    assert gross["Summary"]["ColData"][0]["value"] == "Gross Profit"
    assert gross["Summary"]["ColData"][6]["value"] == "550.00"
    assert income["Summary"]["ColData"][0]["value"] == "Total for Income"
    assert labelled(detail, "Plants")["ColData"][0] == {"value": "Plants", "id": "9"}
    plants_line = labelled(detail, "Total for Plants")["ColData"][6]
    assert plants_line == {"value": "150.00"}
    assert ordinary["Summary"]["ColData"][0]["value"] == "Net Income"
    assert ordinary["Summary"]["ColData"][6]["value"] == "550.00"
    assert len(top_rows(detail)) == 1


def test_profit_and_loss_detail_with_other_income(company):
    detail = report(company, "ProfitAndLossDetail")
    labels = [r["Header"]["ColData"][0]["value"] if "Header" in r else
              r["Summary"]["ColData"][0]["value"] for r in top_rows(detail)]  # fmt: skip
    assert labels == ["Ordinary Income/Expenses", "Other Income/Expense", "Net Income"]
    assert top_rows(detail)[0]["Summary"]["ColData"][0]["value"] == "Net Ordinary Income"
    assert top_rows(detail)[2]["Summary"]["ColData"][6]["value"] == "-95.90"


def test_transaction_list_one_row_per_transaction(company):
    tl = report(company, "TransactionList", start_date="2026-02-01", end_date="2026-02-28")
    assert column_keys(tl) == [
        "tx_date", "txn_type", "doc_num", "is_no_post", "name", "dept_name", "memo",
        "account_name", "other_account", "subt_nat_amount",
    ]  # fmt: skip
    assert tl["Columns"]["Column"][5]["ColTitle"] == "Location"
    rows = [r["ColData"] for r in top_rows(tl)]
    assert rows[0] == [
        {"value": "2026-02-03"}, {"value": "Invoice", "id": "2"}, {"value": "1002"},
        {"value": "Yes"}, {"value": "Amy's Bird Sanctuary", "id": "1"},
        {"value": "East", "id": EAST}, {"value": ""},
        {"value": "Accounts Receivable (A/R)", "id": "2"}, {"value": "-Split-", "id": ""},
        {"value": "550.00"},
    ]  # fmt: skip
    assert [c["value"] for c in rows[1]][:2] == ["2026-02-28", "Journal Entry"]
    assert rows[1][7:] == [
        {"value": "Retained Earnings", "id": "6"}, {"value": "Checking", "id": "1"},
        {"value": "50.00"},
    ]  # fmt: skip


def test_account_list_lists_active_accounts(company):
    accounts = report(company, "AccountList")
    assert list(accounts["Header"]) == ["Time", "ReportName", "Currency", "Option"]
    assert column_keys(accounts) == [
        "account_name", "account_type", "detail_acc_type", "account_desc", "account_bal",
    ]  # fmt: skip
    rows = {r["ColData"][0]["value"]: r["ColData"] for r in top_rows(accounts)}
    assert rows["Checking"] == [
        {"value": "Checking", "id": "1"}, {"value": "Bank"}, {"value": "Checking"}, {"value": ""},
        {"value": "10554.10"},
    ]  # fmt: skip
    assert rows["Services:Landscaping"][2] == {"value": "Service Fee Income"}
    assert rows["Rent"][4] == {"value": ""}  # P&L accounts carry no balance
    assert len(rows) == len(ACCOUNTS)


def test_empty_balance_sheet_keeps_its_two_top_sections(company):
    bs = report(company, "BalanceSheet", start_date="2020-01-01", end_date="2020-12-31")
    assert option(bs, "NoReportData") == "true"
    assert top_rows(bs) == [
        {"Header": {"ColData": [{"value": "ASSETS"}, {"value": ""}]},
         "Summary": {"ColData": [{"value": "TOTAL ASSETS"}, {"value": ""}]},
         "type": "Section", "group": "TotalAssets"},
        {"Header": {"ColData": [{"value": "LIABILITIES AND EQUITY"}, {"value": ""}]},
         "Summary": {"ColData": [{"value": "TOTAL LIABILITIES AND EQUITY"}, {"value": ""}]},
         "type": "Section", "group": "TotalLiabilitiesAndEquity"},
    ]  # fmt: skip


def test_empty_ledger_reports_have_no_rows(company):
    names = ("GeneralLedger", "ProfitAndLossDetail", "TransactionList", "TrialBalance", "CashFlow")
    for name in names:
        empty = report(company, name, start_date="2020-01-01", end_date="2020-01-31")
        assert empty["Rows"] == {}, name
        assert option(empty, "NoReportData") == "true"


# --- limits --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["GeneralLedger", "ProfitAndLossDetail", "TransactionList"])
def test_detail_reports_cover_ranges_longer_than_six_months(company, name):
    """Intuit's six months of detail is advice; only the cell cap cuts a report."""
    detail = report(company, name, start_date="2025-06-01", end_date="2026-04-29")
    assert detail["Header"]["EndPeriod"] == "2026-04-29"
    assert report_rows.TRUNCATION_MESSAGE not in str(detail)
    dates = {r["ColData"][0]["value"] for r in walk(top_rows(detail)) if "ColData" in r}
    assert "2025-11-10" in dates  # the invoice, within six months of 2025-06-01
    if name != "ProfitAndLossDetail":  # a payment posts nothing to P&L accounts
        assert "2026-01-05" in dates  # its payment, seven months after the start


def test_reports_over_the_cell_cap_end_with_the_marker(company, monkeypatch):
    monkeypatch.setattr(report_rows, "MAX_CELLS", 40)
    gl = report(company, "GeneralLedger", start_date="2026-01-01", end_date="2026-04-29")
    cells = sum(
        len(part["ColData"])
        for row in walk(top_rows(gl))
        for part in (row, row.get("Header"), row.get("Summary"))
        if part and "ColData" in part
    )
    assert top_rows(gl)[-1]["ColData"][0]["value"] == report_rows.TRUNCATION_MESSAGE
    assert cells <= 40 + 8
    pnl = report(company, "ProfitAndLoss", summarize_column_by="Month")
    assert top_rows(pnl)[-1]["ColData"][0]["value"] == report_rows.TRUNCATION_MESSAGE
    # A section cut short loses its Summary, as real truncated reports do.
    assert any("Summary" not in r for r in top_rows(pnl) if r.get("type") == "Section")


def test_small_reports_are_not_truncated(company):
    text = str(report(company, "GeneralLedger"))
    assert report_rows.TRUNCATION_MESSAGE not in text


# --- faults --------------------------------------------------------------------------------------
def test_unknown_report_name_is_an_unsupported_operation(company):
    with pytest.raises(ReportError) as caught:
        report(company, "profitandloss")
    error = caught.value
    assert (error.status, error.code, error.message) == (400, "500", "Unsupported Operation")
    assert "reports/profitandloss" in error.detail


def test_real_reports_the_emulator_does_not_compute_say_so(company):
    with pytest.raises(ReportError) as caught:
        report(company, "JournalReport")
    assert "does not compute the JournalReport report" in caught.value.detail


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"start_date": "2026-13-01", "end_date": "2026-12-31"}, "start_date"),
        ({"start_date": "2026-01-01", "end_date": "31/12/2026"}, "end_date"),
        ({"start_date": "2026-03-01", "end_date": "2026-02-01"}, "start_date"),
        ({"date_macro": "Last Decade"}, "date_macro"),
        ({"accounting_method": "Modified"}, "accounting_method"),
        ({"summarize_column_by": "Fortnight"}, "summarize_column_by"),
        ({"summarize_column_by": "Customers"}, "summarize_column_by"),
    ],
)
def test_bad_parameters_are_validation_faults_naming_the_parameter(company, params, named):
    with pytest.raises(ReportError) as caught:
        build_report(company, "ProfitAndLoss", params)
    error = caught.value
    assert (error.status, error.code) == (400, "2010")
    assert error.message == "Request has invalid or unsupported property"
    assert f"Property Name:{named} " in error.detail


def test_reports_follow_new_transactions(company):
    before = summary(report(company, "ProfitAndLoss"), "Expenses")
    company.add("Purchase", {
        "TxnDate": "2026-04-28", "PaymentType": "Cash", "AccountRef": ref("1"), "TotalAmt": 20,
        "Line": [{"Amount": 20, "DetailType": "AccountBasedExpenseLineDetail",
                  "AccountBasedExpenseLineDetail": {"AccountRef": ref("10")}}],
    })  # fmt: skip
    assert before == ["1300.00"]
    assert summary(report(company, "ProfitAndLoss"), "Expenses") == ["1320.00"]


# --- aging and balances (as of a date) -----------------------------------------------------------
def aging_row(aging: dict, label: str) -> list[str]:
    return [c["value"] for c in labelled(aging, label)["ColData"][1:]]


def test_aged_receivables_buckets_the_open_invoice_by_days_past_due(company):
    # Today 2026-04-29: Invoice 2 (2026-02-03, no due date) has 350.00 open, 85 days old.
    aging = report(company, "AgedReceivables")
    assert [c["ColTitle"] for c in aging["Columns"]["Column"]] == [
        "", "Current", "1 - 30", "31 - 60", "61 - 90", "91 and over", "Total",
    ]  # fmt: skip
    assert aging["Columns"]["Column"][0]["ColType"] == "Customer"
    assert aging["Header"]["EndPeriod"] == "2026-04-29"
    assert "ReportBasis" not in aging["Header"]
    assert aging_row(aging, "TOTAL") == ["", "", "", "350.00", "", "350.00"]
    assert aging_row(aging, "Amy's Bird Sanctuary") == ["", "", "", "350.00", "", "350.00"]
    # Before Payment 2 the whole 550.00 was open, 35 days old; Invoice 1 was paid already.
    march = report(company, "AgedReceivables", report_date="2026-03-10")
    assert aging_row(march, "TOTAL") == ["", "", "550.00", "", "", "550.00"]
    december = report(company, "AgedReceivables", report_date="2025-12-31")
    assert aging_row(december, "TOTAL") == ["", "", "500.00", "", "", "500.00"]


def test_aged_payables_and_the_detail_list_the_open_bill(company):
    payables = report(company, "AgedPayables")
    assert payables["Columns"]["Column"][0]["ColType"] == "Vendor"
    assert aging_row(payables, "TOTAL") == ["", "", "1200.00", "", "", "1200.00"]
    detail = report(company, "AgedPayableDetail")
    bucket = top_rows(detail)[0]
    assert bucket["Header"]["ColData"][0]["value"] == "31 - 60 days past due"
    (bill,) = bucket["Rows"]["Row"]
    assert [c["value"] for c in bill["ColData"]] == [
        "2026-03-01", "Bill", "B-77", "Norton Lumber", "2026-03-01", "59", "1200.00", "1200.00",
    ]  # fmt: skip
    assert bill["ColData"][1]["id"] == "1"
    assert bill["ColData"][3]["id"] == "1"
    assert bucket["Summary"]["ColData"][0]["value"] == "Total for 31 - 60 days past due"
    assert top_rows(detail)[-1]["group"] == "GrandTotal"


def test_customer_and_vendor_balance_follow_the_basis(company):
    accrual = report(company, "CustomerBalance", accounting_method="Accrual")
    assert aging_row(accrual, "TOTAL") == ["350.00"]
    cash = report(company, "CustomerBalance", accounting_method="Cash")
    assert option(cash, "NoReportData") == "true"  # paid in cash terms: nothing is owed
    vendors = report(company, "VendorBalance", report_date="2026-03-15")
    assert aging_row(vendors, "TOTAL") == ["1200.00"]
    assert vendors["Header"]["ReportBasis"] == "Accrual"


def test_aging_periods_and_the_party_filter_are_parameters(company):
    aging = report(company, "AgedReceivables", aging_period="15", num_periods="2")
    assert [c["ColTitle"] for c in aging["Columns"]["Column"]][1:] == [
        "Current", "1 - 15", "16 and over", "Total",
    ]  # fmt: skip
    assert aging_row(aging, "TOTAL") == ["", "", "350.00", "350.00"]
    other = report(company, "AgedReceivables", customer="999")
    assert other["Header"]["Customer"] == "999"
    assert option(other, "NoReportData") == "true"


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"report_date": "2026-13-01"}, "report_date"),
        ({"aging_period": "0"}, "aging_period"),
        ({"num_periods": "x"}, "num_periods"),
        ({"aging_method": "Sometimes"}, "aging_method"),
        ({"accounting_method": "Both"}, "accounting_method"),
    ],
)
def test_bad_aging_parameters_are_2010_faults_naming_them(company, params, name):
    with pytest.raises(ReportError) as caught:
        report(company, "AgedReceivables", **params)
    assert caught.value.code == "2010"
    assert f"Property Name:{name}" in caught.value.detail
