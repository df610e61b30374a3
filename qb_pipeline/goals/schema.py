"""The JSON Schema of goal files, generated from the pydantic model (never edited by hand).

    qb-pipeline goals schema          # writes goal_models/schema/goal.schema.json

Editors use it for completion and checks, e.g. with the YAML language server by starting a
goal file with `# yaml-language-server: $schema=../schema/goal.schema.json`. It checks
the shape of a goal only; the rules between fields and the checks against imported data
are `qb-pipeline goals validate`'s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from qb_pipeline.goals.definition import GoalDefinition

SCHEMA_ID = "https://github.com/qb-goals/qb-goals/goal_models/schema/goal.schema.json"
SCHEMA_FILE = Path("schema") / "goal.schema.json"


def goal_file_schema() -> dict[str, Any]:
    """A goal file holds one goal or a list of goals."""
    adapter = TypeAdapter(GoalDefinition | list[GoalDefinition])
    schema = adapter.json_schema(ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "QuickBooks Goal file",
        "description": "One QuickBooks Goal, or a list of them. Generated from "
        "qb_pipeline/goals/definition.py by `qb-pipeline goals schema`; see goal_models/README.md.",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(goal_file_schema(), indent=2, sort_keys=False) + "\n"


def write_schema(goals_dir: Path) -> Path:
    """Write the schema into `goals_dir`/schema/goal.schema.json; returns the path."""
    path = goals_dir / SCHEMA_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(), encoding="utf-8")
    return path


__all__ = ["SCHEMA_FILE", "goal_file_schema", "schema_text", "write_schema"]
