"""Readers for report JSON shared by the report tests: find rows, read amounts, check sums."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal


def amount(value: str) -> Decimal | None:
    return None if value == "" else Decimal(value)


def walk(rows: list[dict]) -> Iterator[dict]:
    """Every row, depth first, in document order."""
    for row in rows:
        yield row
        yield from walk(row.get("Rows", {}).get("Row", []))


def top_rows(report: dict) -> list[dict]:
    return report["Rows"].get("Row", [])


def section(report: dict, group: str) -> dict:
    return next(r for r in walk(top_rows(report)) if r.get("group") == group)


def summary(report: dict, group: str) -> list[str]:
    """The values (without the label) of the Summary of the section with `group`."""
    return [c["value"] for c in section(report, group)["Summary"]["ColData"][1:]]


def labelled(report: dict, label: str) -> dict:
    """The row whose first cell (Data) or Header/Summary first cell is `label`."""
    for row in walk(top_rows(report)):
        for part in (row, row.get("Header"), row.get("Summary")):
            if part and "ColData" in part and part["ColData"][0]["value"] == label:
                return part
    raise AssertionError(f"no row labelled {label!r}")


def values(report: dict, label: str) -> list[str]:
    return [c["value"] for c in labelled(report, label)["ColData"][1:]]


def row_total(row: dict) -> list[Decimal]:
    """What a row contributes to its parent: a Data row's amounts, a Section's Summary."""
    cells = row["ColData"] if "ColData" in row else row["Summary"]["ColData"]
    return [amount(c["value"]) or Decimal(0) for c in cells[1:]]


def assert_sections_add_up(rows: list[dict]) -> int:
    """Every Summary == its Header's own amounts + its rows; returns how many were checked."""
    checked = 0
    for row in walk(rows):
        if "Summary" not in row or "Rows" not in row or not row["Rows"]:
            continue
        width = len(row["Summary"]["ColData"]) - 1
        expected = [Decimal(0)] * width
        if "Header" in row:
            expected = [amount(c["value"]) or Decimal(0) for c in row["Header"]["ColData"][1:]]
        for child in row["Rows"]["Row"]:
            expected = [a + b for a, b in zip(expected, row_total(child), strict=True)]
        got = [amount(c["value"]) or Decimal(0) for c in row["Summary"]["ColData"][1:]]
        assert got == expected, row["Summary"]["ColData"][0]["value"]
        checked += 1
    return checked


def column_keys(report: dict) -> list[str]:
    return [
        next(m["Value"] for m in c["MetaData"] if m["Name"] == "ColKey")
        for c in report["Columns"]["Column"]
    ]


def option(report: dict, name: str) -> str:
    return next(o["Value"] for o in report["Header"]["Option"] if o["Name"] == name)
