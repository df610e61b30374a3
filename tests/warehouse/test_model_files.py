"""Model files describe themselves in a header; a broken header is an error naming the file."""

from __future__ import annotations

import pytest

from qb_pipeline.warehouse.models import (
    ModelFileError,
    load_models,
    markdown_reference,
    parse_model,
)

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


def test_the_readme_reference_lists_every_mart_column():
    text = markdown_reference("marts")
    for item in load_models():
        if item.layer == "marts":
            assert f"`{item.name}`" in text
            assert all(f"| `{column}` |" in text for column in item.columns)
