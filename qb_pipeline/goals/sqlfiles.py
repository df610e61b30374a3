"""The statements in qb_pipeline/goals/sql/, read once, and running a file of several."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import duckdb

_PARAMETER = re.compile(r"\$(\w+)")


@cache
def sql_text(name: str) -> str:
    """The text of qb_pipeline/goals/sql/`name`."""
    folder = resources.files("qb_pipeline.goals").joinpath("sql")
    return folder.joinpath(name).read_text(encoding="utf-8")


@cache
def sql_statements(name: str) -> tuple[str, ...]:
    """The statements of a file of several, each ending with `;` at the end of a line (the
    files never hold a semicolon elsewhere)."""
    parts = re.split(r";\s*$", sql_text(name), flags=re.MULTILINE)
    return tuple(_without_leading_comments(part) for part in parts if _has_code(part))


def _without_leading_comments(statement: str) -> str:
    lines = statement.strip().splitlines()
    while lines and lines[0].lstrip().startswith("--"):
        lines.pop(0)
    return "\n".join(lines).strip()


def run_script(con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any]) -> None:
    """Execute every statement of `name` in order, each with the parameters it names
    (DuckDB prepares one statement at a time and refuses parameters a statement lacks)."""
    for statement in sql_statements(name):
        wanted = set(_PARAMETER.findall(statement))
        con.execute(statement, {key: value for key, value in params.items() if key in wanted})


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


__all__ = ["run_script", "sql_statements", "sql_text"]
