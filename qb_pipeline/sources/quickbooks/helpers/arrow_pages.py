"""Entity pages as Arrow tables: the root table and its child tables, built here.

Why: given dict rows, dlt flattens, types and hashes every row in Python, which took half
of a full sync's time (bench/README.md). Given Arrow tables, dlt writes them to parquet as
they are. So the source builds, per page of records, the tables dlt's relational
normalizer made from the dict rows (`max_table_nesting` 2), with the same names and types:

- keys in snake case (dlt's naming convention); nested objects flattened into `a__b`
  columns, two levels deep from a row; deeper objects stay whole as JSON columns;
- nested lists become child tables named `<parent table>__<path>` (`invoice__line`,
  `deposit__line__linked_txn`, `preferences__other_prefs__name_value`) while the row that
  holds them is less than two levels below the root; deeper lists stay JSON; lists of
  scalars become rows with one `value` column;
- JSON numbers are doubles (QuickBooks writes `275` and `275.5` alike), but for the
  INTEGER_FIELDS (int64); texts stay text (no date detection), booleans bool;
- root rows carry `org_id`, `realm_id`, `updated_at` (MetaData.LastUpdatedTime in UTC),
  `_dlt_id` (random, unique) and `_dlt_load_id`; child rows carry `org_id` (so that any
  table, child tables included, can be filtered or checked by organization without a join),
  `_dlt_id`, `_dlt_parent_id` (the parent row's `_dlt_id`), `_dlt_root_id` (the root row's)
  and `_dlt_list_idx`.

Arrow reads a whole page at once (`pa.array(records)`, in C++) and the tables are cut from
its columns; a page Arrow cannot type as one falls back to flattening record by record,
with the same result (tests/sources/test_arrow_pages.py).

Child tables are plain tables for dlt, appended to: dlt makes nested tables only in its
normalizer (a nested table written during extraction breaks its extract metrics and schema
merges, dlt 1.31). Root tables merge on (org_id, realm_id, id), so loading a record again or
deleting it replaces or removes its root row; the pipeline then deletes the child rows left
without a root row after every load (pipeline.delete_orphan_rows). The tables end as dlt's
nested-table merge left them.

JSON columns are Arrow structs or lists (dlt types them `json`; DuckDB casts them to JSON
text on load); a JSON value Arrow cannot type (mixed types, an empty object) falls back to
JSON text with an explicit `json` column hint. A struct keeps a key missing in one record
of the page as `null` (dlt's own JSON text left it out).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dlt
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.normalizers.naming.snake_case import NamingConvention

from qb_pipeline.sources.quickbooks.helpers.paging import deletion_row, parse_qbo_time
from qb_pipeline.sources.quickbooks.settings import (
    CHILD_TABLE_COLUMNS,
    INTEGER_FIELDS,
    MAX_TABLE_NESTING,
)

ROW_KEY = "_dlt_id"
LOAD_ID = "_dlt_load_id"
PARENT_KEY = "_dlt_parent_id"
ROOT_KEY = "_dlt_root_id"
LIST_INDEX = "_dlt_list_idx"
SCALAR_VALUE = "value"  # the column of a list of scalars' rows, as dlt names it
NESTED_LIST = "list"  # the wrapper key of a list inside a list, as dlt names it
EMPTY_KEY = "_empty"  # a blank JSON key, as dlt names it

# Keys that are never null in a root row: Arrow fields must say so, as the table hints do.
_REQUIRED_ROOT = frozenset({"org_id", "realm_id", "id", ROW_KEY, LOAD_ID})
_REQUIRED_CHILD = frozenset({"org_id", ROW_KEY, PARENT_KEY, ROOT_KEY, LIST_INDEX})
_TIMESTAMP = pa.timestamp("us", tz="UTC")

# Columns of every child table, typed as dlt's normalizer typed them.
CHILD_KEY_COLUMNS: dict[str, dict[str, Any]] = {
    "org_id": {"data_type": "text", "nullable": False},
    ROOT_KEY: {"data_type": "text", "nullable": False},
    PARENT_KEY: {"data_type": "text", "nullable": False},
    LIST_INDEX: {"data_type": "bigint", "nullable": False},
    ROW_KEY: {"data_type": "text", "nullable": False, "unique": True},
}
# Child rows are appended; the rows of a record's earlier version lose their root row in
# the root table's merge and are deleted after the load (pipeline.delete_orphan_rows).
CHILD_WRITE_DISPOSITION = "append"
# dlt's columns of a root table.
ROOT_KEY_COLUMNS: dict[str, dict[str, Any]] = {
    LOAD_ID: {"data_type": "text", "nullable": False},
    ROW_KEY: {"data_type": "text", "nullable": False, "unique": True, "row_key": True},
}


ROW_ID_BYTES = 12  # 96 random bits, 16 base64 characters (dlt's own ids: 80 bits, 14)


def new_row_ids(count: int) -> list[str]:
    """`count` random, unique row ids: one base64 encoding for all of them (dlt encodes
    each id on its own, a third of the page's build time)."""
    width = ROW_ID_BYTES * 4 // 3
    text = base64.b64encode(os.urandom(ROW_ID_BYTES * count)).decode()
    return [text[i : i + width] for i in range(0, width * count, width)]


@dataclass
class PageTable:
    """One table of a page: its name, its parent table (None for the root) and the Arrow
    data; `json_text_columns` are JSON columns held as text (they need a `json` hint)."""

    name: str
    parent: str | None
    data: pa.Table
    json_text_columns: tuple[str, ...] = ()

    def column_hints(self) -> dict[str, dict[str, Any]]:
        hints: dict[str, dict[str, Any]] = dict(CHILD_KEY_COLUMNS) if self.parent else {}
        if self.parent:
            hints.update(CHILD_TABLE_COLUMNS.get(self.name, {}))
        for name in self.json_text_columns:
            hints[name] = {"data_type": "json"}
        return hints


@dataclass
class _Rows:
    """Rows of one table while a page is flattened."""

    parent: str | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    json_columns: set[str] = field(default_factory=set)


class PageBuilder:
    """Builds the Arrow tables of the pages of one entity (`root_table`) of one company.

    Keeps the newest `updated_at` it has seen (`newest`), the entity's next cursor."""

    def __init__(self, root_table: str, org_id: str, realm_id: str) -> None:
        self.root_table = root_table
        self.org_id = org_id
        self.realm_id = realm_id
        self.newest: datetime | None = None
        self._naming = NamingConvention()
        self._names: dict[tuple[str, str], str] = {}  # (column prefix, key) -> column name

    # -- records ---------------------------------------------------------------------------
    def page(self, records: Iterable[dict], load_id: str | None = None) -> list[PageTable]:
        """The root table of `records` (QuickBooks records as served), then its child
        tables, parents before children. `load_id` defaults to the running load's.

        Arrow reads the whole page at once and the tables are cut from its columns; a page
        Arrow cannot type as one (a field that is text in one record and a number in
        another) is flattened record by record instead, to the same tables."""
        records = records if isinstance(records, list) else list(records)
        load_id = load_id or dlt.current.load_package_state()["load_id"]
        tables = _ColumnarPage(self, load_id).build(records)
        if tables is not None:
            return tables
        return self._row_page(records, load_id)

    def _row_page(self, records: list[dict], load_id: str) -> list[PageTable]:
        tables: dict[str, _Rows] = {self.root_table: _Rows(None)}
        root = tables[self.root_table]
        newest = self.newest
        for record in records:
            updated_at = parse_qbo_time((record.get("MetaData") or {}).get("LastUpdatedTime"))
            if updated_at is not None and (newest is None or updated_at > newest):
                newest = updated_at
            row: dict[str, Any] = {}
            lists: list[tuple[str, list]] = []
            self._flatten(record, MAX_TABLE_NESTING, "", row, lists, root.json_columns)
            row["org_id"] = self.org_id
            row["realm_id"] = self.realm_id
            row["updated_at"] = updated_at
            root.rows.append(row)
            if lists:
                self._children(tables, self.root_table, row, row, lists, MAX_TABLE_NESTING - 1)
        self.newest = newest
        return self._tables(tables, load_id)

    def deletions(
        self, deleted: Iterable[tuple[str, datetime | None]], load_id: str | None = None
    ) -> list[PageTable]:
        """Root rows that delete the stored records `(id, deleted at)` and their child rows
        when loaded (the `is_deleted` hard-delete column is true)."""
        rows: list[dict[str, Any]] = []
        for record_id, when in deleted:
            row: dict[str, Any] = {}
            marker = deletion_row(record_id, self.org_id, self.realm_id, when)
            self._flatten(marker, 0, "", row, [], set())
            rows.append(row)
        if not rows:
            return []
        return self._tables({self.root_table: _Rows(None, rows)}, load_id)

    # -- flattening ------------------------------------------------------------------------
    def _column(self, prefix: str, key: str) -> str:
        name = self._names.get((prefix, key))
        if name is None:
            normalized = self._naming.normalize_identifier(key) if key.strip() else EMPTY_KEY
            name = self._naming.shorten_fragments(prefix, normalized) if prefix else normalized
            self._names[(prefix, key)] = name
        return name

    def _flatten(
        self,
        record: dict,
        level: int,
        prefix: str,
        row: dict[str, Any],
        lists: list[tuple[str, list]],
        json_columns: set[str],
    ) -> None:
        """Put `record`'s fields into `row`; collect its nested lists into `lists`.
        `level` counts down the nesting left: at 0 objects and lists stay whole (JSON)."""
        for key, value in record.items():
            name = self._column(prefix, key)
            kind = type(value)
            if kind is dict:
                if level > 0:
                    self._flatten(value, level - 1, name, row, lists, json_columns)
                    continue
                json_columns.add(name)
            elif kind is list:
                if level > 0:
                    lists.append((name, value))
                    continue
                json_columns.add(name)
            elif kind is int:
                if key not in INTEGER_FIELDS:
                    value = float(value)
            elif value is None:
                continue  # dlt leaves out nulls: a column exists once a value does
            row[name] = value

    def _children(
        self,
        tables: dict[str, _Rows],
        parent_table: str,
        parent_row: dict[str, Any],
        root_row: dict[str, Any],
        lists: list[tuple[str, list]],
        level: int,
    ) -> None:
        """Rows of the child tables of `parent_row`'s `lists`, each row `level` levels of
        nesting from the JSON cut-off. Row ids are filled in later, a table at a time."""
        for path, items in lists:
            table = f"{parent_table}__{path}"
            rows = tables.get(table)
            if rows is None:
                rows = tables[table] = _Rows(parent_table)
            for index, item in enumerate(items):
                kind = type(item)
                row: dict[str, Any] = {}
                nested: list[tuple[str, list]] = []
                if kind is dict:
                    self._flatten(item, level, "", row, nested, rows.json_columns)
                elif kind is list:
                    # A list in a list: dlt wraps it as `{"list": [...]}` one level down.
                    self._flatten({NESTED_LIST: item}, level - 1, "", row, nested,
                                  rows.json_columns)  # fmt: skip
                elif item is not None:
                    row[SCALAR_VALUE] = item
                row["org_id"] = self.org_id
                row[PARENT_KEY] = parent_row
                row[ROOT_KEY] = root_row
                row[LIST_INDEX] = index
                rows.rows.append(row)
                if nested:
                    self._children(tables, table, row, root_row, nested, level - 1)

    # -- Arrow -----------------------------------------------------------------------------
    def _tables(self, tables: dict[str, _Rows], load_id: str | None) -> list[PageTable]:
        load_id = load_id or dlt.current.load_package_state()["load_id"]
        # Row ids first (a parent's id is read by its children), then the columns.
        for rows in tables.values():
            for row, row_id in zip(rows.rows, new_row_ids(len(rows.rows)), strict=True):
                row[ROW_KEY] = row_id
        out = []
        for name, rows in tables.items():
            if not rows.rows:
                continue
            is_root = rows.parent is None
            if not is_root:
                for row in rows.rows:
                    row[PARENT_KEY] = row[PARENT_KEY][ROW_KEY]
                    row[ROOT_KEY] = row[ROOT_KEY][ROW_KEY]
            data, text_json = _arrow_table(rows, is_root)
            if is_root:
                data = data.append_column(
                    pa.field(LOAD_ID, pa.string(), nullable=False),
                    pa.array([load_id] * data.num_rows, pa.string()),
                )
            out.append(PageTable(name, rows.parent, data, text_json))
        return out


def _arrow_table(rows: _Rows, is_root: bool) -> tuple[pa.Table, tuple[str, ...]]:
    """`rows` as an Arrow table, columns in order of first appearance; also the JSON
    columns that had to be held as text."""
    columns: dict[str, None] = {}
    for row in rows.rows:
        for name in row:
            if name not in columns:
                columns[name] = None
    required = _REQUIRED_ROOT if is_root else _REQUIRED_CHILD
    fields: list[pa.Field] = []
    arrays: list[pa.Array] = []
    text_json: list[str] = []
    for name in columns:
        values = [row.get(name) for row in rows.rows]
        if name in rows.json_columns:
            array = _json_array(values)
            if array is None:
                array = pa.array([_json_text(v) for v in values], pa.string())
                text_json.append(name)
        elif name == "updated_at":
            array = pa.array(values, _TIMESTAMP)
        else:
            array = _typed_array(name, values)
        fields.append(pa.field(name, array.type, nullable=name not in required))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields)), tuple(text_json)


