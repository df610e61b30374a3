"""Report query parameters: validation, defaults and the faults bad ones earn.

Faults use the data API's ValidationFault (HTTP 400, code 2010, "Request has invalid or
unsupported property") and name the parameter, its value and what is allowed. Parameters
the emulator does not model (`customer`, `vendor`, `qzurl`, `sort_order`, ...) are ignored
and not echoed, so a header never claims a filter that was not applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.accounting.ledger import BASES, Posting
from qb_pipeline.sandbox.reports.periods import (
    PERIOD_UNITS,
    canonical_macro,
    macro_header_text,
    macro_range,
)

INVALID_PROPERTY = "Request has invalid or unsupported property"
DIMENSION_UNITS: tuple[str, ...] = ("Classes", "Departments")
SUMMARIZE_VALUES: tuple[str, ...] = ("Total", *PERIOD_UNITS, *DIMENSION_UNITS)
# Real values the emulator cannot split by (no per-line customer/vendor/item on postings).
UNSUPPORTED_SUMMARIZE: tuple[str, ...] = (
    "Customers",
    "Vendors",
    "Employees",
    "ProductsAndServices",
)


class ReportError(Exception):
    """A report request QuickBooks would refuse; the HTTP layer renders it as a Fault."""

    fault_type = "ValidationFault"

    def __init__(self, status: int, code: str, message: str, detail: str) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail


def invalid_parameter(name: str, value: str, allowed: str) -> ReportError:
    detail = f"Property Name:{name} specified is unsupported or invalid: {value!r}. {allowed}"
    return ReportError(400, "2010", INVALID_PROPERTY, detail)


@dataclass(frozen=True)
class ReportRequest:
    """One report request, validated and with defaults applied."""

    name: str
    start: date
    end: date
    date_macro: str | None  # Header.DateMacro text when a macro (or the default) set the range
    basis: str
    summarize: str
    class_ids: frozenset[str] | None
    department_ids: frozenset[str] | None
    account_ids: frozenset[str] | None
    columns: tuple[str, ...] | None  # detail reports' `columns=`
    echoed_filters: tuple[tuple[str, str], ...]  # Header members, e.g. ("Class", "1,2")

    def keep(self) -> Callable[[Posting], bool] | None:
        """The posting filter of the class/department parameters (None: keep everything)."""
        classes, departments = self.class_ids, self.department_ids
        if classes is None and departments is None:
            return None

        def keep(p: Posting) -> bool:
            return (classes is None or p.class_id in classes) and (
                departments is None or p.department_id in departments
            )

        return keep


def _parse_date(params: Mapping[str, str], key: str) -> date | None:
    raw = params.get(key)
    if raw is None or raw.strip() == "":
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise invalid_parameter(key, raw, "Dates must be in the format yyyy-MM-dd.") from None


def _id_set(raw: str | None) -> frozenset[str] | None:
    if raw is None:
        return None
    ids = frozenset(part.strip() for part in raw.split(",") if part.strip())
    return ids or None


def _choice(params: Mapping[str, str], key: str, allowed: tuple[str, ...], default: str) -> str:
    raw = params.get(key)
    if raw is None or raw.strip() == "":
        return default
    by_lower = {value.lower(): value for value in allowed}
    value = by_lower.get(raw.strip().lower())
    if value is None:
        raise invalid_parameter(key, raw, f"Supported values: {', '.join(allowed)}.")
    return value


def default_basis(company: Company) -> str:
    """Preferences.ReportPrefs.ReportBasis, or Accrual when the company has none."""
    prefs = company.records("Preferences")
    basis = (prefs[0].get("ReportPrefs") or {}).get("ReportBasis") if prefs else None
    return basis if basis in BASES else "Accrual"


def _date_range(
    company: Company, params: Mapping[str, str], default_macro: str
) -> tuple[date, date, str | None]:
    start, end = _parse_date(params, "start_date"), _parse_date(params, "end_date")
    fiscal_month = company.fiscal_year_start_month
    if start is not None and end is not None:
        # Explicit dates win over a macro. A lone start_date or end_date is ignored, as
        # QuickBooks does with a lone end_date: the macro range applies.
        if start > end:
            raise invalid_parameter(
                "start_date", params["start_date"], "start_date must not be after end_date."
            )
        return start, end, None
    raw_macro = params.get("date_macro")
    macro = default_macro
    if raw_macro is not None and raw_macro.strip():
        found = canonical_macro(raw_macro)
        if found is None:
            raise invalid_parameter("date_macro", raw_macro, "See the date_macro values.")
        macro = found
    first, last = macro_range(macro, company.today(), fiscal_month)
    return first, last, macro_header_text(macro, fiscal_month)


def parse_request(
    company: Company, name: str, params: Mapping[str, str], default_macro: str
) -> ReportRequest:
    """Validate `params` for report `name`; raise ReportError naming the bad parameter."""
    start, end, macro_text = _date_range(company, params, default_macro)
    basis = _choice(params, "accounting_method", BASES, default_basis(company))
    raw_summary = (params.get("summarize_column_by") or "").strip()
    if raw_summary.lower() in {value.lower() for value in UNSUPPORTED_SUMMARIZE}:
        raise invalid_parameter(
            "summarize_column_by",
            raw_summary,
            f"The emulator supports: {', '.join(SUMMARIZE_VALUES)}.",
        )
    summarize = _choice(params, "summarize_column_by", SUMMARIZE_VALUES, "Total")
    echoed = tuple(
        (header, params[key].strip())
        for key, header in (("class", "Class"), ("department", "Department"))
        if _id_set(params.get(key)) is not None
    )
    raw_columns = params.get("columns")
    columns = None
    if raw_columns:
        columns = tuple(part.strip() for part in raw_columns.split(",") if part.strip()) or None
    return ReportRequest(
        name=name,
        start=start,
        end=end,
        date_macro=macro_text,
        basis=basis,
        summarize=summarize,
        class_ids=_id_set(params.get("class")),
        department_ids=_id_set(params.get("department")),
        account_ids=_id_set(params.get("account")),
        columns=columns,
        echoed_filters=echoed,
    )
