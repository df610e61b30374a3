"""The QBO query language's evaluation: run a parsed `Query` against one company's records.

Lexer (lexer.py), grammar (parser.py), known properties (properties.py), comparable
values (comparable.py) and per-entity snapshots (snapshots.py) are the other parts; this
module turns conditions into predicates, narrows sorted windows and pages the result.

`parse_query(text)` returns an immutable `Query` or raises `QueryError` carrying QBO's fault
code; `execute_query(query, company)` returns the *contents* of `"QueryResponse"`. Both are
pure backend code (no HTTP); the HTTP layer wraps the result and maps `QueryError` to a fault.

Faults follow bodies recorded from real companies:
- 4000 `Error parsing query`, detail `QueryParserError: Encountered ... at line L, column C.`
  (syntax: missing FROM, bad operator, OR, JOIN, GROUP BY, trailing junk, non-number
  MAXRESULTS) or `QueryParserError: Invalid content. Lexical error at ...` (unterminated
  string, stray characters).
- 4001 `Invalid query`, detail `QueryValidationError: ...`: unknown entity
  (`invalid context declaration: Foo`), unknown property (`Property Foo not found for Entity
  Account`), non-filterable property (`property 'Line' is not queryable`), an operator other
  than `=`/`IN` on `Id`, a value of the wrong type, and MAXRESULTS over 1000 (`value 1500 is
  too large. Max allowed value is 1000`, as QBO answers).

Emulator choices where QBO's behaviour is undocumented:
- Date-time literals compare as instants. A literal without an offset, or a bare date, is read
  in the company's time zone (a bare date is the start of that day there).
- Date properties (`TxnDate`) compare as ISO date text; a date-time literal is cut to its date.
- Text comparisons (`=`, `IN`, `LIKE`, ranges, ORDER BY) ignore case.
- ORDER BY ties, and queries without ORDER BY, come in ascending numeric Id order; records
  lacking the sort property come first in ascending order (last in descending).
- `= ' '` (QBO's spelling of null) matches records that lack the property.
- `STARTPOSITION 0` is read as 1; `MAXRESULTS 0` is a 4001 fault.
- A projection (`SELECT Id, Name`) returns the named top-level properties plus `Id`,
  `SyncToken`, `domain` and `"sparse": true`. `SELECT *, Sku` is read as `SELECT *`.
- `COUNT(*)` ignores STARTPOSITION/MAXRESULTS and answers `{"totalCount": 0}` when nothing
  matches.
- Returned records are shallow copies: top-level keys are the caller's own, nested values
  are shared with the store and must be treated as read-only (the HTTP layer serializes
  them straight away).

Speed: per company and entity a snapshot holds the records in Id order, parsed comparison
columns and sorted orders; it is rebuilt only when `company.version(entity)` (or the size
of the entity's store, or for Account the ledger behind its balances) changes. Range
conditions on the leading ORDER BY property are answered by binary search over the sorted
keys, and filtered match lists are memoised, so paging through a large entity neither
re-sorts nor re-parses.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.accounting.entities import (
    LIST_ENTITIES,
)
from qb_pipeline.sandbox.accounting.query.comparable import NO_MATCH, Column
from qb_pipeline.sandbox.accounting.query.errors import invalid
from qb_pipeline.sandbox.accounting.query.parser import COMPARISONS, Condition, Literal, Query
from qb_pipeline.sandbox.accounting.query.snapshots import MATCH_CACHE_SIZE, Snapshot, snapshot_of


@dataclass(frozen=True)
class _Predicate:
    column: Column
    op: str
    operand: object  # comparable value, frozenset for IN, compiled regex for LIKE
    signature: tuple

    def test(self) -> Callable[[object], bool]:
        x = self.operand
        op = self.op
        if op == "null":
            return lambda v: v is None
        if op == "=":
            return lambda v: v == x  # x is never None, so absent values never match
        if op == "in":
            return lambda v: v in x  # type: ignore[operator]
        if op == "like":
            return lambda v: v is not None and x.fullmatch(v) is not None  # type: ignore[union-attr]
        if op == "active":
            return lambda v: v is not False
        compare = {
            "<": lambda v: v < x,
            ">": lambda v: v > x,
            "<=": lambda v: v <= x,
            ">=": lambda v: v >= x,
        }[op]
        return lambda v: v is not None and compare(v)


def _like_pattern(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(part) for part in pattern.casefold().split("%"))
    return re.compile(".*".join(parts), re.DOTALL)


def _predicate(condition: Condition, snapshot: Snapshot) -> _Predicate:
    path = snapshot.resolve(condition.path)
    column = snapshot.column(path)
    if column.kind in ("object", "list"):
        raise invalid(f"property '{'.'.join(path)}' is not queryable")
    values = condition.values
    if condition.op == "=" and values[0] == Literal("string", " "):
        return _Predicate(column, "null", None, (path, "null"))
    if column.kind == "empty":
        # No record carries the property: nothing matches, whatever the value's type.
        return _Predicate(column, "in", frozenset(), (path, "in", ()))
    if condition.op == "like":
        if column.kind not in ("text", "date", "empty"):
            raise invalid(f"LIKE is only supported on text properties, not {'.'.join(path)}")
        pattern = str(values[0].value)
        return _Predicate(column, "like", _like_pattern(pattern), (path, "like", pattern))
    operands = [column.literal(value, snapshot.tz) for value in values]
    if condition.op == "in":
        members = frozenset(x for x in operands if x is not NO_MATCH)
        return _Predicate(column, "in", members, (path, "in", tuple(sorted(members, key=repr))))
    operand = operands[0]
    if operand is NO_MATCH:
        return _Predicate(column, "in", frozenset(), (path, "in", ()))
    return _Predicate(column, condition.op, operand, (path, condition.op, operand))


def _is_tautology(predicate: _Predicate) -> bool:
    """`Active IN (true, false)`: the pipeline's way of asking for inactive rows too."""
    return (
        predicate.op == "in"
        and predicate.column.kind == "bool"
        and predicate.operand == frozenset({True, False})
        and not predicate.column.has_none
    )