def _typed_array(name: str, values: list[Any]) -> pa.Array:
    """Arrow infers the type; a column whose values disagree (never seen from QuickBooks)
    takes the type of its first value where the others convert without loss."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        first = next(v for v in values if v is not None)
        if isinstance(first, str):
            return pa.array([_json_text(v) if not isinstance(v, str) else v for v in values])
        if isinstance(first, float) and all(v is None or type(v) in (int, float) for v in values):
            return pa.array([None if v is None else float(v) for v in values], pa.float64())
        kinds = sorted({type(v).__name__ for v in values if v is not None})
        raise ValueError(f"column {name!r} mixes values of types {kinds}") from None


def _json_array(values: list[Any]) -> pa.Array | None:
    """A JSON column as an Arrow struct/list array, or None when Arrow cannot type it."""
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if not pa.types.is_nested(array.type) or _has_empty_struct(array.type):
        return None  # e.g. only `{}` values: parquet cannot store a struct without fields
    return array


def _has_empty_struct(kind: pa.DataType) -> bool:
    if pa.types.is_struct(kind):
        return kind.num_fields == 0 or any(_has_empty_struct(f.type) for f in kind)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _has_empty_struct(kind.value_type) or pa.types.is_null(kind.value_type)
    return False


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value).decode()


class _ColumnarPage:
    """One page cut into tables from Arrow columns: `pa.array(records)` infers one nested
    struct type for the page in C++; objects are flattened by walking that type, lists
    become child tables with `list_flatten` and `list_parent_indices`. The rules (names,
    nesting levels, number types) are PageBuilder's."""

    def __init__(self, builder: PageBuilder, load_id: str) -> None:
        self.builder = builder
        self.load_id = load_id
        self.tables: list[PageTable] = []

    def build(self, records: list[dict]) -> list[PageTable] | None:
        try:
            rows = pa.array(records)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return None
        if not pa.types.is_struct(rows.type) or rows.null_count:
            return None
        try:
            self._root(rows, records)
        except _NotColumnar:
            return None
        return self.tables

    def _root(self, rows: pa.StructArray, records: list[dict]) -> None:
        builder = self.builder
        count = len(rows)
        columns: dict[str, pa.Array] = {}
        lists: list[tuple[str, pa.Array]] = []
        json_text: list[str] = []
        self._flatten(rows, MAX_TABLE_NESTING, "", columns, lists, json_text)
        row_ids = pa.array(new_row_ids(count), pa.string())
        columns["org_id"] = pa.array([builder.org_id] * count, pa.string())
        columns["realm_id"] = pa.array([builder.realm_id] * count, pa.string())
        updated_at = self._updated_at(columns.get("meta_data__last_updated_time"), records)
        columns["updated_at"] = updated_at
        newest = pc.max(updated_at).as_py()
        if newest is not None and (builder.newest is None or newest > builder.newest):
            builder.newest = newest
        columns[ROW_KEY] = row_ids
        columns[LOAD_ID] = pa.array([self.load_id] * count, pa.string())
        self.tables.append(
            PageTable(builder.root_table, None, _table(columns, _REQUIRED_ROOT), tuple(json_text))
        )
        self._children(builder.root_table, row_ids, row_ids, lists, MAX_TABLE_NESTING - 1)

    @staticmethod
    def _updated_at(text: pa.Array | None, records: list[dict]) -> pa.Array:
        if text is not None and pa.types.is_string(text.type):
            try:
                return text.cast(_TIMESTAMP)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # not ISO 8601 with an offset: record by record, as parse_qbo_time reads
        moments = [
            parse_qbo_time((r.get("MetaData") or {}).get("LastUpdatedTime")) for r in records
        ]
        return pa.array(moments, _TIMESTAMP)

    def _children(
        self,
        parent_table: str,
        parent_ids: pa.Array,
        root_ids: pa.Array,
        lists: list[tuple[str, pa.Array]],
        level: int,
    ) -> None:
        for path, items in lists:
            values = items.flatten()
            if not len(values):
                continue
            table = f"{parent_table}__{path}"
            parents = pc.list_parent_indices(items)
            starts = pc.take(items.offsets, parents).cast(pa.int64())
            positions = pa.array(range(len(values)), pa.int64())
            columns: dict[str, pa.Array] = {}
            nested: list[tuple[str, pa.Array]] = []
            json_text: list[str] = []
            if pa.types.is_struct(values.type):
                if values.null_count:
                    raise _NotColumnar  # a null inside a list: the row path says what it is
                self._flatten(values, level, "", columns, nested, json_text)
            elif pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
                raise _NotColumnar  # a list of lists: rare, the row path wraps it as dlt does
            elif not pa.types.is_null(values.type):
                columns[SCALAR_VALUE] = values
            row_ids = pa.array(new_row_ids(len(values)), pa.string())
            columns["org_id"] = pa.array([self.builder.org_id] * len(values), pa.string())
            columns[PARENT_KEY] = pc.take(parent_ids, parents)
            child_roots = pc.take(root_ids, parents)
            columns[ROOT_KEY] = child_roots
            columns[LIST_INDEX] = pc.subtract(positions, starts)
            columns[ROW_KEY] = row_ids
            data = _table(columns, _REQUIRED_CHILD)
            self.tables.append(PageTable(table, parent_table, data, tuple(json_text)))
            if nested:
                self._children(table, row_ids, child_roots, nested, level - 1)

    def _flatten(
        self,
        rows: pa.StructArray,
        level: int,
        prefix: str,
        columns: dict[str, pa.Array],
        lists: list[tuple[str, pa.Array]],
        json_text: list[str],
    ) -> None:
        """`rows`' fields into `columns` (objects flattened while `level` > 0), nested
        lists into `lists`; `flatten()` carries a missing object's null to its fields."""
        column = self.builder._column
        for part, values in zip(rows.type, rows.flatten(), strict=True):
            name = column(prefix, part.name)
            kind = part.type
            if pa.types.is_struct(kind):
                if level > 0:
                    self._flatten(values, level - 1, name, columns, lists, json_text)
                    continue
                if _has_empty_struct(kind):
                    values = pa.array([_json_text(v) for v in values.to_pylist()], pa.string())
                    json_text.append(name)
            elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
                if level > 0:
                    lists.append((name, values))
                    continue
                if _has_empty_struct(kind):
                    values = pa.array([_json_text(v) for v in values.to_pylist()], pa.string())
                    json_text.append(name)
            elif pa.types.is_null(kind):
                continue  # never a value: dlt makes no column
            elif pa.types.is_integer(kind) and part.name not in INTEGER_FIELDS:
                values = values.cast(pa.float64())
            elif not (
                pa.types.is_string(kind)
                or pa.types.is_boolean(kind)
                or pa.types.is_floating(kind)
                or pa.types.is_integer(kind)
            ):
                raise _NotColumnar  # e.g. a datetime: only the row path knows
            if name in columns:
                raise _NotColumnar  # two keys that normalize to one name
            columns[name] = values


