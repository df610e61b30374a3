"""ProfitAndLoss by class or department into `report_dimension_lines` rows.

A report summarized by `Classes` (or `Departments`) has one money column per member with
activity, a "Not Specified" column for postings without one, and a final TOTAL column
(reference section 4.3). `flatten_report` turns it into one row per (line, column) with the
parent/sub-account rules of the monthly reports: a parent account's own postings and each
sub-account are separate lines, and totals are summary lines, so summing the account lines
of a column never counts an amount twice.

Each column is identified by its member id:

- from the column's metadata when QuickBooks puts the id there (ColKey = the Class or
  Department Id, as the emulator does);
- else from the column title, which is the member's fully qualified name, looked up in the
  company's Class or Department list (`MemberNames`; asked for only when needed);
- the "Not Specified" column (ColKey `not_specified`) has no member: `member_id` NULL and
  `is_not_specified` true.

Blank cells are not stored (a wide report is mostly blanks); the TOTAL column is dropped (it
is the unfiltered P&L, already in `report_lines`). Every month a request covers gets one
`row_kind = 'period'` marker row, and the table merges on (org_id, realm_id, report_name,
basis, dimension, period_start), so a re-pulled month replaces everything stored for it.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qb_pipeline.quickbooks import flatten_report
from qb_pipeline.sources.quickbooks.helpers.periods import DateRange
from qb_pipeline.sources.quickbooks.helpers.report_rows import (
    PERIOD,
    TOTAL_COLUMN_KEY,
    line_fields,
    line_key,
)
from qb_pipeline.sources.quickbooks.settings import REPORT_LINE_COLUMNS

log = logging.getLogger("qb_pipeline.sources.quickbooks")

DIMENSION_LINES_TABLE = "report_dimension_lines"
NOT_SPECIFIED_KEY = "not_specified"
NOT_SPECIFIED_TITLE = "not specified"  # QuickBooks' title, compared case-insensitively
_NUMERIC_ID = re.compile(r"^\d+$")  # Class and Department ids are digits


@dataclass(frozen=True)
class Dimension:
    """A dimension the P&L can be summarized by."""

    name: str  # as stored: `class` or `department`
    summarize_by: str  # summarize_column_by value
    entity: str  # the QuickBooks list of its members


CLASS = Dimension("class", "Classes", "Class")
DEPARTMENT = Dimension("department", "Departments", "Department")
DIMENSIONS: tuple[Dimension, ...] = (CLASS, DEPARTMENT)

DIMENSION_PERIOD_KEY: tuple[str, ...] = (
    "org_id", "realm_id", "report_name", "basis", "dimension", "period_start",
)  # fmt: skip
DIMENSION_LINE_KEY: tuple[str, ...] = (*DIMENSION_PERIOD_KEY, "column_key", "line_key")


def _text(description: str) -> dict[str, Any]:
    return {"data_type": "text", "description": description}


DIMENSION_LINE_COLUMNS: dict[str, dict[str, Any]] = {
    **{k: v for k, v in REPORT_LINE_COLUMNS.items() if k in ("org_id", "realm_id", "basis")},
    "report_name": _text("ProfitAndLoss"),
    "dimension": _text("'class' or 'department': what the report's columns are"),
    **{k: v for k, v in REPORT_LINE_COLUMNS.items() if k in ("period_start", "period_end")},
    "column_key": _text(
        "The member column's key as QuickBooks sent it (ColKey, else its title); "
        "'' on period markers"
    ),
    "member_id": _text("Class or Department Id of the column; empty for 'Not Specified'"),
    "member_name": _text("Column title: the member's fully qualified name as printed"),
    "is_not_specified": {
        "data_type": "bool",
        "description": "True on the column of postings without a class (or department)",
    },
    **{
        k: v
        for k, v in REPORT_LINE_COLUMNS.items()
        if k not in ("org_id", "realm_id", "basis", "report_name", "period_start", "period_end")
    },
}

# Fully qualified name -> member Id, asked of QuickBooks only for columns without an id.
NameLookup = Callable[[Dimension, str], str | None]


@dataclass(frozen=True)
class Member:
    """Whom a money column belongs to."""

    member_id: str | None
    name: str
    is_not_specified: bool = False


def column_member(dimension: Dimension, key: str, title: str, lookup: NameLookup | None) -> Member:
    """The member of a column from its ColKey (`key`; the title when there was none) and
    title: the id in the metadata, else the title looked up by fully qualified name."""
    title = title or ""
    if key == NOT_SPECIFIED_KEY:
        return Member(None, title or "Not Specified", is_not_specified=True)
    if key != title and _NUMERIC_ID.match(key or ""):
        return Member(key, title)
    if title.strip().casefold() == NOT_SPECIFIED_TITLE:
        return Member(None, title, is_not_specified=True)
    found = lookup(dimension, title) if lookup is not None else None
    if found is None:
        log.warning(
            "%s column %r has no id and matches no %s by name; stored without an id",
            dimension.summarize_by, title, dimension.entity,
        )  # fmt: skip
    return Member(found, title)


def dimension_rows(
    report: dict,
    *,
    org_id: str,
    realm_id: str,
    dimension: Dimension,
    basis: str,
    month: DateRange,
    pulled_at: datetime | None,
    lookup: NameLookup | None = None,
) -> list[dict]:
    """The `report_dimension_lines` rows of one ProfitAndLoss by `dimension` over `month`."""
    common = {
        "org_id": org_id,
        "realm_id": realm_id,
        "report_name": "ProfitAndLoss",
        "basis": basis,
        "dimension": dimension.name,
        "period_start": month.start,
        "period_end": month.end,
        "pulled_at": pulled_at,
    }
    currency = (report.get("Header") or {}).get("Currency")
    rows = [{**common, "column_key": "", "line_key": "", "row_kind": PERIOD, "currency": currency}]
    members: dict[tuple[str, str], Member] = {}
    seen: Counter[tuple[str, str]] = Counter()
    for line in flatten_report(report):
        key, title = line["column_key"], line["column_title"]
        if key == TOTAL_COLUMN_KEY or line["amount"] is None:
            continue
        member = members.get((key, title))
        if member is None:
            member = members[(key, title)] = column_member(dimension, key, title, lookup)
        lkey = line_key(line)
        seen[(key, lkey)] += 1
        if (count := seen[(key, lkey)]) > 1:  # never seen in QuickBooks' reports; keep both
            lkey = f"{lkey}~{count}"
        rows.append(
            {
                **common,
                "column_key": key,
                "member_id": member.member_id,
                "member_name": member.name,
                "is_not_specified": member.is_not_specified,
                "line_key": lkey,
                **line_fields(line, currency),
            }
        )
    return rows


def tracked_dimensions(preferences: dict) -> tuple[Dimension, ...]:
    """The dimensions the company tracks (Preferences.AccountingInfoPrefs): classes with
    ClassTrackingPerTxn or ClassTrackingPerTxnLine, departments with TrackDepartments."""
    prefs = preferences.get("AccountingInfoPrefs") or {}
    tracked = []
    if _flag(prefs.get("ClassTrackingPerTxn")) or _flag(prefs.get("ClassTrackingPerTxnLine")):
        tracked.append(CLASS)
    if _flag(prefs.get("TrackDepartments")):
        tracked.append(DEPARTMENT)
    return tuple(tracked)


def _flag(value: object) -> bool:
    """A Preferences boolean (JSON true; some SDKs echo the string "true")."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
