"""ProfitAndLoss by class or department into rows: member ids from the column metadata or,
when it has none, from the member's fully qualified name; "Not Specified" without an id;
parents' own amounts apart from their sub-accounts; no TOTAL column, no blank cells."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from qb_pipeline.sources.quickbooks.helpers.dimension_rows import (
    CLASS,
    DEPARTMENT,
    Dimension,
    dimension_rows,
    tracked_dimensions,
)
from qb_pipeline.sources.quickbooks.helpers.periods import DateRange

MARCH = DateRange(date(2026, 3, 1), date(2026, 3, 31))


def column(title: str, key: str | None) -> dict:
    meta = [{"Name": "ColKey", "Value": key}] if key is not None else []
    return {"ColTitle": title, "ColType": "Money", "MetaData": meta}


def cells(label: str, *amounts: str, account_id: str | None = None) -> list[dict]:
    first = {"value": label, **({"id": account_id} if account_id else {})}
    return [first, *({"value": a} for a in amounts)]


def by_classes_report(columns: list[dict]) -> dict:
    """March by class: Landscaping (id 45) has own postings and a sub-account (49)."""
    amounts = ("400.00", "50.00", "-5.00", "445.00")
    plants = {"ColData": cells("Plants", "300.00", "50.00", "", "350.00", account_id="49")}
    landscaping = {
        "Header": {"ColData": cells("Landscaping", "100.00", "", "-5.00", "95.00",
                                    account_id="45")},
        "Rows": {"Row": [{**plants, "type": "Data"}]},
        "Summary": {"ColData": cells("Total Landscaping", *amounts)},
        "type": "Section",
    }  # fmt: skip
    income = {
        "Header": {"ColData": cells("Income", "", "", "", "")},
        "Rows": {"Row": [landscaping]},
        "Summary": {"ColData": cells("Total Income", *amounts)},
        "type": "Section",
        "group": "Income",
    }
    net_income = {
        "Summary": {"ColData": cells("Net Income", *amounts)},
        "type": "Section",
        "group": "NetIncome",
    }
    label = {"ColTitle": "", "ColType": "Account", "MetaData": [{"Name": "ColKey", "Value": "a"}]}
    return {
        "Header": {
            "ReportName": "ProfitAndLoss",
            "ReportBasis": "Accrual",
            "StartPeriod": "2026-03-01",
            "EndPeriod": "2026-03-31",
            "SummarizeColumnsBy": "Classes",
            "Currency": "USD",
            "Option": [{"Name": "NoReportData", "Value": "false"}],
        },
        "Columns": {"Column": [label, *columns, column("TOTAL", "total")]},
        "Rows": {"Row": [income, net_income]},
    }


def rows_of(report: dict, dimension: Dimension = CLASS, lookup=None) -> list[dict]:
    return dimension_rows(
        report,
        org_id="acme",
        realm_id="9130",
        dimension=dimension,
        basis="Accrual",
        month=MARCH,
        pulled_at=None,
        lookup=lookup,
    )


def account_amounts(rows: list[dict]) -> dict[tuple, Decimal]:
    return {
        (r["member_id"], r["is_not_specified"], r["account_id"]): r["amount"]
        for r in rows
        if r["row_kind"] == "line" and r["account_id"] and not r["is_summary"]
    }


def test_member_ids_come_from_the_column_metadata_and_not_specified_has_none():
    report = by_classes_report([
        column("Retail", "5000000000000142230"),
        column("Wholesale", "5000000000000142237"),
        column("Not Specified", "not_specified"),
    ])  # fmt: skip

    rows = rows_of(report)

    assert account_amounts(rows) == {
        ("5000000000000142230", False, "45"): Decimal("100.00"),
        ("5000000000000142230", False, "49"): Decimal("300.00"),
        ("5000000000000142237", False, "49"): Decimal("50.00"),
        (None, True, "45"): Decimal("-5.00"),
    }
    names = {r["member_id"]: r["member_name"] for r in rows if r["row_kind"] == "line"}
    assert names == {
        "5000000000000142230": "Retail",
        "5000000000000142237": "Wholesale",
        None: "Not Specified",
    }


def test_columns_without_ids_are_looked_up_by_fully_qualified_name():
    report = by_classes_report([
        column("Retail", None),
        column("Retail:Outlet", "Retail:Outlet"),  # ColKey repeating the title is no id
        column("Not Specified", None),
    ])  # fmt: skip
    asked: list[tuple[str, str]] = []

    def lookup(dimension: Dimension, name: str) -> str | None:
        asked.append((dimension.entity, name))
        return {"Retail": "7", "Retail:Outlet": "8"}.get(name)

    rows = rows_of(report, lookup=lookup)

    assert account_amounts(rows) == {
        ("7", False, "45"): Decimal("100.00"),
        ("7", False, "49"): Decimal("300.00"),
        ("8", False, "49"): Decimal("50.00"),
        (None, True, "45"): Decimal("-5.00"),
    }
    assert asked == [("Class", "Retail"), ("Class", "Retail:Outlet")]  # once per column


def test_a_column_matching_no_member_keeps_its_title_without_an_id():
    report = by_classes_report([column("Gone", None), column("B", "2"), column("C", "3")])

    rows = rows_of(report, DEPARTMENT, lookup=lambda dimension, name: None)

    gone = [r for r in rows if r["row_kind"] == "line" and r["member_name"] == "Gone"]
    assert gone
    assert {(r["member_id"], r["is_not_specified"], r["dimension"]) for r in gone} == {
        (None, False, "department")
    }


def test_parent_own_amounts_and_sub_accounts_never_count_twice():
    report = by_classes_report([column("A", "1"), column("B", "2"), column("C", "3")])

    rows = rows_of(report)

    lines = [r for r in rows if r["row_kind"] == "line"]
    account_total = sum(r["amount"] for r in lines if r["account_id"] and not r["is_summary"])
    # Own 100 - 5 plus the sub-account's 300 + 50: the report's TOTAL of Total Landscaping.
    assert account_total == Decimal("445.00")
    parent = [r for r in lines if r["account_id"] == "45"]
    assert {r["has_sub_accounts"] for r in parent} == {True}
    summaries = [r for r in lines if r["summary_of_account_id"] == "45"]
    assert [r["amount"] for r in summaries] == [Decimal("400.00"), Decimal("50.00"),
                                                Decimal("-5.00")]  # fmt: skip


def test_total_column_and_blank_cells_are_not_stored_and_each_month_has_a_marker():
    report = by_classes_report([column("A", "1"), column("B", "2"), column("C", "3")])

    rows = rows_of(report)

    assert "total" not in {r["column_key"] for r in rows}
    assert all(r["amount"] is not None for r in rows if r["row_kind"] == "line")
    markers = [r for r in rows if r["row_kind"] == "period"]
    assert [(m["period_start"], m["period_end"], m["column_key"], m["line_key"])
            for m in markers] == [(date(2026, 3, 1), date(2026, 3, 31), "", "")]  # fmt: skip
    keys = [(r["column_key"], r["line_key"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_an_empty_report_gives_only_the_month_marker():
    report = by_classes_report([column("A", "1")])
    report["Header"]["Option"] = [{"Name": "NoReportData", "Value": "true"}]

    assert [r["row_kind"] for r in rows_of(report)] == ["period"]


@pytest.mark.parametrize(
    ("prefs", "expected"),
    [
        ({"ClassTrackingPerTxn": False, "ClassTrackingPerTxnLine": True,
          "TrackDepartments": True}, ["class", "department"]),
        ({"ClassTrackingPerTxn": True, "TrackDepartments": False}, ["class"]),
        ({"TrackDepartments": True}, ["department"]),
        ({"ClassTrackingPerTxn": False, "ClassTrackingPerTxnLine": False,
          "TrackDepartments": False}, []),
        ({}, []),
    ],
)  # fmt: skip
def test_only_the_dimensions_the_preferences_track_are_pulled(prefs, expected):
    found = tracked_dimensions({"AccountingInfoPrefs": prefs})
    assert [d.name for d in found] == expected


def test_preferences_without_accounting_prefs_track_nothing():
    assert tracked_dimensions({}) == ()
