"""The statements in qb_pipeline/goals/sql/, read once."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def sql_text(name: str) -> str:
    """The text of qb_pipeline/goals/sql/`name`."""
    folder = resources.files("qb_pipeline.goals").joinpath("sql")
    return folder.joinpath(name).read_text(encoding="utf-8")


__all__ = ["sql_text"]
