"""AgedReceivables, AgedPayables and their Detail reports, from the open items on a date.

Each open document is aged by the days from its due date (its date, when it has no due
date or the company ages from transaction dates, `ReportPrefs.CalcAgingReportFromTxnDate`)
to the aging date: not yet due is Current, then `aging_period`-day buckets (default 30),
`num_periods` of them (default 4), the last open-ended: Current, 1 - 30, 31 - 60, 61 - 90,
91 and over. The aging total is the balance sheet's A/R (A/P) on the date.

Summary: one Data row per customer (vendor) with anything open, by name, its amount per
bucket ("" where none) and Total; a last summary-only Section "TOTAL" (group GrandTotal).
Detail: one Section per bucket with anything in it ("Current", "1 - 30 days past due", ...,
"91 or more days past due"), a Data row per open document (Date, Transaction Type, Num,
Customer/Vendor, Due Date, Past Due days, Amount, Open Balance), "Total for <bucket>", and
the GrandTotal "TOTAL". Column keys of the detail follow Intuit's detail-report keys;
those of the summary's buckets (`current`, `1_30`, ..., `total`) are the emulator's own.
"""

from __future__ import annotations

from datetime import date

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.reports.accounts import Chart
from qb_pipeline.sandbox.reports.detail_lines import Lookup
from qb_pipeline.sandbox.reports.open_items import (
    PAYABLE,
    RECEIVABLE,
    AsOfRequest,
    OpenItem,
    Side,
    open_items,
    party_names,
)
from qb_pipeline.sandbox.reports.rows import ReportBody, add, cell, data_row, money, section

NOT_SPECIFIED = "Not Specified"


def _column(title: str, col_type: str, key: str) -> dict:
    return {"ColTitle": title, "ColType": col_type, "MetaData": [{"Name": "ColKey", "Value": key}]}


def bucket_titles(period: int, count: int) -> list[str]:
    """ "Current", then "1 - 30", "31 - 60", ..., the last one "<n> and over"."""
    titles = ["Current"]
    for i in range(1, count):
        titles.append(f"{(i - 1) * period + 1} - {i * period}")
    titles.append(f"{(count - 1) * period + 1} and over")
    return titles


