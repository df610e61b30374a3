"""The rows the source loads: added keys and cursor, numbers, deletions, report lines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from qb_pipeline.sources.quickbooks.helpers.arrow_pages import PageBuilder
from qb_pipeline.sources.quickbooks.helpers.changes import usable_checkpoints
from qb_pipeline.sources.quickbooks.helpers.paging import (
    deletion_row,
    entity_where,
    parse_qbo_time,
)
from qb_pipeline.sources.quickbooks.helpers.periods import DateRange
from qb_pipeline.sources.quickbooks.helpers.report_rows import report_rows
from qb_pipeline.sources.quickbooks.settings import table_name
from qb_pipeline.sync.pipeline import pipeline_name


def loaded(records: list[dict], table: str = "invoice") -> dict[str, list[dict]]:
    """The page's tables as {table: rows}."""
    tables = PageBuilder(table, "acme", "9130").page(records, load_id="1")
    return {t.name: t.data.to_pylist() for t in tables}


def test_a_loaded_row_carries_its_company_and_a_utc_cursor():
    record = {
        "Id": "130",
        "SyncToken": "0",
        "MetaData": {"LastUpdatedTime": "2026-03-08T03:30:00-07:00"},
        "TotalAmt": 275,
        "Line": [{"LineNum": 1, "Amount": 275, "SalesItemLineDetail": {"Qty": 2}}],
    }
    [row] = loaded([record])["invoice"]
    assert row["org_id"] == "acme"
    assert row["realm_id"] == "9130"
    assert row["updated_at"] == datetime(2026, 3, 8, 10, 30, tzinfo=UTC)
    assert record["TotalAmt"] == 275, "the record itself is not changed"


def test_json_integers_load_as_floats_except_integer_fields():
    tables = loaded(
        [{"TotalAmt": 275, "Line": [{"LineNum": 1, "Amount": 275, "Detail": {"Qty": 2}}],
          "Active": True, "Level": 1}],
    )  # fmt: skip
    [row] = tables["invoice"]
    [line] = tables["invoice__line"]
    assert type(row["total_amt"]) is float
    assert type(line["amount"]) is float
    assert type(line["detail__qty"]) is float
    assert type(line["line_num"]) is int
    assert type(row["level"]) is int
    assert row["active"] is True


def test_timestamps_compare_as_instants_across_daylight_saving_offsets():
    before_change = parse_qbo_time("2026-03-08T01:59:59-08:00")
    after_change = parse_qbo_time("2026-03-08T03:00:00-07:00")
    assert after_change - before_change == timedelta(seconds=1)
    assert parse_qbo_time("2026-03-08T01:59:59") is None
    assert parse_qbo_time("") is None


def test_a_deletion_row_deletes_by_key():
    row = deletion_row("131", "acme", "9130", None)
    assert row == {
        "org_id": "acme",
        "realm_id": "9130",
        "Id": "131",
        "updated_at": None,
        "is_deleted": True,
    }


def test_list_reads_include_inactive_records_and_use_a_closed_cursor():
    since = datetime(2026, 11, 15, 8, 0, tzinfo=UTC)
    assert entity_where("Customer", None) == "Active IN (true, false)"
    assert entity_where("Invoice", since) == "MetaData.LastUpdatedTime >= '2026-11-15T08:00:00Z'"
    assert entity_where("Customer", since, strictly_after=True) == (
        "Active IN (true, false) AND MetaData.LastUpdatedTime > '2026-11-15T08:00:00Z'"
    )


def test_tables_are_named_in_snake_case():
    assert table_name("JournalEntry") == "journal_entry"
    assert table_name("CompanyInfo") == "company_info"
    assert table_name("Class") == "class"


def test_pipeline_names_are_per_organization_and_company():
    assert pipeline_name("acme", "4620816365") == "quickbooks_acme_4620816365"
    assert pipeline_name("acme-east", "1") == "quickbooks_acme_east_1"
    with pytest.raises(ValueError, match="a-z"):
        pipeline_name("Acme East", "1")
    with pytest.raises(ValueError, match="must be digits"):
        pipeline_name("acme", "../x")


def test_checkpoints_too_far_behind_the_newest_are_not_used_for_cdc():
    newest = datetime(2026, 11, 15, tzinfo=UTC)
    checkpoints = {"Invoice": newest, "Bill": newest - timedelta(days=28),
                   "Term": newest - timedelta(days=30)}  # fmt: skip
    assert set(usable_checkpoints(checkpoints)) == {"Invoice", "Bill"}
    assert usable_checkpoints({}) == {}


