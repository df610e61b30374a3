"""The operator's cross-organization catalog: every organization's DuckDB file attached
read-only in one place, with a view per relation that unions them.

Each organization has its own warehouse and serving copy (config.Settings), so no BI user of
one organization can read another's rows. The operator (and the team that runs the
deployment) still wants one place to ask "which organizations are stale" or "how many
invoices did we import last night": the catalog attaches every serving copy read-only
under its organization's name and defines, in an in-memory database, `marts.<name>` as the
union (by column name) of that relation in every organization that has it. Nothing is
copied, so building it costs a directory listing and one catalog read per file, and
publishing an organization never touches the others.

`qb-pipeline warehouse catalog` writes the same statements to `$QBP_HOME/catalog.sql`, an
init script for the DuckDB shell: `duckdb -readonly -init $QBP_HOME/catalog.sql`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb

from qb_pipeline.config import Settings, org_slug_checked

# The schemas BI reads; tests of the import use the raw and staging ones too.
BI_SCHEMAS: tuple[str, ...] = ("marts",)

_RELATIONS = """
SELECT database_name, schema_name, table_name FROM duckdb_tables()
WHERE database_name IN ({databases}) AND schema_name IN ({schemas})
UNION ALL
SELECT database_name, schema_name, view_name FROM duckdb_views()
WHERE NOT internal AND database_name IN ({databases}) AND schema_name IN ({schemas})
ORDER BY 2, 3, 1
"""


def serving_files(settings: Settings) -> dict[str, Path]:
    """{organization: its serving copy} of every organization that has published one."""
    folder = settings.serving_dir
    if not folder.is_dir():
        return {}
    files = {}
    for path in sorted(folder.glob("*.duckdb")):
        if path.name.startswith("."):  # a copy being published (publish.py)
            continue
        files[org_slug_checked(path.stem)] = path
    return files


def catalog_statements(files: Mapping[str, Path], schemas: Sequence[str] = BI_SCHEMAS) -> list[str]:
    """The SQL that attaches `files` ({organization: DuckDB file}) read-only and defines the
    union views of `schemas`, in order; each file is opened once to list its relations."""
    attach = [
        f"ATTACH {_literal(str(path))} AS {_identifier(org)} (READ_ONLY)"
        for org, path in sorted(files.items())
    ]
    if not files:
        return [f"CREATE SCHEMA IF NOT EXISTS {_identifier(s)}" for s in schemas]
    with duckdb.connect(":memory:") as probe:
        for statement in attach:
            probe.execute(statement)
        query = _RELATIONS.format(
            databases=", ".join(_literal(org) for org in files),
            schemas=", ".join(_literal(s) for s in schemas),
        )
        found = probe.execute(query).fetchall()
    members: dict[tuple[str, str], list[str]] = {}
    for database, schema, name in found:
        members.setdefault((schema, name), []).append(database)
    statements = [*attach, *(f"CREATE SCHEMA IF NOT EXISTS {_identifier(s)}" for s in schemas)]
    for (schema, name), databases in members.items():
        union = "\nUNION ALL BY NAME\n".join(
            f"SELECT * FROM {_identifier(db)}.{_identifier(schema)}.{_identifier(name)}"
            for db in databases
        )
        statements.append(
            f"CREATE OR REPLACE VIEW {_identifier(schema)}.{_identifier(name)} AS\n{union}"
        )
    return statements


def open_catalog(
    files: Mapping[str, Path], schemas: Sequence[str] = BI_SCHEMAS
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with `files` attached read-only and the union views defined; the
    caller closes it (closing detaches everything)."""
    con = duckdb.connect(":memory:")
    try:
        for statement in catalog_statements(files, schemas):
            con.execute(statement)
    except BaseException:
        con.close()
        raise
    return con


def write_catalog(settings: Settings) -> tuple[Path, int]:
    """Write `$QBP_HOME/catalog.sql` over every published serving copy (replaced
    atomically); the path and the number of organizations in it."""
    files = serving_files(settings)
    text = ";\n\n".join(catalog_statements(files)) + ";\n"
    target = settings.catalog_path
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    temporary.write_text(
        "-- Every organization's serving copy, attached read-only, and the marts of all of\n"
        "-- them as union views. Written by `qb-pipeline warehouse catalog`; run it again\n"
        "-- after a new organization's first sync.\n" + text
    )
    os.replace(temporary, target)
    return target, len(files)


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


__all__ = [
    "BI_SCHEMAS",
    "catalog_statements",
    "open_catalog",
    "serving_files",
    "write_catalog",
]