def _partition_point(
    keys: list, lo: int, hi: int, before: Callable[[object, object], bool], x: object
) -> int:
    """First index in [lo, hi) where `before(key, x)` stops holding (it holds on a prefix)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if before(keys[mid], x):
            lo = mid + 1
        else:
            hi = mid
    return lo


# For each operator, which keys lie below (lower bound) or within (upper bound) the window,
# in ascending and in descending key order.
_LOWER = {
    False: {"=": operator.lt, ">=": operator.lt, ">": operator.le},
    True: {"=": operator.gt, "<=": operator.gt, "<": operator.ge},
}
_UPPER = {
    False: {"=": operator.le, "<=": operator.le, "<": operator.lt},
    True: {"=": operator.ge, ">=": operator.ge, ">": operator.gt},
}


def _narrow(keys: list, lo: int, hi: int, op: str, x: object, descending: bool) -> tuple[int, int]:
    """Shrink [lo, hi) of sorted `keys` to the rows where `key op x` holds."""
    lower = _LOWER[descending].get(op)
    if lower is not None:
        lo = _partition_point(keys, lo, hi, lower, x)
    upper = _UPPER[descending].get(op)
    if upper is not None:
        hi = _partition_point(keys, lo, hi, upper, x)
    return lo, hi


def _project(record: dict, keep: frozenset[str] | None) -> dict:
    if keep is None:
        return dict(record)
    projected = {key: value for key, value in record.items() if key in keep}
    projected["sparse"] = True
    return projected


def _matching_positions(query: Query, snapshot: Snapshot) -> tuple[Sequence[int], int, int]:
    """Positions (into snapshot.records) of matching records in result order, as a sequence
    plus the [lo, hi) window of it that holds the matches."""
    predicates = [_predicate(condition, snapshot) for condition in query.where]
    if query.entity in LIST_ENTITIES and not any(p.column.path == ("Active",) for p in predicates):
        active = snapshot.column(("Active",))
        predicates.append(_Predicate(active, "active", None, (("Active",), "active")))
    predicates = [p for p in predicates if not _is_tautology(p)]

    spec = tuple((snapshot.resolve(key.path), key.descending) for key in query.order_by)
    for path, _ in spec:
        if snapshot.column(path).kind in ("object", "list"):
            raise invalid(f"property '{'.'.join(path)}' is not sortable")
    spec = spec or ((("Id",), False),)

    # Lookups by Id touch only the named records.
    by_id = next((p for p in predicates if p.column.path == ("Id",) and p.op in ("=", "in")), None)
    if by_id is not None:
        ids = [by_id.operand] if by_id.op == "=" else list(by_id.operand)  # type: ignore[arg-type]
        candidates = snapshot.positions_of_ids(ids)
        rest = [(p.column.values, p.test()) for p in predicates if p is not by_id]
        found = [i for i in candidates if all(test(col[i]) for col, test in rest)]
        for path, descending in reversed(spec):
            keys = snapshot.column(path).sort_keys()
            found.sort(key=keys.__getitem__, reverse=descending)
        return found, 0, len(found)

    positions, leading = snapshot.order(spec)
    lo, hi = 0, len(positions)
    lead_path, descending = spec[0]
    residual = []
    for p in predicates:
        if p.column.path == lead_path and p.op in COMPARISONS:
            lo, hi = _narrow(leading, lo, hi, p.op, p.operand, descending)
            if not p.column.has_none:
                continue  # the window alone guarantees the condition
        residual.append(p)
    if not residual:
        return positions, lo, hi

    cache_key = (spec, lo, hi, tuple(p.signature for p in residual))
    found = snapshot.matches.get(cache_key)
    if found is None:
        tests = [(p.column.values, p.test()) for p in residual]
        window = positions[lo:hi]
        if len(tests) == 1:
            col, test = tests[0]
            found = [i for i in window if test(col[i])]
        else:
            found = [i for i in window if all(test(col[i]) for col, test in tests)]
        snapshot.matches[cache_key] = found
        if len(snapshot.matches) > MATCH_CACHE_SIZE:
            snapshot.matches.popitem(last=False)
    else:
        snapshot.matches.move_to_end(cache_key)
    return found, 0, len(found)


def execute_query(query: Query, company: Company) -> dict:
    """Run a parsed query; returns the contents of "QueryResponse" (may raise QueryError)."""
    with company.lock:
        snapshot = snapshot_of(company, query.entity)
        keep = None
        if query.fields is not None:
            names = {snapshot.resolve(path)[0] for path in query.fields}
            keep = frozenset(names | {"Id", "SyncToken", "domain", "sparse"})
        positions, lo, hi = _matching_positions(query, snapshot)
        if query.count:
            return {"totalCount": hi - lo}
        first = lo + query.start_position - 1
        page = positions[first : min(hi, first + query.max_results)] if first < hi else []
        if not page:
            return {}
        records = snapshot.records
        rows = [_project(records[i], keep) for i in page]
    return {query.entity: rows, "startPosition": query.start_position, "maxResults": len(rows)}