class _NotColumnar(Exception):
    """The page needs the record-by-record path."""


def _table(columns: dict[str, pa.Array], required: frozenset[str]) -> pa.Table:
    fields = [
        pa.field(name, values.type, nullable=name not in required)
        for name, values in columns.items()
    ]
    return pa.Table.from_arrays(list(columns.values()), schema=pa.schema(fields))


class TableBatches:
    """Tables of consecutive pages, joined per table before dlt gets them: dlt's own work
    per table it is given (about 10 ms, mostly validating the table's hints) does not
    depend on the table's size, and Arrow tables are small next to the pages' records."""

    def __init__(self, records: int) -> None:
        self.records = records  # root rows held before the tables are handed over
        self._held: dict[str, list[PageTable]] = {}
        self._roots = 0

    def add(self, tables: list[PageTable]) -> Iterator[Any]:
        """Hold `tables` (one page's); yield the joined tables once enough are held."""
        for table in tables:
            self._held.setdefault(table.name, []).append(table)
            if table.parent is None:
                self._roots += table.data.num_rows
        if self._roots >= self.records:
            yield from self.flush()

    def flush(self) -> Iterator[Any]:
        """Yield everything held."""
        held, self._held, self._roots = self._held, {}, 0
        joined: list[PageTable] = []
        for parts in held.values():
            joined.extend(_join(parts))
        yield from page_items(joined)