def _bucket(days_past_due: int, period: int, count: int) -> int:
    if days_past_due <= 0:
        return 0
    return min(1 + (days_past_due - 1) // period, count)


def _ages_from_txn_date(company: Company) -> bool:
    prefs = company.records("Preferences")
    report_prefs = (prefs[0].get("ReportPrefs") or {}) if prefs else {}
    return bool(report_prefs.get("CalcAgingReportFromTxnDate"))


def _aged(company: Company, side: Side, request: AsOfRequest) -> list[tuple[OpenItem, int, int]]:
    """(item, days past due, bucket) for each open item the request keeps."""
    from_txn_date = _ages_from_txn_date(company)
    out = []
    for item in open_items(company, side, request.end):
        if request.party_ids is not None and item.party_id not in request.party_ids:
            continue
        start = item.txn_date if from_txn_date else item.due_date
        days = (request.aging_date - start).days
        out.append((item, days, _bucket(days, request.aging_period, request.num_periods)))
    return out


def _name_cell(names: dict[str, str], party_id: str | None) -> dict:
    if party_id is None or party_id not in names:
        return cell(NOT_SPECIFIED)
    return cell(names[party_id], party_id)


# --- summary -----------------------------------------------------------------------------------
def _summary(company: Company, request: AsOfRequest, side: Side) -> ReportBody:
    titles = bucket_titles(request.aging_period, request.num_periods)
    keys = ["current"] + [t.replace(" - ", "_").replace(" and over", "_over") for t in titles[1:]]
    columns = [_column("", side.party, side.party.lower())]
    columns += [_column(t, "Money", k) for t, k in zip(titles, keys, strict=True)]
    columns.append(_column("Total", "Money", "total"))
    width = len(titles)
    by_party: dict[str | None, list[int | None]] = {}
    for item, _days, bucket in _aged(company, side, request):
        amounts = by_party.setdefault(item.party_id, [None] * width)
        amounts[bucket] = (amounts[bucket] or 0) + item.open
    names = party_names(company, side)

    def order(party_id: str | None) -> tuple:
        return (party_id is None, names.get(party_id or "", "").casefold(), party_id or "")

    rows = []
    totals: list[int | None] = [None] * width  # "" where no one has anything in a bucket
    for party_id in sorted(by_party, key=order):
        amounts = by_party[party_id]
        total = sum(a or 0 for a in amounts)
        totals = add(totals, amounts)
        cells = [_name_cell(names, party_id), *({"value": money(a)} for a in amounts)]
        rows.append(data_row([*cells, {"value": money(total)}]))
    if rows:
        grand = [{"value": "TOTAL"}, *({"value": money(t)} for t in totals)]
        grand_total = sum(t or 0 for t in totals)
        rows.append(section(None, None, [*grand, {"value": money(grand_total)}], "GrandTotal"))
    return ReportBody(columns, rows, bool(rows))


def build_aged_receivables(company: Company, request: AsOfRequest, chart: Chart) -> ReportBody:
    return _summary(company, request, RECEIVABLE)


def build_aged_payables(company: Company, request: AsOfRequest, chart: Chart) -> ReportBody:
    return _summary(company, request, PAYABLE)


# --- detail ------------------------------------------------------------------------------------
def detail_bucket_titles(period: int, count: int) -> list[str]:
    titles = bucket_titles(period, count)
    last = f"{(count - 1) * period + 1} or more days past due"
    return ["Current", *(f"{t} days past due" for t in titles[1:-1]), last]


def _detail(company: Company, request: AsOfRequest, side: Side, chart: Chart) -> ReportBody:
    party_key = "cust_name" if side is RECEIVABLE else "vend_name"
    columns = [
        _column("Date", "Date", "tx_date"),
        _column("Transaction Type", "String", "txn_type"),
        _column("Num", "String", "doc_num"),
        _column(side.party, "String", party_key),
        _column("Due Date", "Date", "due_date"),
        _column("Past Due", "Integer", "past_due"),
        _column("Amount", "Money", "subt_amount"),
        _column("Open Balance", "Money", "subt_open_bal"),
    ]
    width = len(columns)
    titles = detail_bucket_titles(request.aging_period, request.num_periods)
    names = party_names(company, side)
    lookup = Lookup(company, chart)
    buckets: dict[int, list[tuple[OpenItem, int]]] = {}
    for item, days, bucket in _aged(company, side, request):
        buckets.setdefault(bucket, []).append((item, days))
    rows = []
    grand_amount = grand_open = 0
    for bucket in sorted(buckets):
        entries = sorted(buckets[bucket], key=lambda e: (e[0].due_date, e[0].txn_date, e[0].txn_id))
        data = []
        amount = opened = 0
        for item, days in entries:
            data.append(data_row(_detail_cells(item, days, names, lookup)))
            amount += item.amount
            opened += item.open
        summary = [{"value": f"Total for {titles[bucket]}"}] + [{"value": ""}] * (width - 3)
        summary += [{"value": money(amount)}, {"value": money(opened)}]
        header = [{"value": titles[bucket]}] + [{"value": ""}] * (width - 1)
        rows.append(section(header, data, summary))
        grand_amount += amount
        grand_open += opened
    if rows:
        grand = [{"value": "TOTAL"}] + [{"value": ""}] * (width - 3)
        grand += [{"value": money(grand_amount)}, {"value": money(grand_open)}]
        rows.append(section(None, None, grand, "GrandTotal"))
    return ReportBody(columns, rows, bool(rows))


def _detail_cells(item: OpenItem, days: int, names: dict[str, str], lookup: Lookup) -> list[dict]:
    due: date = item.due_date
    return [
        cell(item.txn_date.isoformat()),
        cell(lookup.txn_label(item.txn_type, item.txn_id), item.txn_id),
        cell(item.doc_number),
        _name_cell(names, item.party_id),
        cell(due.isoformat()),
        cell(str(max(days, 0))),
        cell(money(item.amount)),
        cell(money(item.open)),
    ]


def build_aged_receivable_detail(
    company: Company, request: AsOfRequest, chart: Chart
) -> ReportBody:
    return _detail(company, request, RECEIVABLE, chart)


def build_aged_payable_detail(company: Company, request: AsOfRequest, chart: Chart) -> ReportBody:
    return _detail(company, request, PAYABLE, chart)
