"""The shape of every answer read from Intuit, checked before anything of it is used.

Why: readers that take what they find read an answer of valid JSON in another shape as
"nothing there". A CDC answer without its `CDCResponse` list was "no changes": the sync
succeeded, moved its checkpoints, and those days' changes and deletions were never
imported. So each answer is checked here first, and a wrong shape raises UnexpectedAnswer
naming the endpoint (the path, no query string), the JSON path, the type expected and the
type found, and the answer's `intuit_tid`. Never a value: the token endpoint's answer holds
tokens. The sync then fails, and since dlt commits cursors and checkpoints with the load,
none of them moves.

What is checked, per endpoint:

- query: `QueryResponse` is an object whose members are the counts `startPosition`,
  `maxResults`, `totalCount` (whole numbers) and at most one list, the records of the entity
  the statement names; `maxResults` is the length of that list (a page cut short would end
  the paging early, every later record unread). `{}` is a valid "nothing matched".
- batch: `BatchItemResponse` lists one object per query sent, each with its `bId` (the
  one sent) and either a `QueryResponse` (checked as a query's) or a `Fault`.
- cdc: `CDCResponse` is a non-empty list of objects, each with a `QueryResponse` list of
  query responses, whose lists are records of the entities asked for; `time` (the next
  watermark) is a date-time with its UTC offset.
- reports: `Header` (ReportName; Time, StartPeriod and EndPeriod as date-time and
  dates; Option name/value pairs), `Columns.Column` (a non-empty list, sub-columns
  included; StartDate/EndDate metadata are dates), `Rows` (an object; `Row` rows, each a
  Data row with `ColData` or a Section with Header/Rows/Summary). Every ColData has one cell
  per column, each `value` text; money cells are blank or an amount. The truncation row
  ("Unable to display more data...") is let through so that the range can be split.
- companyinfo, preferences: the `CompanyInfo` / `Preferences` object, a record as
  below, with CompanyInfo's `CompanyName` (text) and `FiscalYearStartMonth` (a month name)
  and Preferences' class and department tracking flags (true/false) when present.
- records (query pages with `SELECT *`, batch items, CDC): objects with a non-empty text
  `Id` and a `MetaData.LastUpdatedTime` date-time with its offset (the entity cursor; a
  deletion stub of CDC carries both too).
- token endpoint [1.4, 1.6]: a 200 answer has `access_token` and `refresh_token` (non-empty
  text), `token_type` `bearer`, `expires_in` and `x_refresh_token_expires_in` (positive
  whole numbers), optionally `x_refresh_token_hard_expires_in` and `id_token`; a 4xx answer
  in JSON is an object with an `error` code. Anything else is a wrong shape, never a
  refusal of the grant, so it cannot disconnect a customer.

Not checked: the other fields of records, which are stored as served (arrow_pages.py types
them), and members nobody reads (outside the query envelope, extra members are let be). The
checks are plain type tests in one pass over each answer: about a microsecond a record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from qb_pipeline.quickbooks.errors import UnexpectedAnswer

TRUNCATION_TEXT = "unable to display more data"
MONTH_NAMES = frozenset(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december")
)  # fmt: skip
_COUNTS = ("startPosition", "maxResults", "totalCount")
# `SELECT * FROM Entity ...`: answers with whole records (projections and COUNT(*) do not).
_SELECT_ALL = re.compile(r"\s*select\s+\*\s+from\s+([A-Za-z][A-Za-z0-9]*)", re.IGNORECASE)
_FROM = re.compile(r"\bfrom\s+([A-Za-z][A-Za-z0-9]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Where:
    """Where an answer came from: the endpoint (path, no query string) and its intuit_tid."""

    endpoint: str
    intuit_tid: str | None = None


@dataclass(frozen=True)
class Statement:
    """What a query statement's answer must hold: the entity it reads (None when the
    statement names none) and whether its records are whole (`SELECT *`)."""

    entity: str | None
    whole_records: bool

    @classmethod
    def of(cls, statement: str) -> Statement:
        whole = _SELECT_ALL.match(statement)
        if whole:
            return cls(whole.group(1), True)
        named = _FROM.search(statement)
        return cls(named.group(1) if named else None, False)


@dataclass(frozen=True)
class QueryPage:
    """A checked `QueryResponse`: the object itself, its records (`[]` when none) and the
    entity they are of (None when there are none)."""

    response: dict
    records: list[dict] = field(default_factory=list)
    entity: str | None = None


# -- the checks, one per endpoint ------------------------------------------------------------
def query_answer(body: dict, where: Where, statement: Statement) -> QueryPage:
    """The `QueryResponse` of a query answer."""
    return _checked(where, lambda: _member(body, "QueryResponse", _query_response, statement))


def count_answer(body: dict, where: Where) -> int:
    """The `totalCount` of a `SELECT COUNT(*)` answer."""

    def check() -> int:
        page = _member(body, "QueryResponse", _query_response, Statement(None, False))
        try:
            return _member(page.response, "totalCount", _count)
        except _Mismatch as mismatch:
            raise mismatch.inside(".QueryResponse") from None

    return _checked(where, check)


def batch_answer(body: dict, where: Where, statements: Sequence[str]) -> list[dict]:
    """The `BatchItemResponse` items, in the order of `statements` (bId = position): each a
    `{"QueryResponse": QueryPage}` or a `{"Fault": ...}` to read with faults.fault_in_json."""
    return _checked(where, lambda: _member(body, "BatchItemResponse", _batch_items, statements))


def cdc_answer(
    body: dict, where: Where, entities: Collection[str]
) -> tuple[dict[str, list[dict]], datetime]:
    """The records per entity (deletion stubs included) and the answer's server time."""

    def check() -> tuple[dict[str, list[dict]], datetime]:
        found = _member(body, "CDCResponse", _cdc_blocks, entities)
        return found, _member(body, "time", _timestamp)

    return _checked(where, check)


