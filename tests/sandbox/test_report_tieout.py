"""Reports of the generated companies tie out with each other and with the accounts.

Every generated company (calendar, July and April fiscal years, classes and locations,
multi-currency) on both bases: balance sheets balance at every month end of the whole
history, monthly P&Ls add up to their total, balance-sheet Net Income is the fiscal
year's P&L, cash flows end at the bank balances, trial balances balance, and each account's
CurrentBalance is its balance-sheet line.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from qb_pipeline.sandbox.accounting.companies import Company, EmulatorBackend
from qb_pipeline.sandbox.accounting.ledger import BASES
from qb_pipeline.sandbox.generate.company_builder import generate_backend
from qb_pipeline.sandbox.reports.catalog import build_report
from qb_pipeline.sandbox.reports.periods import fiscal_year_start, month_start
from tests.conftest import TEST_SEED, TEST_TODAY
from tests.sandbox.report_helpers import (
    amount,
    assert_sections_add_up,
    labelled,
    summary,
    top_rows,
    walk,
)


@pytest.fixture(scope="module")
def backend() -> EmulatorBackend:
    return generate_backend(seed=TEST_SEED, size="small", today=TEST_TODAY)


def companies(backend: EmulatorBackend) -> list[Company]:
    return backend.list_companies()


def first_day(company: Company) -> date:
    return min(p.txn_date for basis in BASES for p in company.ledger.postings(basis))


def each_company_and_basis(backend: EmulatorBackend):
    for company in companies(backend):
        for basis in BASES:
            yield company, basis


def test_generated_companies_cover_the_interesting_cases(backend):
    assert len(companies(backend)) >= 2
    assert {c.fiscal_year_start_month for c in companies(backend)} > {1}


def test_balance_sheet_balances_at_every_month_end_of_the_history(backend):
    for company, basis in each_company_and_basis(backend):
        bs = build_report(company, "BalanceSheet", {
            "start_date": month_start(first_day(company)).isoformat(),
            "end_date": company.today().isoformat(),
            "summarize_column_by": "Month",
            "accounting_method": basis,
        })  # fmt: skip
        assets = summary(bs, "TotalAssets")
        assert len(assets) >= 36
        assert assets == summary(bs, "TotalLiabilitiesAndEquity"), (company.name, basis)
        assert all(value != "" for value in assets)
        assert assert_sections_add_up(top_rows(bs)) > 5


def test_monthly_profit_and_loss_adds_up_to_its_total(backend):
    for company, basis in each_company_and_basis(backend):
        params = {
            "start_date": month_start(first_day(company)).isoformat(),
            "end_date": company.today().isoformat(),
            "accounting_method": basis,
        }
        monthly = build_report(company, "ProfitAndLoss", {**params, "summarize_column_by": "Month"})
        total = build_report(company, "ProfitAndLoss", params)
        for row in walk(top_rows(monthly)):
            for part in (row, row.get("Header"), row.get("Summary")):
                if not part or "ColData" not in part:
                    continue
                cells = [amount(c["value"]) for c in part["ColData"][1:]]
                if all(c is None for c in cells):
                    continue
                months = sum((c or Decimal(0) for c in cells[:-1]), Decimal(0))
                assert months == cells[-1], (company.name, basis, part["ColData"][0])
        assert summary(monthly, "NetIncome")[-1] == summary(total, "NetIncome")[0]
        assert assert_sections_add_up(top_rows(monthly)) > 5


def test_balance_sheet_net_income_is_the_fiscal_year_profit(backend):
    for company, basis in each_company_and_basis(backend):
        fiscal = company.fiscal_year_start_month
        for as_of in (company.today(), date(2025, 6, 30), date(2024, 12, 31)):
            bs = build_report(company, "BalanceSheet", {
                "start_date": "2024-01-01", "end_date": as_of.isoformat(),
                "accounting_method": basis,
            })  # fmt: skip
            pnl = build_report(company, "ProfitAndLoss", {
                "start_date": fiscal_year_start(as_of, fiscal).isoformat(),
                "end_date": as_of.isoformat(),
                "accounting_method": basis,
            })  # fmt: skip
            assert (
                labelled(bs, "Net Income")["ColData"][1]["value"] == (summary(pnl, "NetIncome")[0])
            ), (company.name, basis, as_of)


def test_cash_flow_ends_at_the_bank_balances(backend):
    for company, basis in each_company_and_basis(backend):
        params = {
            "start_date": fiscal_year_start(company.today(), company.fiscal_year_start_month)
            .replace(year=company.today().year - 1)
            .isoformat(),
            "end_date": company.today().isoformat(),
            "summarize_column_by": "Month",
            "accounting_method": basis,
        }
        flow = build_report(company, "CashFlow", params)
        bs = build_report(company, "BalanceSheet", params)
        begin = summary(flow, "BeginningCash")
        increase = summary(flow, "CashIncrease")
        ending = summary(flow, "EndingCash")
        for b, i, e in zip(begin, increase, ending, strict=True):
            assert Decimal(b) + Decimal(i) == Decimal(e)
        assert ending[:-1] == summary(bs, "BankAccounts"), (company.name, basis)
        assert ending[-1] == ending[-2]  # the Total column ends where the last month does
        assert assert_sections_add_up(top_rows(flow)) >= 2


def test_trial_balance_debits_equal_credits(backend):
    for company, basis in each_company_and_basis(backend):
        for end in (company.today(), date(2025, 12, 31), date(2024, 6, 30)):
            tb = build_report(company, "TrialBalance", {
                "start_date": (end - timedelta(days=30)).isoformat(),
                "end_date": end.isoformat(),
                "accounting_method": basis,
            })  # fmt: skip
            total = top_rows(tb)[-1]
            assert total["group"] == "GrandTotal"
            debit, credit = (c["value"] for c in total["Summary"]["ColData"][1:])
            assert debit == credit, (company.name, basis, end)
            rows = [r for r in top_rows(tb) if "ColData" in r]
            assert sum(amount(r["ColData"][1]["value"]) or 0 for r in rows) == Decimal(debit)


def test_current_balance_of_each_account_is_its_balance_sheet_line(backend):
    for company in companies(backend):
        bs = build_report(company, "BalanceSheet", {"accounting_method": "Accrual"})
        accounts = {a["Id"]: a for a in company.records("Account")}
        retained = next(
            a["Id"] for a in accounts.values() if a.get("AccountSubType") == "RetainedEarnings"
        )
        shown: set[str] = set()
        for row in walk(top_rows(bs)):
            cells = row.get("ColData") or row.get("Header", {}).get("ColData")
            if not cells or "id" not in cells[0] or cells[0]["id"] == retained:
                continue
            account = accounts[cells[0]["id"]]
            shown.add(account["Id"])
            own = amount(cells[1]["value"]) or Decimal(0)
            assert own == Decimal(str(account["CurrentBalance"])), account["Name"]
            if "Summary" in row:
                with_subs = amount(row["Summary"]["ColData"][1]["value"])
                assert with_subs == Decimal(str(account["CurrentBalanceWithSubAccounts"]))
        assert shown
        for account in accounts.values():
            on_balance_sheet = account["Classification"] in ("Asset", "Liability", "Equity")
            if on_balance_sheet and account["Id"] not in shown and account["Id"] != retained:
                assert account["CurrentBalance"] == 0, account["Name"]


def test_filtered_reports_split_the_demo_company_by_class(backend):
    demo = companies(backend)[0]
    classes = [c["Id"] for c in demo.records("Class")]
    assert classes
    params = {"start_date": "2026-01-01", "end_date": "2026-10-31"}
    by_class = build_report(demo, "ProfitAndLoss", {**params, "summarize_column_by": "Classes"})
    net = [Decimal(v) for v in summary(by_class, "NetIncome")]
    assert sum(net[:-1]) == net[-1]
    for column, class_id in enumerate(
        c["MetaData"][0]["Value"] for c in by_class["Columns"]["Column"][1:-1]
    ):
        if class_id == "not_specified":
            continue
        filtered = build_report(demo, "ProfitAndLoss", {**params, "class": class_id})
        assert filtered["Header"]["Class"] == class_id
        assert Decimal(summary(filtered, "NetIncome")[0]) == net[column]


def test_detail_reports_agree_with_the_ledger(backend):
    demo = companies(backend)[0]
    params = {"start_date": "2026-10-01", "end_date": "2026-10-31"}
    pnl = build_report(demo, "ProfitAndLoss", params)
    detail = build_report(demo, "ProfitAndLossDetail", params)
    net_line = top_rows(detail)[-1]["Summary"]["ColData"]
    assert net_line[0]["value"] == "Net Income"
    assert net_line[6]["value"] == summary(pnl, "NetIncome")[0]
    transactions = build_report(demo, "TransactionList", params)
    ledger_txns = {
        (p.txn_type, p.txn_id, p.txn_date)
        for p in demo.ledger.postings_between("Accrual", date(2026, 10, 1), date(2026, 10, 31))
    }
    assert len(top_rows(transactions)) == len(ledger_txns)


def test_general_ledger_of_a_long_range_is_served_whole(backend):
    """34 months of the demo company's general ledger fit in the 400,000-cell cap, so every
    posting of the range is a row (Intuit's six months of detail is advice, not a limit)."""
    demo = companies(backend)[0]
    gl = build_report(demo, "GeneralLedger", {"start_date": "2024-01-01", "end_date": "2026-10-31"})
    assert "Unable to display more data" not in str(gl)
    rows = [r for r in walk(top_rows(gl)) if "ColData" in r]
    transaction_rows = [r for r in rows if r["ColData"][0]["value"] != "Beginning Balance"]
    postings = demo.ledger.postings_between("Accrual", date(2024, 1, 1), date(2026, 10, 31))
    assert len(transaction_rows) == len(postings)
    assert {r["ColData"][0]["value"] for r in transaction_rows} >= {"2024-01-31", "2026-10-31"}


def test_reports_over_http_match_the_backend(make_emulator):
    running = make_emulator()
    client = httpx.Client(base_url=running.url, timeout=30)
    client.post("/_emulator/apps", json={
        "client_id": "reports-app", "client_secret": "s3cret",
        "redirect_uris": ["http://127.0.0.1/callback"],
    }).raise_for_status()  # fmt: skip
    company = running.state.backend.list_companies()[0]
    tokens = client.post(
        "/_emulator/tokens", json={"client_id": "reports-app", "realmId": company.realm_id}
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    params = {"start_date": "2026-01-01", "end_date": "2026-06-30", "summarize_column_by": "Month",
              "minorversion": "75"}  # fmt: skip
    answer = client.get(
        f"/v3/company/{company.realm_id}/reports/ProfitAndLoss", params=params, headers=headers
    )
    assert answer.status_code == 200
    body = answer.json()
    expected = build_report(company, "ProfitAndLoss", params)
    assert body["Rows"] == expected["Rows"]
    assert body["Columns"] == expected["Columns"]
    assert {k: v for k, v in body["Header"].items() if k != "Time"} == {
        k: v for k, v in expected["Header"].items() if k != "Time"
    }
    bad = client.get(
        f"/v3/company/{company.realm_id}/reports/ProfitAndLoss",
        params={"start_date": "2026-02-30", "end_date": "2026-03-01"},
        headers=headers,
    )
    assert bad.status_code == 400
    error = bad.json()["Fault"]["Error"][0]
    assert error["code"] == "2010"
    assert "start_date" in error["Detail"]
