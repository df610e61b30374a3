"""Pages of records as the Arrow tables the source yields: the same tables, columns and
types dlt's own normalizer made from dict rows (max_table_nesting 2)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from qb_pipeline.sources.quickbooks.helpers.arrow_pages import PageBuilder, TableBatches
from qb_pipeline.sources.quickbooks.helpers.paging import read_cursor, write_cursor


def build(records: list[dict], table: str = "invoice") -> dict[str, pa.Table]:
    return {t.name: t.data for t in PageBuilder(table, "acme", "9130").page(records, "load-1")}


def invoice(record_id: str, **fields: object) -> dict:
    return {
        "Id": record_id,
        "SyncToken": "0",
        "MetaData": {"LastUpdatedTime": "2026-11-01T10:00:00-07:00"},
        **fields,
    }


def test_nested_lines_become_child_tables_linked_to_their_parent_and_root_rows():
    record = invoice(
        "7",
        Line=[
            {"Id": "1", "Amount": 10, "SalesItemLineDetail": {"Qty": 2, "ItemRef": {"value": "5"}}},
            {"Id": "2", "Amount": 5, "LinkedTxn": [{"TxnId": "9", "TxnType": "Estimate"}]},
        ],
    )
    tables = build([record])
    assert list(tables) == ["invoice", "invoice__line", "invoice__line__linked_txn"]
    [root] = tables["invoice"].to_pylist()
    lines = tables["invoice__line"].to_pylist()
    [linked] = tables["invoice__line__linked_txn"].to_pylist()
    assert [line["_dlt_list_idx"] for line in lines] == [0, 1]
    assert {line["_dlt_parent_id"] for line in lines} == {root["_dlt_id"]}
    assert {line["_dlt_root_id"] for line in lines} == {root["_dlt_id"]}
    assert linked["_dlt_parent_id"] == lines[1]["_dlt_id"]
    assert linked["_dlt_root_id"] == root["_dlt_id"]
    assert linked["txn_id"] == "9"
    assert len({root["_dlt_id"], *(row["_dlt_id"] for row in lines), linked["_dlt_id"]}) == 4
    assert root["_dlt_load_id"] == "load-1"
    assert "_dlt_load_id" not in tables["invoice__line"].column_names


def test_objects_flatten_two_levels_below_a_row_and_deeper_ones_stay_json():
    record = invoice(
        "7",
        CustomerRef={"value": "3", "name": "Ann"},
        Line=[{"SalesItemLineDetail": {"Qty": 2, "ItemRef": {"value": "5", "name": "Hats"}}}],
    )
    tables = build([record])
    root = tables["invoice"]
    assert {"customer_ref__value", "customer_ref__name", "meta_data__last_updated_time"} <= set(
        root.column_names
    )
    line = tables["invoice__line"]
    assert line.column("sales_item_line_detail__qty").type == pa.float64()
    item = line.column("sales_item_line_detail__item_ref")
    assert pa.types.is_struct(item.type), "a JSON column (dlt types structs as json)"
    assert item.to_pylist() == [{"value": "5", "name": "Hats"}]


def test_records_of_one_page_with_different_fields_share_one_table():
    tables = build(
        [
            invoice("1", TotalAmt=10, DocNumber="A-1"),
            invoice("2", Balance=3.5, PrivateNote=None),
            invoice("3", TotalAmt=12.5, Line=[{"Amount": 1}]),
        ]
    )
    root = tables["invoice"]
    assert root.column("total_amt").to_pylist() == [10.0, None, 12.5]
    assert root.column("doc_number").to_pylist() == ["A-1", None, None]
    assert root.column("balance").to_pylist() == [None, 3.5, None]
    assert "private_note" not in root.column_names, "a field that is always null adds no column"
    assert root.column("id").to_pylist() == ["1", "2", "3"]
    assert tables["invoice__line"].num_rows == 1


def test_types_follow_dlts_inference():
    record = invoice("1", TotalAmt=275, Active=True, Level=1, TxnDate="2026-11-01")
    root = build([record])["invoice"]
    assert root.schema.field("total_amt").type == pa.float64()
    assert root.schema.field("level").type == pa.int64()
    assert root.schema.field("active").type == pa.bool_()
    assert root.schema.field("txn_date").type == pa.string(), "dates stay text"
    assert root.schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    assert root.column("updated_at").to_pylist() == [datetime(2026, 11, 1, 17, 0, tzinfo=UTC)]
    for key in ("org_id", "realm_id", "id", "_dlt_id", "_dlt_load_id"):
        assert not root.schema.field(key).nullable, key


def test_a_json_value_arrow_cannot_type_is_kept_as_json_text():
    lines = [
        {"Detail": {"Ref": {"value": "1"}}},
        {"Detail": {"Ref": {"value": 2.5}}},
        {"Detail": {"Ref": {}}},
    ]
    [_root, line] = PageBuilder("bill", "acme", "9130").page([invoice("1", Line=lines)], "x")
    assert line.json_text_columns == ("detail__ref",)
    assert line.column_hints()["detail__ref"] == {"data_type": "json"}
    assert line.data.column("detail__ref").to_pylist() == [
        '{"value":"1"}',
        '{"value":2.5}',
        "{}",
    ]


def test_lists_of_scalars_become_rows_with_a_value_column():
    tables = build([invoice("1", Tags=["a", "b"])])
    assert tables["invoice__tags"].column("value").to_pylist() == ["a", "b"]


def test_deletion_rows_carry_the_key_and_the_hard_delete_flag():
    when = datetime(2026, 11, 2, tzinfo=UTC)
    [table] = PageBuilder("invoice", "acme", "9130").deletions([("7", when), ("8", None)], "x")
    assert table.parent is None
    rows = table.data.to_pylist()
    assert [(r["id"], r["updated_at"], r["is_deleted"]) for r in rows] == [
        ("7", when, True),
        ("8", None, True),
    ]
    assert {r["org_id"] for r in rows} == {"acme"}
    assert PageBuilder("invoice", "acme", "9130").deletions([], "x") == []


def test_the_builder_remembers_the_newest_change_across_pages():
    pages = PageBuilder("invoice", "acme", "9130")
    pages.page([invoice("1")], "x")
    pages.page([{"Id": "2", "MetaData": {"LastUpdatedTime": "2026-11-03T00:00:00Z"}}], "x")
    pages.page([{"Id": "3", "MetaData": {"LastUpdatedTime": "2026-10-01T00:00:00Z"}}], "x")
    assert pages.newest == datetime(2026, 11, 3, tzinfo=UTC)


def test_mixed_values_in_a_column_that_cannot_convert_fail_with_the_column_name():
    with pytest.raises(ValueError, match=r"column 'doc_number' mixes values of types"):
        build([invoice("1", DocNumber=1.5), invoice("2", DocNumber="A-1")])


def test_the_cursor_never_moves_back_and_reads_dlts_earlier_incremental_state():
    state: dict = {}
    assert read_cursor(state) is None
    earlier = datetime(2026, 11, 1, tzinfo=UTC)
    write_cursor(state, None, earlier)
    write_cursor(state, read_cursor(state), datetime(2026, 10, 1, tzinfo=UTC))
    assert read_cursor(state) == earlier
    legacy = {"incremental": {"updated_at": {"last_value": earlier}}}
    assert read_cursor(legacy) == earlier


def test_tables_of_several_pages_reach_dlt_joined_per_table():
    pages = PageBuilder("invoice", "acme", "9130")
    batches = TableBatches(records=3)
    first = pages.page([invoice("1", Line=[{"Amount": 1, "Ref": {"value": "a"}}])], "x")
    second = pages.page([invoice("2", TotalAmt=4, Line=[{"Amount": 2}])], "x")
    assert list(batches.add(first)) == [], "held until three root rows"
    assert list(batches.add(second)) == []
    tables = {t.name: t for t in (*batches._held["invoice"], *batches._held["invoice__line"])}
    assert tables, "both tables held"
    joined = {t.name: t.data for t in _join_all(batches)}
    assert joined["invoice"].column("id").to_pylist() == ["1", "2"]
    assert joined["invoice"].column("total_amt").to_pylist() == [None, 4.0]
    assert joined["invoice__line"].column("amount").to_pylist() == [1.0, 2.0]


def _join_all(batches: TableBatches) -> list:
    from qb_pipeline.sources.quickbooks.helpers.arrow_pages import _join

    return [table for parts in batches._held.values() for table in _join(parts)]
