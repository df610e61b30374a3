"""The serving copy replaces the old one atomically; a warehouse held by another process makes a
writer wait, then fail naming that process."""

from __future__ import annotations

import duckdb
import pytest

from qb_pipeline.warehouse.publish import publish, remove_leftovers
from qb_pipeline.warehouse.writer import WarehouseBusy, current_holder, open_writer
from tests.defs.duckdb_process import DuckDBProcess


def write_rows(path, *values: int) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS marts")
        connection.execute("CREATE OR REPLACE TABLE marts.numbers AS SELECT * FROM range(0)")
        for value in values:
            connection.execute("INSERT INTO marts.numbers VALUES (?)", [value])


def numbers(connection) -> list[int]:
    return [
        row[0] for row in connection.execute("SELECT * FROM marts.numbers ORDER BY 1").fetchall()
    ]


@pytest.fixture
def files(tmp_path):
    return tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"


def test_a_reader_of_the_serving_copy_keeps_the_old_data_until_it_reopens(files):
    warehouse, serving = files
    write_rows(warehouse, 1, 2)
    with duckdb.connect(str(warehouse)) as writer:
        publish(writer, warehouse, serving)
    reader = duckdb.connect(str(serving), read_only=True)
    write_rows(warehouse, 1, 2, 3)

    with duckdb.connect(str(warehouse)) as writer:
        published = publish(writer, warehouse, serving)

    assert numbers(reader) == [1, 2]
    reader.close()
    with duckdb.connect(str(serving), read_only=True) as reopened:
        assert numbers(reopened) == [1, 2, 3]
    assert published.tables_by_schema == {"marts": 1}
    assert list(serving.parent.glob("*.publishing")) == []


def test_publishing_while_another_process_reads_the_serving_copy_succeeds(files):
    warehouse, serving = files
    write_rows(warehouse, 1)
    with duckdb.connect(str(warehouse)) as writer:
        publish(writer, warehouse, serving)
    reader = DuckDBProcess(serving, read_only=True)
    try:
        write_rows(warehouse, 1, 2)
        with duckdb.connect(str(warehouse)) as writer:
            publish(writer, warehouse, serving)
    finally:
        reader.close()

    with duckdb.connect(str(serving), read_only=True) as reopened:
        assert numbers(reopened) == [1, 2]


def test_an_interrupted_publication_leaves_nothing_behind_after_cleanup(files):
    _, serving = files
    leftover = serving.with_name(f".{serving.name}.0123abcd.publishing")
    leftover.write_bytes(b"partial")

    assert remove_leftovers(serving) == [leftover]
    assert not leftover.exists()


def test_a_writer_fails_naming_the_process_that_holds_the_warehouse(files):
    warehouse, serving = files
    write_rows(warehouse, 1)
    holder = DuckDBProcess(warehouse, read_only=True)
    try:
        with pytest.raises(WarehouseBusy) as raised, open_writer(warehouse, 0.2, serving):
            pass
        assert current_holder(warehouse) == holder.pid
    finally:
        holder.close()

    assert str(raised.value) == (
        f"the warehouse at {warehouse} is open in another process (pid {holder.pid}); "
        f"close it, or point readers at the read-only serving copy {serving}"
    )
    assert current_holder(warehouse) is None


def test_a_writer_waits_for_the_warehouse_to_be_let_go(files):
    warehouse, _ = files
    write_rows(warehouse, 1)
    holder = DuckDBProcess(warehouse, read_only=False)
    waits = []

    def let_go(pid):
        waits.append(pid)
        holder.close()

    with open_writer(warehouse, 60, on_wait=let_go) as connection:
        assert numbers(connection) == [1]
    assert waits == [holder.pid]
