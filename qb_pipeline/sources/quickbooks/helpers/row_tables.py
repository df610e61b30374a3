"""Report rows as Arrow tables, typed from the resource's declared columns.

Given dict rows, dlt types and writes every row in Python at extraction and again at
normalize: for the ~29,000 report rows of the large company that was about 5 s of a sync,
after the last report answered (bench/README.md). As one Arrow table per report, dlt writes
them to parquet as they are. The types are those dlt gave the same rows (the tables are
unchanged), and rows carry `_dlt_id` and `_dlt_load_id` as dlt would have added them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import dlt
import pyarrow as pa

from qb_pipeline.sources.quickbooks.helpers.arrow_pages import LOAD_ID, ROW_KEY, new_row_ids

# dlt data types of the declared report columns -> the Arrow types dlt maps back to them
# (DECIMAL(38,9) and TIMESTAMP WITH TIME ZONE in DuckDB, as dlt's defaults).
ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "date": pa.date32(),
    "bool": pa.bool_(),
    "decimal": pa.decimal128(38, 9),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def rows_table(
    rows: list[dict[str, Any]],
    columns: Mapping[str, Mapping[str, Any]],
    required: Collection[str],
    load_id: str | None = None,
) -> pa.Table:
    """`rows` as one table with `columns` (declared dlt hints, in order), the `required`
    ones not null, plus dlt's row id and load id. A key no column declares is an error:
    it would otherwise be dropped without a word."""
    undeclared = sorted(set().union(*rows) - set(columns)) if rows else []
    if undeclared:
        raise ValueError(f"report rows carry undeclared columns {undeclared}")
    load_id = load_id or dlt.current.load_package_state()["load_id"]
    fields = [
        pa.field(name, ARROW_TYPES[hint["data_type"]], nullable=name not in required)
        for name, hint in columns.items()
    ]
    data = {name: [row.get(name) for row in rows] for name in columns}
    data[LOAD_ID] = [load_id] * len(rows)
    data[ROW_KEY] = new_row_ids(len(rows))
    fields += [
        pa.field(LOAD_ID, pa.string(), nullable=False),
        pa.field(ROW_KEY, pa.string(), nullable=False),
    ]
    return pa.Table.from_pydict(data, schema=pa.schema(fields))
