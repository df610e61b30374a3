"""Model files describe themselves in a header; a broken header is an error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from qb_pipeline.goals.compute import documented_views
from qb_pipeline.warehouse.model_files import (
    ModelFileError,
    load_models,
    markdown_reference,
    parse_model,
)
from qb_pipeline.warehouse.reference import views, with_reference

ROOT = Path(__file__).resolve().parents[2]

GOOD = """-- model: marts.example
-- description: An example,
--   over two lines.
-- depends_on: qbo.a, qbo.b
-- column org_id: Organization.
-- column amount: Money,
--   in the home currency.
SELECT org_id, amount FROM qbo.a
"""


def test_a_header_gives_name_description_dependencies_and_columns(tmp_path):
    path = tmp_path / "example.sql"
    path.write_text(GOOD)
    parsed = parse_model(path, "marts")
    assert (parsed.schema, parsed.table, parsed.materialized) == ("marts", "example", "view")
    assert parsed.description == "An example, over two lines."
    assert parsed.depends_on == ("qbo.a", "qbo.b")
    assert parsed.columns == {"org_id": "Organization.", "amount": "Money, in the home currency."}
    assert parsed.sql == "SELECT org_id, amount FROM qbo.a"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1\n", "no '-- model:' line"),
        ("-- model: marts.x\nSELECT 1\n", "no '-- description:' line"),
        ("-- model: x\n-- description: d\nSELECT 1\n", "is not schema.table"),
        ("-- model: a.x\n-- description: d\n-- colour: red\nSELECT 1\n", "line 3"),
        ("-- model: a.x\n-- description: d\n", "no SQL"),
    ],
)
def test_a_broken_header_names_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "broken.sql"
    path.write_text(text)
    with pytest.raises(ModelFileError, match=message) as raised:
        parse_model(path, "marts")
    assert "broken.sql" in str(raised.value)


def test_models_come_in_dependency_order_staging_first():
    names = [m.name for m in load_models()]
    for item in load_models():
        for dependency in item.depends_on:
            if dependency in names:
                assert names.index(dependency) < names.index(item.name)
    layers = [m.layer for m in load_models()]
    assert layers == sorted(layers, key=["staging", "marts"].index)


def test_the_reference_lists_every_mart_column():
    text = markdown_reference("marts")
    for item in load_models():
        if item.layer == "marts":
            assert f"`{item.name}`" in text
            assert all(f"| `{column}` |" in text for column in item.columns)


def test_docs_warehouse_is_what_the_sql_generates():
    page = (ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    regenerate = "run `qb-pipeline warehouse reference --write docs/warehouse.md`"

    assert with_reference(page, views(documented_views())) == page, regenerate
    for name in ("marts.goal_values", "marts.goal_value_history", "marts.goals", "marts.company"):
        assert f"#### `{name}`" in page


def test_the_goal_views_document_every_column_they_have():
    import duckdb

    from qb_pipeline.goals.compute import ensure_goal_tables

    documented = {name: columns for name, _text, columns in documented_views()}
    with duckdb.connect() as con:
        ensure_goal_tables(con)
        for name, columns in documented.items():
            real = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
            assert list(columns) == real
            assert all(columns.values()), f"{name}: a column without a description"
    assert set(documented) == {"marts.goal_values", "marts.goal_value_history", "marts.goals"}


def test_the_warehouse_catalog_carries_the_model_comments(tmp_path):
    import duckdb

    from qb_pipeline.warehouse.transform import run_model

    item = next(m for m in load_models() if m.name == "qbo.connection_status")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        run_model(con, item)
        (comment,) = con.execute(
            "SELECT comment FROM duckdb_tables() WHERE table_name = 'connection_status'"
        ).fetchone()
        columns = dict(
            con.execute(
                "SELECT column_name, comment FROM duckdb_columns()"
                " WHERE table_name = 'connection_status'"
            ).fetchall()
        )
    assert comment == item.description
    assert columns == item.columns