def money_column(title: str, start: str, end: str) -> dict:
    return {"ColTitle": title, "ColType": "Money", "MetaData": [
        {"Name": "StartDate", "Value": start}, {"Name": "EndDate", "Value": end},
        {"Name": "ColKey", "Value": title}]}  # fmt: skip


REPORT = {
    "Header": {"ReportName": "ProfitAndLoss", "ReportBasis": "Cash", "Currency": "USD",
               "StartPeriod": "2026-10-01", "EndPeriod": "2026-11-15",
               "Option": [{"Name": "NoReportData", "Value": "false"}]},
    "Columns": {"Column": [
        {"ColTitle": "", "ColType": "Account",
         "MetaData": [{"Name": "ColKey", "Value": "account"}]},
        money_column("Oct 2026", "2026-10-01", "2026-10-31"),
        money_column("Nov 1-15, 2026", "2026-11-01", "2026-11-15"),
        {"ColTitle": "Total", "ColType": "Money",
         "MetaData": [{"Name": "ColKey", "Value": "total"}]},
    ]},
    "Rows": {"Row": [
        {"type": "Section", "group": "Income",
         "Header": {"ColData": [{"value": "Income"}, {"value": ""}, {"value": ""}, {"value": ""}]},
         "Rows": {"Row": [
             {"type": "Section",
              "Header": {"ColData": [{"value": "Services", "id": "45"}, {"value": "10.00"},
                                     {"value": ""}, {"value": "10.00"}]},
              "Rows": {"Row": [{"type": "Data", "ColData": [{"value": "Design", "id": "46"},
                                {"value": "5.00"}, {"value": "-2.50"}, {"value": "2.50"}]}]},
              "Summary": {"ColData": [{"value": "Total Services"}, {"value": "15.00"},
                                      {"value": "-2.50"}, {"value": "12.50"}]}},
         ]},
         "Summary": {"ColData": [{"value": "Total Income"}, {"value": "15.00"},
                                 {"value": "-2.50"}, {"value": "12.50"}]}},
        {"type": "Section", "group": "NetIncome",
         "Summary": {"ColData": [{"value": "Net Income"}, {"value": "15.00"}, {"value": "-2.50"},
                                 {"value": "12.50"}]}},
    ]},
}  # fmt: skip


def test_report_rows_are_monthly_lines_plus_one_marker_per_month():
    rows = report_rows(
        REPORT,
        org_id="acme",
        realm_id="9130",
        name="ProfitAndLoss",
        basis="Cash",
        window=DateRange(date(2026, 10, 1), date(2026, 11, 15)),
        pulled_at=None,
    )
    markers = [r for r in rows if r["row_kind"] == "period"]
    assert [(m["period_start"], m["period_end"]) for m in markers] == [
        (date(2026, 10, 1), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 15)),
    ]
    lines = {(r["period_start"], r["line_key"]): r for r in rows if r["row_kind"] == "line"}
    assert len(lines) == 2 * 5, "five lines, two months, no Total column"
    october = date(2026, 10, 1)
    own = lines[(october, "Income#account:45")]
    assert (own["amount"], own["has_sub_accounts"], own["report_group"]) == (
        Decimal("10.00"), True, "Income")  # fmt: skip
    assert lines[(date(2026, 11, 1), "Income/45#account:46")]["amount"] == Decimal("-2.50")
    assert lines[(date(2026, 11, 1), "Income#account:45")]["amount"] is None
    assert lines[(october, "Income/45#total")]["summary_of_account_id"] == "45"
    assert lines[(october, "NetIncome#total")]["is_summary"] is True
    assert {r["basis"] for r in rows} == {"Cash"}
    assert {r["currency"] for r in rows} == {"USD"}


def test_an_empty_report_still_marks_its_months():
    empty = {"Header": {"ReportName": "BalanceSheet", "Currency": "USD",
                        "Option": [{"Name": "NoReportData", "Value": "true"}]},
             "Columns": {"Column": []}, "Rows": {}}  # fmt: skip
    rows = report_rows(
        empty,
        org_id="acme",
        realm_id="9130",
        name="BalanceSheet",
        basis="Accrual",
        window=DateRange(date(2026, 1, 1), date(2026, 3, 31)),
        pulled_at=None,
    )
    assert [r["row_kind"] for r in rows] == ["period"] * 3
