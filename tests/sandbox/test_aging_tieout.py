"""Aging and balance reports of the generated companies tie out with the balance sheet.

For every generated company (multi-currency included) at month ends across its history and
today: AgedReceivables and AgedReceivableDetail total the balance sheet's A/R on that date,
AgedPayables and AgedPayableDetail its A/P, and CustomerBalance / VendorBalance the same on
both bases; each customer's aging total is its CustomerBalance; today's open amounts are
the documents' own `Balance`; and every document sits in the bucket of its days past due.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from qb_pipeline.sandbox import DEMO_CLIENT_ID
from qb_pipeline.sandbox.accounting.companies import Company, EmulatorBackend
from qb_pipeline.sandbox.accounting.ledger import BASES
from qb_pipeline.sandbox.generate.company_builder import generate_backend
from qb_pipeline.sandbox.reports.catalog import build_report
from tests.conftest import TEST_SEED, TEST_TODAY
from tests.sandbox.report_helpers import amount, summary, top_rows

DETAIL_BUCKETS = (
    "Current", "1 - 30 days past due", "31 - 60 days past due", "61 - 90 days past due",
    "91 or more days past due",
)  # fmt: skip


@pytest.fixture(scope="module")
def backend() -> EmulatorBackend:
    return generate_backend(seed=TEST_SEED, size="small", today=TEST_TODAY)


def as_of_dates(company: Company) -> list[date]:
    """Every third month end of the history, and today."""
    first = min(p.txn_date for p in company.ledger.postings("Accrual"))
    dates, month = [], date(first.year, first.month, 1)
    while month < company.today():
        following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        dates.append(following - timedelta(days=1))
        month = following
    return [*dates[::3], company.today()]


def grand_total(report: dict, column: int = -1) -> Decimal:
    last = top_rows(report)[-1]
    assert last["group"] == "GrandTotal"
    assert last["Summary"]["ColData"][0]["value"] == "TOTAL"
    return amount(last["Summary"]["ColData"][column]["value"]) or Decimal(0)


def sheet_line(company: Company, day: date, group: str, basis: str = "Accrual") -> Decimal:
    bs = build_report(company, "BalanceSheet", {
        "start_date": str(day), "end_date": str(day), "accounting_method": basis,
    })  # fmt: skip
    return amount(summary(bs, group)[0]) or Decimal(0)


def test_aging_totals_are_the_balance_sheets_ar_and_ap_on_every_date(backend):
    checked = nonzero = 0
    for company in backend.list_companies():
        for day in as_of_dates(company):
            params = {"report_date": str(day)}
            ar, ap = sheet_line(company, day, "AR"), sheet_line(company, day, "AP")
            for name, expected in (
                ("AgedReceivables", ar), ("AgedReceivableDetail", ar),
                ("AgedPayables", ap), ("AgedPayableDetail", ap),
            ):  # fmt: skip
                report = build_report(company, name, params)
                total = grand_total(report) if report["Rows"] else Decimal(0)
                assert total == expected, (company.name, day, name)
                checked += 1
            nonzero += ar != 0
    assert checked > 100
    assert nonzero > 20


def test_customer_and_vendor_balances_are_the_balance_sheets_on_both_bases(backend):
    for company in backend.list_companies():
        for day in as_of_dates(company)[-4:]:
            for basis in BASES:
                params = {"report_date": str(day), "accounting_method": basis}
                for name, group in (("CustomerBalance", "AR"), ("VendorBalance", "AP")):
                    report = build_report(company, name, params)
                    assert report["Header"]["ReportBasis"] == basis
                    total = grand_total(report) if report["Rows"] else Decimal(0)
                    assert total == sheet_line(company, day, group, basis), (name, day, basis)


def test_each_customers_aging_total_is_its_customer_balance(backend):
    for company in backend.list_companies():
        params = {"report_date": str(company.today() - timedelta(days=40))}
        aging = build_report(company, "AgedReceivables", params)
        balances = build_report(company, "CustomerBalance", params)

        def by_customer(report: dict) -> dict[str, str]:
            return {
                r["ColData"][0].get("id", ""): r["ColData"][-1]["value"]
                for r in top_rows(report)
                if "ColData" in r
            }

        assert by_customer(aging) == by_customer(balances)
        assert len(by_customer(aging)) > 3


def test_todays_open_amounts_are_the_documents_balances(backend):
    """Home-currency documents to the cent; foreign ones within the rounding of their
    lines to home cents (the ledger posts each line at the rate, a payment its total)."""
    for company in backend.list_companies():
        for name, entity in (("AgedReceivableDetail", "Invoice"), ("AgedPayableDetail", "Bill")):
            detail = build_report(company, name, {})
            listed = set()
            for bucket in top_rows(detail)[:-1]:
                for row in bucket["Rows"]["Row"]:
                    cells = row["ColData"]
                    if cells[1]["value"] != entity:
                        continue
                    record = company.get(entity, cells[1]["id"])
                    rate = Decimal(str(record.get("ExchangeRate", 1)))
                    home = (Decimal(str(record["Balance"])) * rate).quantize(Decimal("0.01"))
                    shown = amount(cells[7]["value"])
                    if rate == 1:
                        assert shown == home
                    else:
                        assert abs(shown - home) <= Decimal("0.01") * len(record["Line"])
                    listed.add(record["Id"])
            open_documents = {r["Id"] for r in company.records(entity) if r["Balance"]}
            assert open_documents <= listed
            assert open_documents


def test_every_document_is_in_the_bucket_of_its_days_past_due(backend):
    demo = backend.list_companies()[0]
    day = demo.today() - timedelta(days=75)
    detail = build_report(demo, "AgedReceivableDetail", {"report_date": str(day)})
    summary_report = build_report(demo, "AgedReceivables", {"report_date": str(day)})
    seen = set()
    for index, bucket in enumerate(top_rows(detail)[:-1]):
        title = bucket["Header"]["ColData"][0]["value"]
        position = DETAIL_BUCKETS.index(title)
        seen.add(position)
        for row in bucket["Rows"]["Row"]:
            due = date.fromisoformat(row["ColData"][4]["value"])
            days = (day - due).days
            expected = 0 if days <= 0 else min(1 + (days - 1) // 30, 4)
            assert position == expected
            assert row["ColData"][5]["value"] == str(max(days, 0))
        bucket_total = amount(bucket["Summary"]["ColData"][7]["value"])
        assert grand_total(summary_report, 1 + position) == bucket_total, index
    assert len(seen) >= 3


def test_aging_reports_over_http_are_json_for_any_client(emulator):
    realm = emulator.state.backend.list_companies()[0].realm_id
    token = httpx.post(
        f"{emulator.url}/_emulator/tokens", json={"client_id": DEMO_CLIENT_ID, "realmId": realm}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "*/*"}
    base = f"{emulator.url}/v3/company/{realm}/reports"
    for name in (
        "AgedReceivables", "AgedReceivableDetail", "AgedPayables", "AgedPayableDetail",
        "CustomerBalance", "VendorBalance",
    ):  # fmt: skip
        response = httpx.get(
            f"{base}/{name}",
            params={"start_date": "2026-01-01", "end_date": "2026-11-15"},
            headers=headers,
        )
        assert response.status_code == 200, (name, response.text)
        body = response.json()
        assert body["Header"]["ReportName"] == name
        assert top_rows(body)[-1]["group"] == "GrandTotal"
