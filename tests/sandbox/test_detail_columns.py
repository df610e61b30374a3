"""Detail reports serve every documented `columns=` key, with values from the records.

The keys are those Intuit documents for GeneralLedger and TransactionList (and that widely
used clients send for ProfitAndLossDetail); the generated companies have taxed sales, terms,
payment methods, multi-currency customers and journal entries, so every key has something
real to show.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from qb_pipeline.sandbox import DEMO_CLIENT_ID
from qb_pipeline.sandbox.accounting.companies import Company, EmulatorBackend
from qb_pipeline.sandbox.generate.company_builder import generate_backend
from qb_pipeline.sandbox.reports.catalog import build_report
from tests.conftest import TEST_SEED, TEST_TODAY
from tests.sandbox.report_helpers import amount, top_rows, walk

GENERAL_LEDGER_KEYS = (
    "tx_date", "txn_type", "doc_num", "name", "memo", "split_acc", "subt_nat_amount",
    "rbal_nat_amount", "account_name", "account_num", "klass_name", "dept_name", "item_name",
    "cust_name", "vend_name", "emp_name", "debt_amt", "credit_amt", "debt_home_amt",
    "credit_home_amt", "subt_nat_home_amount", "nat_open_bal", "currency", "exch_rate",
    "is_adj", "is_cleared", "create_date", "create_by", "last_mod_date", "last_mod_by",
    "quantity", "rate", "net_amount", "tax_amount", "tax_code",
)  # fmt: skip
TRANSACTION_LIST_KEYS = (
    "account_name", "create_by", "create_date", "cust_msg", "due_date", "doc_num", "inv_date",
    "is_ap_paid", "is_cleared", "is_no_post", "last_mod_by", "last_mod_date", "memo", "name",
    "other_account", "pmt_mthd", "printed", "sales_cust1", "sales_cust2", "sales_cust3",
    "term_name", "tracking_num", "tx_date", "txn_type", "dept_name", "subt_nat_amount",
)  # fmt: skip
PNL_DETAIL_KEYS = (
    "create_by", "create_date", "doc_num", "last_mod_by", "last_mod_date", "memo", "name",
    "pmt_mthd", "split_acc", "tx_date", "txn_type", "tax_code", "klass_name", "dept_name",
    "debt_amt", "debt_home_amt", "credit_amt", "credit_home_amt", "currency", "exch_rate",
    "nat_open_bal", "nat_home_open_bal", "nat_foreign_open_bal", "subt_nat_amount",
    "subt_nat_home_amount", "subt_nat_amount_nt", "subt_nat_amount_home_nt", "rbal_nat_amount",
    "rbal_nat_home_amount", "rbal_nat_amount_nt", "rbal_nat_amount_home_nt", "tax_amount",
    "home_tax_amount", "net_amount", "home_net_amount",
)  # fmt: skip
NOT_IN_GENERATED_DATA = frozenset({
    "is_cleared", "sales_cust1", "sales_cust2", "sales_cust3", "cust_msg", "tracking_num",
    "printed", "emp_name",
})  # fmt: skip
RANGE = {"start_date": "2026-09-01", "end_date": "2026-10-31"}


@pytest.fixture(scope="module")
def backend() -> EmulatorBackend:
    return generate_backend(seed=TEST_SEED, size="small", today=TEST_TODAY)


@pytest.fixture(scope="module")
def demo(backend) -> Company:
    return backend.list_companies()[0]


def keyed_rows(report: dict) -> list[dict[str, dict]]:
    """Transaction rows as {column key: cell} (Beginning Balance rows left out)."""
    keys = [c["MetaData"][0]["Value"] for c in report["Columns"]["Column"]]
    rows = []
    for row in walk(top_rows(report)):
        if "ColData" in row and row["ColData"][0]["value"] != "Beginning Balance":
            assert len(row["ColData"]) == len(keys)
            rows.append(dict(zip(keys, row["ColData"], strict=True)))
    return rows


def column_keys(report: dict) -> list[str]:
    return [c["MetaData"][0]["Value"] for c in report["Columns"]["Column"]]


@pytest.mark.parametrize(
    ("name", "keys", "blank"),
    [
        ("GeneralLedger", GENERAL_LEDGER_KEYS, set()),
        ("TransactionList", TRANSACTION_LIST_KEYS, set()),
        # Sales tax posts to a liability and the header to A/R: no P&L row carries tax.
        ("ProfitAndLossDetail", PNL_DETAIL_KEYS, {"tax_amount", "home_tax_amount"}),
    ],
)
def test_every_documented_column_key_is_served_in_the_order_asked(demo, name, keys, blank):
    report = build_report(demo, name, {**RANGE, "columns": ",".join(keys)})
    assert column_keys(report) == list(keys)
    titles = [c["ColTitle"] for c in report["Columns"]["Column"]]
    assert all(titles)
    rows = keyed_rows(report)
    assert len(rows) > 50
    empty = [key for key in keys if not any(row[key]["value"] for row in rows)]
    # The generated companies keep no custom fields, messages, tracking numbers or
    # reconciliations; every other column shows something somewhere.
    assert set(empty) <= NOT_IN_GENERATED_DATA | blank, empty


def test_record_columns_show_the_transactions_own_fields(demo):
    report = build_report(
        demo, "GeneralLedger", {**RANGE, "columns": ",".join(GENERAL_LEDGER_KEYS)}
    )
    rows = keyed_rows(report)
    invoice_rows = [r for r in rows if r["txn_type"]["value"] == "Invoice"]
    assert invoice_rows
    for row in invoice_rows:
        record = demo.get("Invoice", row["txn_type"]["id"])
        assert row["create_date"]["value"] == record["MetaData"]["CreateTime"]
        assert row["last_mod_date"]["value"] == record["MetaData"]["LastUpdatedTime"]
        assert row["currency"]["value"] == "USD"
        assert row["exch_rate"]["value"] == "1"
        assert amount(row["nat_open_bal"]["value"]) == Decimal(str(record["Balance"])).quantize(
            Decimal("0.01")
        )
        assert row["create_by"]["value"]
        assert row["last_mod_by"]["value"]
        assert row["is_adj"]["value"] == "No"
    # Income lines carry their item, quantity, rate and tax code.
    item_lines = [r for r in invoice_rows if r["item_name"]["value"]]
    assert item_lines
    for row in item_lines:
        record = demo.get("Invoice", row["txn_type"]["id"])
        details = [
            line["SalesItemLineDetail"]
            for line in record["Line"]
            if line.get("SalesItemLineDetail", {}).get("ItemRef", {}).get("value")
            == row["item_name"]["id"]
        ]
        assert details
        item = demo.get("Item", details[0]["ItemRef"]["value"])
        assert row["item_name"]["value"] == item["Name"]
        shown = (Decimal(row["quantity"]["value"]), Decimal(row["rate"]["value"]))
        assert shown in {(Decimal(str(d["Qty"])), Decimal(str(d["UnitPrice"]))) for d in details}
        assert row["tax_code"]["value"] in {d["TaxCodeRef"]["value"] for d in details}


def test_tax_columns_split_each_amount_into_net_and_tax(demo):
    report = build_report(
        demo, "GeneralLedger", {**RANGE, "columns": ",".join(GENERAL_LEDGER_KEYS)}
    )
    rows = keyed_rows(report)
    taxed = 0
    for row in rows:
        total = amount(row["subt_nat_amount"]["value"])
        tax = amount(row["tax_amount"]["value"]) or Decimal(0)
        assert amount(row["net_amount"]["value"]) + tax == total
        if row["tax_amount"]["value"] and row["txn_type"]["value"] == "Invoice":
            record = demo.get("Invoice", row["txn_type"]["id"])
            assert abs(tax) == Decimal(str(record["TxnTaxDetail"]["TotalTax"])).quantize(
                Decimal("0.01")
            )
            taxed += 1
    assert taxed > 0


def test_net_of_tax_running_balance_adds_up_the_net_amounts(demo):
    keys = ("tx_date", "txn_type", "subt_nat_amount", "subt_nat_amount_nt", "rbal_nat_amount",
            "rbal_nat_amount_nt")  # fmt: skip
    report = build_report(demo, "GeneralLedger", {**RANGE, "columns": ",".join(keys)})
    checked = 0
    for section in walk(top_rows(report)):
        rows = section.get("Rows", {}).get("Row", [])
        data = [r for r in rows if "ColData" in r]
        if not data:
            continue
        opening = Decimal(0)
        if data[0]["ColData"][0]["value"] == "Beginning Balance":
            opening = amount(data[0]["ColData"][4]["value"])
            assert amount(data[0]["ColData"][5]["value"]) == opening
            data = data[1:]
        net = opening
        for row in data:
            net += amount(row["ColData"][3]["value"])
            assert amount(row["ColData"][5]["value"]) == net
            checked += 1
    assert checked > 100


def test_transaction_list_columns_follow_the_records(demo):
    report = build_report(
        demo, "TransactionList", {**RANGE, "columns": ",".join(TRANSACTION_LIST_KEYS)}
    )
    rows = keyed_rows(report)
    seen = set()
    for row in rows:
        kind, txn_id = row["txn_type"]["value"], row["txn_type"]["id"]
        if kind == "Invoice":
            record = demo.get("Invoice", txn_id)
            assert row["due_date"]["value"] == record["DueDate"]
            assert row["inv_date"]["value"] == record["TxnDate"]
            assert (
                row["term_name"]["value"]
                == demo.get("Term", record["SalesTermRef"]["value"])["Name"]
            )
            seen.add("invoice")
        elif kind == "Bill":
            record = demo.get("Bill", txn_id)
            assert row["is_ap_paid"]["value"] == ("Unpaid" if record["Balance"] else "Paid")
            seen.add("bill")
        elif kind == "Sales Receipt":
            record = demo.get("SalesReceipt", txn_id)
            method = demo.get("PaymentMethod", record["PaymentMethodRef"]["value"])["Name"]
            assert row["pmt_mthd"] == {"value": method, "id": record["PaymentMethodRef"]["value"]}
            seen.add("sales receipt")
        assert row["is_no_post"]["value"] == "Yes"
        assert row["is_cleared"]["value"] == ""
    assert seen == {"invoice", "bill", "sales receipt"}


def test_foreign_currency_rows_show_their_currency_and_rate(backend):
    northwind = next(c for c in backend.list_companies() if c.name.startswith("Northwind"))
    report = build_report(
        northwind, "GeneralLedger", {**RANGE, "columns": "tx_date,txn_type,currency,exch_rate"}
    )
    foreign = 0
    for row in keyed_rows(report):
        if row["txn_type"]["value"] != "Invoice":
            continue
        record = northwind.get("Invoice", row["txn_type"]["id"])
        currency = record.get("CurrencyRef", {}).get("value", "USD")
        assert row["currency"]["value"] == currency
        assert Decimal(row["exch_rate"]["value"]) == Decimal(str(record.get("ExchangeRate", 1)))
        foreign += currency != "USD"
    assert foreign > 0


def test_documented_columns_over_http(emulator):
    realm = emulator.state.backend.list_companies()[0].realm_id
    token = httpx.post(
        f"{emulator.url}/_emulator/tokens", json={"client_id": DEMO_CLIENT_ID, "realmId": realm}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    url = f"{emulator.url}/v3/company/{realm}/reports/TransactionList"
    served = httpx.get(
        url, params={**RANGE, "columns": ",".join(TRANSACTION_LIST_KEYS)}, headers=headers
    )
    assert served.status_code == 200
    assert column_keys(served.json()) == list(TRANSACTION_LIST_KEYS)
    refused = httpx.get(url, params={**RANGE, "columns": "tx_date,not_a_column"}, headers=headers)
    assert refused.status_code == 400
    error = refused.json()["Fault"]["Error"][0]
    assert error["code"] == "2010"
    assert "not_a_column" in error["Detail"]
