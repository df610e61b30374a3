"""A write that found no room names the file in the operator's words, per organization."""

from __future__ import annotations

from pathlib import Path

import pytest

from qb_pipeline.sync.no_space import describe


@pytest.mark.parametrize(("relative", "words"), [
    ("orgs/acme/warehouse.duckdb", "the warehouse of acme"),
    ("orgs/acme/warehouse.duckdb.wal", "the warehouse of acme"),
    ("orgs/acme/dlt/quickbooks_acme_1/load/new/x.parquet", "dlt's load files of acme"),
    ("serving/acme.duckdb", "the serving copy of acme"),
    ("serving/.acme.duckdb.0123abcd.publishing", "the serving copy of acme"),
    ("control.sqlite3-wal", "the control DB"),
    ("dagster/storage/runs.db", "Dagster's run storage"),
    ("notes.txt", "a file"),
])  # fmt: skip
def test_files_under_qbp_home_are_named(tmp_path: Path, relative: str, words: str):
    assert describe(str(tmp_path / relative), tmp_path) == words


def test_a_file_outside_qbp_home_is_a_file(tmp_path: Path):
    assert describe("/elsewhere/warehouse.duckdb", tmp_path / "home") == "a file"
