"""The SQL models of the warehouse: one `.sql` file per model, described in its header.

A model file starts with comment lines that say what it is, then holds one statement:

    -- model: marts.pnl_monthly            schema.name of the view or table
    -- materialized: table                 optional; default `view` (the body is a SELECT)
    -- description: text ...               continuation lines start with "--   "
    -- depends_on: qbo.pnl_monthly, ...    tables and views it reads
    -- optional: true                      built only once what it reads exists (below)
    -- column <name>: text ...             one per output column, in order

Views are (re)created from the SELECT; a `table` model's body is its CREATE TABLE IF NOT
EXISTS statement (data written by Python, e.g. the connection status). The column
descriptions feed Dagster's column schema and the README; tests check they match the
columns the SQL really produces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"
LAYERS: tuple[str, ...] = ("staging", "marts")

_TAG = re.compile(
    r"^--\s(model|materialized|description|depends_on|optional|column\s+(\w+)):\s?(.*)$"
)
_CONTINUATION = re.compile(r"^--\s{2,}(\S.*)$")


@dataclass(frozen=True)
class SqlModel:
    """One model: a view (or table) of the warehouse and the SQL that builds it."""

    name: str  # schema.table
    layer: str  # staging | marts
    path: Path
    sql: str
    description: str
    materialized: str = "view"
    depends_on: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)
    # An optional model reads raw tables that only some companies have (dlt creates a table
    # with its first row: a company without budgets has no budget tables); until they exist
    # it is not built, and neither are the models that read it.
    optional: bool = False

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]


class ModelFileError(ValueError):
    """A model file's header is incomplete or malformed; the message names the file."""


def parse_model(path: Path, layer: str) -> SqlModel:
    """Read one model file."""
    tags: dict[str, str] = {}
    columns: dict[str, str] = {}
    current: tuple[str, str | None] | None = None
    lines = path.read_text(encoding="utf-8").splitlines()
    body_start = len(lines)
    for index, line in enumerate(lines):
        if not line.startswith("--"):
            body_start = index
            break
        if (tag := _TAG.match(line)) is not None:
            kind, column, text = tag.group(1), tag.group(2), tag.group(3).strip()
            if column:
                columns[column] = text
                current = ("column", column)
            else:
                tags[kind] = text
                current = (kind, None)
        elif (more := _CONTINUATION.match(line)) is not None and current is not None:
            kind, column = current
            if column:
                columns[column] = f"{columns[column]} {more.group(1).strip()}"
            else:
                tags[kind] = f"{tags[kind]} {more.group(1).strip()}"
        else:
            raise ModelFileError(f"{path}: line {index + 1} is not a model header tag: {line!r}")
    sql = "\n".join(lines[body_start:]).strip().rstrip(";").strip()
    for required in ("model", "description"):
        if not tags.get(required):
            raise ModelFileError(f"{path}: the header has no '-- {required}:' line")
    if not sql:
        raise ModelFileError(f"{path}: no SQL after the header")
    name = tags["model"]
    if not re.fullmatch(r"\w+\.\w+", name):
        raise ModelFileError(f"{path}: model name {name!r} is not schema.table")
    materialized = tags.get("materialized", "view")
    if materialized not in ("view", "table"):
        raise ModelFileError(f"{path}: materialized must be view or table, not {materialized!r}")
    depends = tuple(d.strip() for d in tags.get("depends_on", "").split(",") if d.strip())
    optional = tags.get("optional", "false")
    if optional not in ("true", "false"):
        raise ModelFileError(f"{path}: optional must be true or false, not {optional!r}")
    return SqlModel(
        name=name,
        layer=layer,
        path=path,
        sql=sql,
        description=tags["description"],
        materialized=materialized,
        depends_on=depends,
        columns=columns,
        optional=optional == "true",
    )


@cache
def load_models() -> tuple[SqlModel, ...]:
    """Every model, staging before marts and each after the models it depends on."""
    found: list[SqlModel] = []
    for layer in LAYERS:
        for path in sorted((SQL_DIR / layer).glob("*.sql")):
            found.append(parse_model(path, layer))
    return tuple(_in_dependency_order(found))


def model(name: str) -> SqlModel:
    """The model called `name` (schema.table)."""
    for candidate in load_models():
        if candidate.name == name:
            return candidate
    raise KeyError(f"no SQL model {name!r}; known: {[m.name for m in load_models()]}")


def _in_dependency_order(models: list[SqlModel]) -> list[SqlModel]:
    by_name = {m.name: m for m in models}
    ordered: list[SqlModel] = []
    visiting: set[str] = set()

    def visit(item: SqlModel) -> None:
        if item in ordered:
            return
        if item.name in visiting:
            raise ModelFileError(f"{item.path}: dependency cycle through {item.name}")
        visiting.add(item.name)
        for dependency in item.depends_on:
            if dependency in by_name:
                visit(by_name[dependency])
        visiting.discard(item.name)
        ordered.append(item)

    for layer in LAYERS:
        for item in models:
            if item.layer == layer:
                visit(item)
    return ordered


@dataclass(frozen=True)
class DocumentedRelation:
    """A relation of the warehouse that another step writes (the goal values), described the
    way model headers describe theirs, for the reference."""

    name: str  # schema.table
    kind: str  # view or table
    description: str
    columns: dict[str, str]


def markdown_reference(layer: str | None = None, extra: tuple[DocumentedRelation, ...] = ()) -> str:
    """Every model (of one layer) and the `extra` relations with their columns as Markdown,
    in name order: the generated part of docs/warehouse.md."""
    documented = [
        DocumentedRelation(m.name, m.materialized, m.description, m.columns)
        for m in load_models()
        if layer is None or m.layer == layer
    ]
    parts: list[str] = []
    for item in sorted([*documented, *extra], key=lambda d: d.name):
        parts.append(f"#### `{item.name}` ({item.kind})\n\n{item.description}\n")
        parts.append("| column | meaning |\n|---|---|")
        parts.extend(f"| `{name}` | {text} |" for name, text in item.columns.items())
        parts.append("")
    return "\n".join(parts)


def comment_statements(item: SqlModel, name: str | None = None) -> list[str]:
    """COMMENT ON statements that put the model's header into the warehouse's catalog, where
    BI tools (DBeaver, the DuckDB CLI's `duckdb_columns()`, psql's `\\d+`) show them; `name`:
    the relation's name where it is created (default: the model's own)."""
    kind = "VIEW" if item.materialized == "view" else "TABLE"
    name = name or item.name
    statements = [f"COMMENT ON {kind} {name} IS {_literal(item.description)}"]
    statements += [
        f'COMMENT ON COLUMN {name}."{column}" IS {_literal(text)}'
        for column, text in item.columns.items()
    ]
    return statements


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