def report_answer(body: dict, where: Where) -> dict:
    """The report itself (the body): Header, Columns and Rows checked."""
    return _checked(where, lambda: _report(body))


def company_info_answer(body: dict, where: Where) -> dict:
    """The `CompanyInfo` object."""
    return _checked(where, lambda: _member(body, "CompanyInfo", _record, "CompanyInfo"))


def preferences_answer(body: dict, where: Where) -> dict:
    """The `Preferences` object."""
    return _checked(where, lambda: _member(body, "Preferences", _record, "Preferences"))


def record_answer(body: dict, where: Where, entity: str) -> dict:
    """The one record of a read by id (`GET /{entity}/{id}`)."""
    return _checked(where, lambda: _member(body, entity, _record, entity))


def json_object(content: bytes, where: Where) -> dict:
    """The JSON object of an answer's body (for callers outside the client, which decodes
    its own answers and reads faults from them first)."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        problem = "$: expected JSON, found another body"
        raise UnexpectedAnswer(where.endpoint, problem, intuit_tid=where.intuit_tid) from None
    return _checked(where, lambda: _object(body))


def token_answer(status: int, content: bytes, where: Where) -> None:
    """Check a token endpoint answer before authlib reads it: a 200 must carry the tokens, a
    4xx in JSON an OAuth `error`; 5xx and non-JSON 4xx answers are left to authlib (they
    are "Intuit unavailable" already)."""
    if status >= 500:
        return
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        if not 200 <= status < 300:
            return
        problem = "$: expected JSON, found another body"
        raise UnexpectedAnswer(where.endpoint, problem, intuit_tid=where.intuit_tid) from None
    shape = _TOKEN if 200 <= status < 300 else _TOKEN_ERROR
    _checked(where, lambda: shape.check(body), status=status)


# -- checks and their errors ------------------------------------------------------------------
class _Mismatch(Exception):
    """A value of the wrong shape at `where` (a JSON path below the answer's root)."""

    def __init__(self, expected: str, found: str) -> None:
        super().__init__(expected, found)
        self.expected = expected
        self.found = found
        self.where = ""

    def inside(self, part: str) -> _Mismatch:
        self.where = part + self.where
        return self


def _checked(where: Where, check: Callable[[], Any], status: int = 200) -> Any:
    try:
        return check()
    except _Mismatch as mismatch:
        problem = f"${mismatch.where}: expected {mismatch.expected}, found {mismatch.found}"
        raise UnexpectedAnswer(
            where.endpoint, problem, intuit_tid=where.intuit_tid, status=status
        ) from None


def kind(value: Any) -> str:
    """What a JSON value is, in words (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "empty text" if not value else "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_MISSING = "nothing (the member is missing)"


def _member(obj: Any, name: str, check: Callable[..., Any], *args: Any) -> Any:
    """`check(obj[name], *args)`, a mismatch at `.name`; `obj` must be an object."""
    if type(obj) is not dict:
        raise _Mismatch("an object", kind(obj))
    if name not in obj:
        raise _Mismatch(_EXPECTED.get(check, "a value"), _MISSING).inside(f".{name}")
    try:
        return check(obj[name], *args)
    except _Mismatch as mismatch:
        raise mismatch.inside(f".{name}") from None


def _each(items: Any, check: Callable[..., Any], *args: Any, at_least: int = 0) -> list[Any]:
    if type(items) is not list:
        raise _Mismatch("a list", kind(items))
    if len(items) < at_least:
        raise _Mismatch(f"a list of at least {at_least}", "an empty list")
    out = []
    for index, item in enumerate(items):
        try:
            out.append(check(item, *args))
        except _Mismatch as mismatch:
            raise mismatch.inside(f"[{index}]") from None
    return out


# -- scalars ----------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if type(value) is not str:
        raise _Mismatch("text", kind(value))
    return value


def _id_text(value: Any) -> str:
    if type(value) is not str or not value:
        raise _Mismatch("non-empty text", kind(value))
    return value


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        found = "a negative number" if type(value) is int else kind(value)
        raise _Mismatch("a whole number of 0 or more", found)
    return value


def _positive(value: Any) -> int:
    if type(value) is not int or value <= 0:
        found = "a number below 1" if type(value) is int else kind(value)
        raise _Mismatch("a whole number of 1 or more", found)
    return value


def _flag(value: Any) -> bool:
    if type(value) is not bool:
        raise _Mismatch("true/false", kind(value))
    return value


def _timestamp(value: Any) -> datetime:
    if type(value) is not str:
        raise _Mismatch("a date-time with its UTC offset", kind(value))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Mismatch("a date-time with its UTC offset", "text that is not one") from None
    if moment.tzinfo is None:
        raise _Mismatch("a date-time with its UTC offset", "a date-time without an offset")
    return moment


def _date(value: Any) -> date:
    if type(value) is not str:
        raise _Mismatch("a date (YYYY-MM-DD)", kind(value))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Mismatch("a date (YYYY-MM-DD)", "text that is not one") from None


def _month_name(value: Any) -> str:
    if type(value) is not str or value.strip().lower() not in MONTH_NAMES:
        found = "text that is not one" if type(value) is str else kind(value)
        raise _Mismatch("a month name (January..December)", found)
    return value


def _bearer(value: Any) -> str:
    if type(value) is not str or value.lower() != "bearer":
        found = "other text" if type(value) is str else kind(value)
        raise _Mismatch("the text bearer", found)
    return value


@dataclass(frozen=True)
class _Object:
    """An object with `required` and `optional` members, each checked by its function."""

    required: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    optional: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)

    def check(self, value: Any) -> Any:
        if type(value) is not dict:
            raise _Mismatch("an object", kind(value))
        for name, check in self.required.items():
            _member(value, name, check)
        for name, check in self.optional.items():
            if name in value:
                _member(value, name, check)
        return value


# -- records ----------------------------------------------------------------------------------
_META = _Object(required={"LastUpdatedTime": _timestamp}).check
_TRACKING_FLAGS = ("TrackDepartments", "ClassTrackingPerTxn", "ClassTrackingPerTxnLine")
_TRACKING = _Object(optional=dict.fromkeys(_TRACKING_FLAGS, _flag)).check
# Members some entities' records must have besides Id and MetaData (what the sync reads).
_ENTITY_MEMBERS: dict[str, _Object] = {
    "CompanyInfo": _Object(required={"CompanyName": _text, "FiscalYearStartMonth": _month_name}),
    "Preferences": _Object(optional={"AccountingInfoPrefs": _TRACKING}),
}


def _record(value: Any, entity: str | None = None) -> dict:
    """One record: Id, MetaData.LastUpdatedTime, and the entity's own members."""
    _one_record(value, _ENTITY_MEMBERS.get(entity or ""))
    return value


def _records(records: list, entity: str | None) -> None:
    """The hot path (every record of a sync): no path is built unless a record fails."""
    members = _ENTITY_MEMBERS.get(entity or "")
    for index, record in enumerate(records):
        try:
            _one_record(record, members)
        except _Mismatch as mismatch:
            raise mismatch.inside(f"[{index}]") from None


def _one_record(record: Any, members: _Object | None) -> None:
    if type(record) is not dict:
        raise _Mismatch("a record (an object)", kind(record))
    record_id = record.get("Id")
    if type(record_id) is not str or not record_id:
        _member(record, "Id", _id_text)
    meta = record.get("MetaData")
    updated = meta.get("LastUpdatedTime") if type(meta) is dict else None
    if type(updated) is not str:
        _member(record, "MetaData", _META)  # raises: says what is missing or wrong
    try:
        aware = datetime.fromisoformat(updated).tzinfo is not None
    except ValueError:
        aware = False
    if not aware:
        _member(record, "MetaData", _META)
    if members is not None:
        members.check(record)


# -- query, batch, cdc ------------------------------------------------------------------------
def _query_response(
    response: Any, statement: Statement, entities: Collection[str] | None = None
) -> QueryPage:
    """One QueryResponse object. Its list member must hold records of `statement.entity`
    (of one of `entities` in a CDC answer), whole records when the statement selects `*`."""
    if type(response) is not dict:
        raise _Mismatch("an object", kind(response))
    names = entities
    if names is None and statement.entity:
        names = (statement.entity,)
    listed: tuple[str, list] | None = None
    for name, value in response.items():
        if name in _COUNTS:
            _member(response, name, _count)
            continue
        if type(value) is not list:
            raise _Mismatch("a list of records or a count", kind(value)).inside(f".{name}")
        canonical = _entity_named(name, names)
        if canonical is None:
            asked = " or ".join(sorted(names or ()))
            raise _Mismatch(f"only records of {asked}", "records of another name").inside(
                f".{name}"
            )
        if listed is not None:
            raise _Mismatch("the records of one entity", "a second list").inside(f".{name}")
        listed = (name, value)
    records: list = listed[1] if listed is not None else []
    if listed is not None:
        try:
            if statement.whole_records or entities is not None:
                _records(records, _entity_named(listed[0], names))
            else:
                _each(records, _object)
        except _Mismatch as mismatch:
            raise mismatch.inside(f".{listed[0]}") from None
    shown = response.get("maxResults")
    if shown is not None and shown != len(records):
        found = _records_found(len(records)) if listed is not None else "no list of records"
        raise _Mismatch(f"as many records as maxResults says ({shown})", found).inside(
            f".{listed[0]}" if listed is not None else ""
        )
    entity = _entity_named(listed[0], names) if listed is not None else None
    return QueryPage(response, records, entity)


def _records_found(count: int) -> str:
    return f"{count} record" if count == 1 else f"{count} records"


def _entity_named(name: str, names: Collection[str] | None) -> str | None:
    """The entity of `names` that a list member's key names (in any casing); with no
    names known, the key itself."""
    if names is None:
        return name
    if name in names:
        return name
    wanted = name.lower()
    return next((entity for entity in names if entity.lower() == wanted), None)


def _object(value: Any) -> dict:
    if type(value) is not dict:
        raise _Mismatch("an object", kind(value))
    return value


def _batch_items(items: Any, statements: Sequence[str]) -> list[dict]:
    if type(items) is not list:
        raise _Mismatch("a list", kind(items))
    answered: dict[int, dict] = {}
    for index, item in enumerate(items):
        try:
            position = _batch_position(item, len(statements), answered)
            if "Fault" in item:
                _member(item, "Fault", _object)
                answered[position] = item
            else:
                statement = Statement.of(statements[position])
                page = _member(item, "QueryResponse", _query_response, statement)
                answered[position] = {**item, "QueryResponse": page}
        except _Mismatch as mismatch:
            raise mismatch.inside(f"[{index}]") from None
    missing = [str(i) for i in range(len(statements)) if i not in answered]
    if missing:
        raise _Mismatch(
            f"an item for every query sent (bId {', '.join(missing)} missing)",
            f"{len(answered)} of {len(statements)}",
        )
    return [answered[i] for i in range(len(statements))]


def _batch_position(item: Any, sent: int, answered: Mapping[int, dict]) -> int:
    if type(item) is not dict:
        raise _Mismatch("an object", kind(item))
    bid = _member(item, "bId", _id_text)
    position = int(bid) if bid.isdigit() else -1
    if not 0 <= position < sent:
        raise _Mismatch(f"the bId of a query sent (0..{sent - 1})", "another").inside(".bId")
    if position in answered:
        raise _Mismatch("each bId once", "a bId answered twice").inside(".bId")
    if ("Fault" in item) == ("QueryResponse" in item):
        found = "both" if "Fault" in item else "neither"
        raise _Mismatch("either a QueryResponse or a Fault", found)
    return position


def _cdc_blocks(blocks: Any, entities: Collection[str]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for responses in _each(blocks, _cdc_block, entities, at_least=1):
        for page in responses:
            if page.entity is not None:
                found.setdefault(page.entity, []).extend(page.records)
    return found


def _cdc_block(block: Any, entities: Collection[str]) -> list[QueryPage]:
    none = Statement(None, True)
    return _member(block, "QueryResponse", _each, _query_response, none, entities)


# -- reports ----------------------------------------------------------------------------------
_NAME_VALUE = _Object(required={"Name": _text}, optional={"Value": _text}).check
_HEADER = _Object(
    required={"ReportName": _text, "Time": _timestamp, "StartPeriod": _date, "EndPeriod": _date},
    optional={
        "ReportBasis": _text,
        "Currency": _text,
        "SummarizeColumnsBy": _text,
        "DateMacro": _text,
        "Option": lambda options: _each(options, _NAME_VALUE),
    },
).check


@dataclass
class _Columns:
    """The leaf columns of a report, in ColData order: how many, and which are money."""

    width: int = 0
    money: list[int] = field(default_factory=list)


def _report(report: Any) -> dict:
    _member(report, "Header", _HEADER)
    columns = _Columns()
    _member(report, "Columns", _columns_object, columns)
    if columns.width == 0:
        raise _Mismatch("at least one column", "none").inside(".Columns.Column")
    _member(report, "Rows", _rows_object, columns)
    return report


def _columns_object(value: Any, columns: _Columns) -> None:
    _member(value, "Column", _column_list, columns)


def _column_list(items: Any, columns: _Columns) -> None:
    _each(items, _column, columns, at_least=1)


def _column(column: Any, columns: _Columns) -> None:
    if type(column) is not dict:
        raise _Mismatch("an object", kind(column))
    col_type = _member(column, "ColType", _text)
    if "ColTitle" in column:
        _member(column, "ColTitle", _text)
    if "MetaData" in column:
        _member(column, "MetaData", _each, _column_meta)
    children = column.get("Columns")
    if children is not None and (type(children) is not dict or children.get("Column")):
        _member(column, "Columns", _columns_object, columns)
        return
    if col_type == "Money":
        columns.money.append(columns.width)
    columns.width += 1


def _column_meta(pair: Any) -> None:
    _NAME_VALUE(pair)
    if pair["Name"] in ("StartDate", "EndDate"):
        _member(pair, "Value", _date)  # a column's period: a wrong one mislabels its month


def _rows_object(value: Any, columns: _Columns) -> None:
    if type(value) is not dict:
        raise _Mismatch("an object", kind(value))
    if "Row" in value:
        _member(value, "Row", _each, _row, columns)


def _row(row: Any, columns: _Columns) -> None:
    if type(row) is not dict:
        raise _Mismatch("a row (an object)", kind(row))
    row_type = row.get("type")
    if row_type is not None and row_type not in ("Data", "Section"):
        found = "other text" if type(row_type) is str else kind(row_type)
        raise _Mismatch("Data or Section", found).inside(".type")
    if "group" in row:
        _member(row, "group", _text)
    if "ColData" in row:
        _member(row, "ColData", _cells, columns)
        return
    parts = [name for name in ("Header", "Rows", "Summary") if name in row]
    if not parts:
        expected = "a Data row (ColData) or a Section (Header, Rows or Summary)"
        raise _Mismatch(expected, "an object with neither")
    for name in parts:  # in the order QuickBooks writes them
        if name == "Rows":
            _member(row, name, _rows_object, columns)
        else:
            _member(row, name, _member, "ColData", _cells, columns)


def _cells(cells: Any, columns: _Columns) -> None:
    _each(cells, _cell)
    first = cells[0].get("value") if cells else None
    if isinstance(first, str) and TRUNCATION_TEXT in first.lower():
        return  # the truncation row: the client raises ReportRangeTooWide for it
    if len(cells) != columns.width:
        raise _Mismatch(f"one cell per column ({columns.width})", f"{len(cells)} cells")
    for index in columns.money:
        if not _is_amount(cells[index]["value"]):
            raise _Mismatch("an amount or blank", "text that is not one").inside(f"[{index}].value")


def _cell(cell: Any) -> None:
    if type(cell) is not dict:
        raise _Mismatch("a cell (an object)", kind(cell))
    _member(cell, "value", _text)
    if "id" in cell:
        _member(cell, "id", _text)


def _is_amount(text: str) -> bool:
    cleaned = text.strip().replace(",", "")
    if not cleaned:
        return True
    try:
        return Decimal(cleaned).is_finite()
    except InvalidOperation:
        return False


# -- token endpoint ---------------------------------------------------------------------------
_TOKEN = _Object(
    required={
        "access_token": _id_text,
        "refresh_token": _id_text,
        "token_type": _bearer,
        "expires_in": _positive,
        "x_refresh_token_expires_in": _positive,
    },
    optional={"x_refresh_token_hard_expires_in": _positive, "id_token": _text},
)
_TOKEN_ERROR = _Object(required={"error": _id_text}, optional={"error_description": _text})

# What a missing member should have been, by the check that would have read it.
_EXPECTED: dict[Callable[..., Any], str] = {
    _text: "text",
    _id_text: "non-empty text",
    _count: "a whole number of 0 or more",
    _positive: "a whole number of 1 or more",
    _flag: "true/false",
    _timestamp: "a date-time with its UTC offset",
    _date: "a date (YYYY-MM-DD)",
    _month_name: "a month name (January..December)",
    _bearer: "the text bearer",
    _object: "an object",
    _record: "a record (an object)",
    _query_response: "an object",
    _batch_items: "a list",
    _cdc_blocks: "a list",
    _each: "a list",
    _member: "an object",
    _META: "an object with LastUpdatedTime",
    _HEADER: "an object (the report's Header)",
    _columns_object: "an object",
    _column_list: "a list",
    _rows_object: "an object",
    _cells: "a list",
}


__all__ = [
    "QueryPage",
    "Statement",
    "UnexpectedAnswer",
    "Where",
    "batch_answer",
    "cdc_answer",
    "company_info_answer",
    "count_answer",
    "json_object",
    "kind",
    "preferences_answer",
    "query_answer",
    "record_answer",
    "report_answer",
    "token_answer",
]
