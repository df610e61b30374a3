"""The generated companies: deterministic, complete, and with books that balance."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

import pytest

from qb_pipeline.sandbox.accounting.companies import EmulatorBackend
from qb_pipeline.sandbox.accounting.entities import LIST_ENTITIES, TRANSACTION_ENTITIES
from qb_pipeline.sandbox.accounting.ledger import BASES
from qb_pipeline.sandbox.generate.activity import simulate_activity
from qb_pipeline.sandbox.generate.company_builder import generate_backend
from tests.conftest import TEST_SEED, TEST_TODAY


@pytest.fixture(scope="module")
def backend() -> EmulatorBackend:
    return generate_backend(seed=TEST_SEED, size="small", today=TEST_TODAY)


def test_same_seed_and_today_give_identical_companies(backend):
    again = generate_backend(seed=TEST_SEED, size="small", today=TEST_TODAY)
    assert list(again.companies) == list(backend.companies)
    for realm, company in backend.companies.items():
        other = again.companies[realm]
        for entity, records in company.store.items():
            # MetaData of records dated today is clamped to "now", which moves; compare the rest.
            strip = [{k: v for k, v in r.items() if k != "MetaData"} for r in records.values()]
            other_strip = [
                {k: v for k, v in r.items() if k != "MetaData"}
                for r in other.store[entity].values()
            ]
            assert strip == other_strip, entity


def test_another_seed_gives_other_companies(backend):
    other = generate_backend(seed=TEST_SEED + 1, size="small", today=TEST_TODAY)
    assert set(other.companies).isdisjoint(backend.companies)


def test_companies_cover_fiscal_year_dimensions_and_currencies(backend):
    companies = backend.list_companies()
    assert len(companies) >= 2
    assert companies[0].name == "Harbor & Pine Outfitters"
    assert any(c.fiscal_year_start_month != 1 for c in companies)
    with_dimensions = [c for c in companies if c.stored("Class") and c.stored("Department")]
    assert with_dimensions
    demo = with_dimensions[0]
    classed = [
        line
        for invoice in demo.stored("Invoice")
        for line in invoice["Line"]
        if "ClassRef" in line.get("SalesItemLineDetail", {})
    ]
    assert classed, "classes must be used on transaction lines"
    assert any("DepartmentRef" in bill for bill in demo.stored("Bill"))
    multi = [
        c for c in companies if c.stored("Preferences")[0]["CurrencyPrefs"]["MultiCurrencyEnabled"]
    ]
    assert multi
    currencies = {i["CurrencyRef"]["value"] for i in multi[0].stored("Invoice")}
    assert {"USD", "EUR"} <= currencies
    assert all("ExchangeRate" in i for i in multi[0].stored("Invoice"))


def test_every_company_has_every_entity_and_required_accounts(backend):
    for company in backend.list_companies():
        for entity in (
            *TRANSACTION_ENTITIES,
            "Account",
            "Item",
            "Customer",
            "Vendor",
            "Employee",
            "Term",
            "PaymentMethod",
            "TaxCode",
            "TaxRate",
            "Budget",
            "CompanyInfo",
            "Preferences",
        ):
            assert company.stored(entity), f"{company.name} has no {entity}"
        accounts = company.stored("Account")
        assert {a["Classification"] for a in accounts} == {
            "Asset",
            "Liability",
            "Equity",
            "Revenue",
            "Expense",
        }
        deleted = [a for a in accounts if a["Name"].endswith(" (deleted)")]
        assert len(deleted) == 1
        assert deleted[0]["Active"] is False
        assert any(not a["Active"] and not a["Name"].endswith("(deleted)") for a in accounts)
        depth = {a["Id"]: a["FullyQualifiedName"].count(":") + 1 for a in accounts}
        assert max(depth.values()) >= 3
        assert any(i["Type"] == "Category" for i in company.stored("Item"))


def test_business_in_every_month_up_to_today(backend):
    for company in backend.list_companies():
        months: dict[str, set[str]] = defaultdict(set)
        for entity in ("Invoice", "Bill", "Payment", "JournalEntry", "Purchase"):
            for record in company.stored(entity):
                months[entity].add(record["TxnDate"][:7])
        first = min(months["JournalEntry"])
        today = company.today()
        month, expected = date.fromisoformat(first + "-01"), set()
        while month <= today:
            expected.add(month.isoformat()[:7])
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        for entity in ("Invoice", "Bill", "JournalEntry", "Purchase"):
            assert expected <= months[entity], f"{company.name}: {entity} missing months"
        assert max(r["TxnDate"] for r in company.stored("Invoice")) <= today.isoformat()


def test_metadata_is_seconds_precision_with_offset_and_not_in_future(backend):
    company = backend.list_companies()[0]
    now = company.now()
    for entity in ("Invoice", "Account", "Customer"):
        for record in company.stored(entity):
            created = datetime.fromisoformat(record["MetaData"]["CreateTime"])
            updated = datetime.fromisoformat(record["MetaData"]["LastUpdatedTime"])
            assert created.utcoffset() is not None
            assert created <= updated <= now
            assert record["domain"] == "QBO"
            assert record["sparse"] is False
            assert record["SyncToken"].isdigit()


def test_books_balance_on_both_bases(backend):
    for company in backend.list_companies():
        for basis in BASES:
            assert sum(p.amount for p in company.ledger.postings(basis)) == 0


def test_cash_basis_recognises_invoices_when_paid(backend):
    company = backend.list_companies()[0]
    ar = company.account_roles["ar"]
    cash_ar = sum(
        p.amount
        for p in company.ledger.postings("Cash")
        if p.account_id == ar and p.txn_type in ("Invoice", "Payment")
    )
    assert cash_ar == 0  # paid invoices net out, unpaid ones post nothing
    accrual_ar = company.ledger.balances("Accrual", company.today()).get(ar, 0)
    open_balance = sum(round(i["Balance"] * 100) for i in company.stored("Invoice"))
    credit_memos = sum(round(c["TotalAmt"] * 100) for c in company.stored("CreditMemo"))
    assert accrual_ar == open_balance - credit_memos


def test_activity_creates_modifies_and_deletes_after_the_previous_now():
    backend = generate_backend(seed=TEST_SEED, size="small", today=TEST_TODAY)
    company = backend.list_companies()[0]
    before = company.now()
    counts = {e: len(company.stored(e)) for e in TRANSACTION_ENTITIES}
    summary = simulate_activity(company, days=10, change_ratio=0.05, seed=3)
    assert company.today() == TEST_TODAY.replace(day=25)
    assert summary["created"]
    assert summary["modified"]
    assert summary["deleted"]
    assert summary["backdated"] == 2
    changed = [
        r
        for e in (*TRANSACTION_ENTITIES, *LIST_ENTITIES)
        for r in company.stored(e)
        if datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"]) > before
    ]
    assert len(changed) >= sum(summary["created"].values()) + sum(summary["modified"].values())
    closed_month = [
        r
        for r in changed
        if r.get("TxnDate", "9999") < TEST_TODAY.replace(day=1).isoformat()
        and r["MetaData"]["CreateTime"] == r["MetaData"]["LastUpdatedTime"]
    ]
    assert len(closed_month) >= 2, "back-dated entries land in a closed month"
    deletions = [d for d in company.deletions if d.deleted_at > before]
    assert len(deletions) == sum(summary["deleted"].values())
    for d in deletions:
        assert d.id not in company.store[d.entity]
    assert sum(len(company.stored(e)) for e in TRANSACTION_ENTITIES) > sum(counts.values())
    for basis in BASES:
        assert sum(p.amount for p in company.ledger.postings(basis)) == 0


def test_activity_rejects_bad_arguments():
    company = generate_backend(seed=TEST_SEED, size="small", today=TEST_TODAY).list_companies()[0]
    with pytest.raises(ValueError, match="days"):
        simulate_activity(company, days=0)
    with pytest.raises(ValueError, match="change_ratio"):
        simulate_activity(company, days=1, change_ratio=2)


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match="size must be one of small, medium, large"):
        generate_backend(seed=1, size="huge")
