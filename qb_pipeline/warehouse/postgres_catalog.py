"""The operator's cross-organization catalog on a Postgres warehouse: a schema `qbp_operator`
with a view per mart (goal views included) that unions that mart of every organization.

The Postgres counterpart of catalog.py. Every organization's marts are in its own schema
`marts_<org>` of the one database (dialect.py), so the operator's question "which
organizations are stale" needs one view over all of them. The views are rebuilt in one
transaction (a reader sees the old set or the new one), own nothing but the union, and
are granted to no one: the URL's user (the operator) reads them, no tenant's BI role can.
`qbp_` is none of the organizations' schema prefixes, so no slug can name this schema.
"""

from __future__ import annotations

from collections import defaultdict

from qb_pipeline.warehouse.dialect import POSTGRES_PREFIXES
from qb_pipeline.warehouse.postgres import connect

OPERATOR_SCHEMA = "qbp_operator"
_MARTS_PREFIX = POSTGRES_PREFIXES["marts"] + "_"

# Every relation of every organization's marts schema, with its columns in order.
_MART_COLUMNS = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname LIKE %s AND c.relkind IN ('r', 'v', 'm', 'p')
ORDER BY n.nspname, c.relname, a.attnum
"""


def catalog_views(url: str) -> tuple[int, int]:
    """Rebuild the schema OPERATOR_SCHEMA of the Postgres warehouse `url`; returns how many
    organizations and views it holds."""
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(_MART_COLUMNS, [_MARTS_PREFIX.replace("_", r"\_") + "%"])
            found = cursor.fetchall()
            statements = union_views(found)
            organizations = len({schema for schema, *_rest in found})
            cursor.execute("BEGIN")
            try:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{OPERATOR_SCHEMA}" CASCADE')
                cursor.execute(f'CREATE SCHEMA "{OPERATOR_SCHEMA}"')
                for statement in statements:
                    cursor.execute(statement)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
    finally:
        connection.close()
    return organizations, len(statements)


def union_views(found: list[tuple[str, str, str, str]]) -> list[str]:
    """CREATE VIEW statements from (schema, relation, column, type) rows: each relation's
    columns are those the organizations' copies have, in the order first seen; a copy
    without one (a mart from before an upgrade) gives NULL there."""
    members: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for schema, relation, column, kind in found:
        members[relation].setdefault(schema, {})[column] = kind
    statements = []
    for relation, schemas in sorted(members.items()):
        columns: dict[str, str] = {}
        for kinds in schemas.values():
            for column, kind in kinds.items():
                columns.setdefault(column, kind)
        selects = [
            "SELECT "
            + ", ".join(
                _identifier(c) if c in kinds else f"CAST(NULL AS {t}) AS {_identifier(c)}"
                for c, t in columns.items()
            )
            + f" FROM {_identifier(schema)}.{_identifier(relation)}"
            for schema, kinds in sorted(schemas.items())
        ]
        statements.append(
            f"CREATE VIEW {_identifier(OPERATOR_SCHEMA)}.{_identifier(relation)} AS\n"
            + "\nUNION ALL\n".join(selects)
        )
    return statements


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


__all__ = ["OPERATOR_SCHEMA", "catalog_views", "union_views"]