def _join(parts: list[PageTable]) -> list[PageTable]:
    """One table from the parts of one table, or the parts as they are when their types
    cannot be unified (e.g. a JSON column held as text in one page, as a struct in another)."""
    if len(parts) == 1:
        return parts
    try:
        data = pa.concat_tables([p.data for p in parts], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return parts
    text_json = tuple(dict.fromkeys(c for p in parts for c in p.json_text_columns))
    first = parts[0]
    return [PageTable(first.name, first.parent, data.combine_chunks(), text_json)]


def page_items(tables: list[PageTable]) -> Iterator[Any]:
    """What a resource yields for a page: the root table as is (it goes to the resource's
    table), then each child table sent to its own table. Call from inside the resource."""
    resource = None
    for table in tables:
        if table.parent is None:
            hints = table.column_hints()
            if hints:
                yield dlt.mark.with_hints(table.data, dlt.mark.make_hints(columns=hints))
            else:
                yield table.data
        else:
            resource = resource or dlt.current.resource()
            _declare_child_table(resource, table)
            yield dlt.mark.with_table_name(table.data, table.name)


def _declare_child_table(resource: Any, table: PageTable) -> None:
    """Give the running resource the hints of child table `table`: appended to, its key
    columns, nothing of the root table's.

    dlt's public way (`with_hints(..., create_table_variant=True)`) starts a table variant
    from the resource's own hints and merges into them: the child table would get the root's
    columns, primary key and merge disposition. So the variant is set whole, through the
    method dlt itself uses for variants (a dlt upgrade that changes it fails the source's
    tests, not silently the data). A table an earlier version loaded as a dlt nested table
    (with a `parent`) becomes a plain one."""
    known = resource._hints_variants.get(table.name)
    columns = table.column_hints()
    if known is None or any(name not in known["columns"] for name in columns):
        if known is not None:
            columns = {**known["columns"], **columns}
        hints = dlt.mark.make_hints(
            table_name=table.name,
            write_disposition=CHILD_WRITE_DISPOSITION,
            columns=columns,
            file_format="parquet",
        )
        resource._set_hints(hints, create_table_variant=True)
        stored = dlt.current.source_schema().tables.get(table.name)
        if stored is not None and stored.get("parent"):
            stored.pop("parent")
