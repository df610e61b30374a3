"""Models on a Postgres warehouse: a model whose columns changed replaces its view (Postgres'
CREATE OR REPLACE VIEW refuses that alone), inside a build's transaction or outside one; before
the first sync, building says what is missing and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from qb_pipeline.warehouse import WarehouseNotReady, run_model, run_sql_models
from qb_pipeline.warehouse.model_files import parse_model
from qb_pipeline.warehouse.postgres import PostgresWarehouse

ORG = "views-co"


def write_model(folder: Path, columns: dict[str, str]) -> Path:
    path = folder / "numbers.sql"
    header = ["-- model: qbo.numbers", "-- description: Numbers.", "-- depends_on: qbo_raw.n"]
    header += [f"-- column {name}: A column." for name in columns]
    select = ", ".join(f"{expression} AS {name}" for name, expression in columns.items())
    path.write_text("\n".join([*header, f"SELECT {select} FROM qbo_raw.n"]) + "\n")
    return path


def columns(con: PostgresWarehouse) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = ? AND table_name = 'numbers' ORDER BY ordinal_position",
            [con.schemas["qbo"]],
        ).fetchall()
    ]


@pytest.mark.parametrize("in_transaction", [False, True])
def test_a_model_whose_columns_changed_replaces_its_view(postgres_url, tmp_path, in_transaction):
    with PostgresWarehouse(postgres_url, ORG) as con:
        raw = con.schemas["qbo_raw"]
        con.execute(f'CREATE SCHEMA "{raw}"')
        con.execute(f'CREATE TABLE "{raw}".n AS SELECT 1 AS a, 2 AS b')
        run_model(con, parse_model(write_model(tmp_path, {"a": "a", "b": "b"}), "staging"))
        assert columns(con) == ["a", "b"]

        changed = parse_model(write_model(tmp_path, {"b": "b", "total": "a + b"}), "staging")
        if in_transaction:
            con.execute("BEGIN")
        run_model(con, changed)
        if in_transaction:
            con.execute("COMMIT")
        assert columns(con) == ["b", "total"]
        assert con.execute('SELECT * FROM "qbo_views_co".numbers').fetchall() == [(2, 3)]


def test_building_before_the_first_sync_says_what_is_missing(postgres_url):
    with PostgresWarehouse(postgres_url, ORG) as con:
        with pytest.raises(WarehouseNotReady, match=r"qbo\.accounts .*qbo_raw\.account.*sync"):
            run_sql_models(con)
        left = con.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE ?",
            ["%views_co"],
        ).fetchone()
        assert left == (0,)
