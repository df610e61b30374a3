"""Column layout of summary reports (`summarize_column_by`) and its JSON form.

- Total: one "Total" money column (ColKey `total`).
- Days/Week/Month/Quarter/Year: one column per period, clipped to the range, with
  StartDate/EndDate/ColKey MetaData (ColKey = title), plus a final "Total" column when the
  report sums flows (P&L, cash flow). Balance sheets show balances, so no Total.
- Classes/Departments: one column per member with activity (titled by its fully qualified
  name, ColKey = its id, ordered by name), "Not Specified" (ColKey `not_specified`) for
  postings without one, and a final "TOTAL" column (ColKey `total`), as QuickBooks titles it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.accounting.ledger import Posting
from qb_pipeline.sandbox.reports.periods import PERIOD_UNITS, periods
from qb_pipeline.sandbox.reports.request import ReportRequest
from qb_pipeline.sandbox.reports.sums import ALL, BucketOf

NOT_SPECIFIED = ""  # the bucket of postings without a class/department


@dataclass(frozen=True)
class ReportColumn:
    title: str
    key: str
    start: date
    end: date
    period: bool = False  # carries StartDate/EndDate MetaData
    bucket: str = ALL  # dimension member this column sums (ALL: every posting)


def label_column(col_type: str = "Account", key: str = "account") -> dict:
    return {"ColTitle": "", "ColType": col_type, "MetaData": [{"Name": "ColKey", "Value": key}]}


def column_json(column: ReportColumn) -> dict:
    meta = [{"Name": "ColKey", "Value": column.key}]
    if column.period:
        meta = [
            {"Name": "StartDate", "Value": column.start.isoformat()},
            {"Name": "EndDate", "Value": column.end.isoformat()},
            *meta,
        ]
    return {"ColTitle": column.title, "ColType": "Money", "MetaData": meta}


def dimension_bucket(request: ReportRequest) -> BucketOf | None:
    """How postings split into columns for Classes/Departments (None otherwise)."""
    if request.summarize == "Classes":
        return _class_bucket
    if request.summarize == "Departments":
        return _department_bucket
    return None


def _class_bucket(p: Posting) -> str:
    return p.class_id or NOT_SPECIFIED


def _department_bucket(p: Posting) -> str:
    return p.department_id or NOT_SPECIFIED


def summary_columns(
    company: Company,
    request: ReportRequest,
    *,
    flow_total: bool,
    buckets: Iterable[str] = (),
) -> list[ReportColumn]:
    """The money columns of a summary report over [request.start, request.end]."""
    start, end = request.start, request.end
    if request.summarize in PERIOD_UNITS:
        columns = [
            ReportColumn(p.title, p.title, p.start, p.end, period=True)
            for p in periods(start, end, request.summarize, company.fiscal_year_start_month)
        ]
        if flow_total:
            columns.append(ReportColumn("Total", "total", start, end))
        return columns
    if request.summarize in ("Classes", "Departments"):
        entity = "Class" if request.summarize == "Classes" else "Department"
        names = {
            r["Id"]: r.get("FullyQualifiedName", r.get("Name", "")) for r in company.records(entity)
        }
        members = sorted(
            (b for b in buckets if b not in (ALL, NOT_SPECIFIED)),
            key=lambda b: (names.get(b, b).casefold(), b),
        )
        columns = [ReportColumn(names.get(b, b), b, start, end, bucket=b) for b in members]
        if NOT_SPECIFIED in buckets:
            columns.append(ReportColumn("Not Specified", "not_specified", start, end, bucket=""))
        columns.append(ReportColumn("TOTAL", "total", start, end))
        return columns
    return [ReportColumn("Total", "total", start, end)]
