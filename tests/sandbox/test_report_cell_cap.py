"""Detail reports on a medium company: the 400,000-cell cap is their only limit.

Intuit's documented limit is the number of cells in a report (about 400,000); "six months of
detail" is advice. A year of the medium demo company's general ledger (~150,000 cells) is
served whole; its whole history (~750,000 cells) is cut at the cap and ends with QuickBooks'
"Unable to display more data" row.
"""

from __future__ import annotations

from datetime import date

import pytest

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.generate.company_builder import generate_backend
from qb_pipeline.sandbox.reports import rows as report_rows
from qb_pipeline.sandbox.reports.catalog import build_report
from qb_pipeline.sandbox.reports.detail_columns import COLUMN_CATALOG
from qb_pipeline.sandbox.reports.detail_lines import transactions
from tests.conftest import TEST_SEED, TEST_TODAY
from tests.sandbox.report_helpers import top_rows, walk

CAP = 400_000
LEDGER_WIDTH = 8  # GeneralLedger's default columns


@pytest.fixture(scope="module")
def demo() -> Company:
    backend = generate_backend(seed=TEST_SEED, size="medium", today=TEST_TODAY)
    return backend.list_companies()[0]


def cells(report: dict) -> int:
    """ColData cells in the report's rows: Data rows, section Headers and Summaries."""
    return sum(
        len(part["ColData"])
        for row in walk(top_rows(report))
        for part in (row, row.get("Header"), row.get("Summary"))
        if part and "ColData" in part
    )


def data_rows(report: dict) -> list[dict]:
    return [
        r
        for r in walk(top_rows(report))
        if "ColData" in r and r["ColData"][0]["value"] != "Beginning Balance"
    ]


def is_truncated(report: dict) -> bool:
    rows = top_rows(report)
    return bool(rows) and rows[-1].get("ColData", [{}])[0].get("value") == (
        report_rows.TRUNCATION_MESSAGE
    )


def test_a_year_of_general_ledger_is_served_whole(demo):
    start, end = date(2025, 11, 1), date(2026, 10, 31)
    gl = build_report(demo, "GeneralLedger", {"start_date": str(start), "end_date": str(end)})
    postings = demo.ledger.postings_between("Accrual", start, end)
    assert len(postings) * LEDGER_WIDTH > 100_000  # well past what six months would hold
    assert not is_truncated(gl)
    assert cells(gl) < CAP
    assert len(data_rows(gl)) == len(postings)


def test_a_year_of_transaction_list_and_pnl_detail_is_served_whole(demo):
    params = {"start_date": "2025-11-01", "end_date": "2026-10-31"}
    listing = build_report(demo, "TransactionList", params)
    postings = demo.ledger.postings_between("Accrual", date(2025, 11, 1), date(2026, 10, 31))
    assert not is_truncated(listing)
    assert len(data_rows(listing)) == len(list(transactions(postings)))
    detail = build_report(demo, "ProfitAndLossDetail", params)
    assert not is_truncated(detail)
    pnl = build_report(demo, "ProfitAndLoss", params)
    net = top_rows(detail)[-1]["Summary"]["ColData"]
    assert net[0]["value"] == "Net Income"
    assert net[6]["value"] == top_rows(pnl)[-1]["Summary"]["ColData"][1]["value"]


def test_a_general_ledger_past_400000_cells_stops_at_the_cap(demo):
    first = demo.ledger.postings("Accrual")[0].txn_date
    params = {"start_date": str(first), "end_date": str(TEST_TODAY)}
    gl = build_report(demo, "GeneralLedger", params)
    whole = len(demo.ledger.postings_between("Accrual", first, TEST_TODAY)) * LEDGER_WIDTH
    assert whole > CAP  # the full report would be past the cap
    assert is_truncated(gl)
    assert CAP - 10 * LEDGER_WIDTH < cells(gl) <= CAP + LEDGER_WIDTH  # the marker row on top
    assert gl["Header"]["EndPeriod"] == str(TEST_TODAY)


def test_a_wide_transaction_list_past_the_cap_stops_at_it(demo):
    """Cells, not rows or months, decide: the same range fits with the default columns and
    is cut with every documented column."""
    first = demo.ledger.postings("Accrual")[0].txn_date
    params = {"start_date": str(first), "end_date": str(TEST_TODAY)}
    narrow = build_report(demo, "TransactionList", params)
    assert not is_truncated(narrow)
    wide_keys = list(COLUMN_CATALOG)
    wide = build_report(demo, "TransactionList", {**params, "columns": ",".join(wide_keys)})
    assert len(data_rows(narrow)) * len(wide_keys) > CAP
    assert is_truncated(wide)
    assert cells(wide) <= CAP + len(wide["Columns"]["Column"])
