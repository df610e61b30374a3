"""CustomerBalance and VendorBalance: what each customer owes, and what is owed to each
vendor, on a date, from the ledger's A/R (A/P) postings on the requested basis.

One Data row per customer (vendor) whose balance is not zero, by name, with its balance in
the one "Total" column (ColKey `total`), and a last summary-only Section "TOTAL" (group
GrandTotal): the balance sheet's A/R (A/P) on the same date and basis. Postings that name
no customer (vendor) are the "Not Specified" row.
"""

from __future__ import annotations

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.reports.accounts import Chart
from qb_pipeline.sandbox.reports.open_items import (
    PAYABLE,
    RECEIVABLE,
    AsOfRequest,
    Side,
    party_balances,
    party_names,
)
from qb_pipeline.sandbox.reports.rows import ReportBody, cell, data_row, money, section

NOT_SPECIFIED = "Not Specified"


def _key(value: str) -> dict:
    return {"Name": "ColKey", "Value": value}


def _balances(company: Company, request: AsOfRequest, side: Side) -> ReportBody:
    columns = [
        {"ColTitle": "", "ColType": side.party, "MetaData": [_key(side.party.lower())]},
        {"ColTitle": "Total", "ColType": "Money", "MetaData": [_key("total")]},
    ]
    names = party_names(company, side)
    balances = party_balances(company, side, request.end, request.basis)
    kept = {
        party: cents
        for party, cents in balances.items()
        if cents and (request.party_ids is None or party in request.party_ids)
    }

    def order(party_id: str | None) -> tuple:
        return (party_id is None, names.get(party_id or "", "").casefold(), party_id or "")

    rows = []
    for party_id in sorted(kept, key=order):
        label = cell(names[party_id], party_id) if party_id in names else cell(NOT_SPECIFIED)
        rows.append(data_row([label, cell(money(kept[party_id]))]))
    if rows:
        total = [cell("TOTAL"), cell(money(sum(kept.values())))]
        rows.append(section(None, None, total, "GrandTotal"))
    return ReportBody(columns, rows, bool(rows))


def build_customer_balance(company: Company, request: AsOfRequest, _chart: Chart) -> ReportBody:
    return _balances(company, request, RECEIVABLE)


def build_vendor_balance(company: Company, request: AsOfRequest, _chart: Chart) -> ReportBody:
    return _balances(company, request, PAYABLE)
