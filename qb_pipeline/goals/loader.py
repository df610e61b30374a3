"""Load goal files: YAML files or folders of them, one goal or a list of goals per file.

Loading never stops at the first problem: a YAML syntax error loses that file only, a bad
goal loses that goal only, and every problem is reported with its file and line (see
problems.py). Ids are unique within an organization: when two goals share one, the first
(in path order) is kept and the later one is reported.

Hostile files. Goal files are written by people and by the web app, and every goals page
and sync reads all of them, so one file must never cost more than a moment or break
anything but itself. Each is read with YAML's safe loader, and:

- a file over MAX_FILE_BYTES is refused without being parsed;
- anchors and aliases (`&name`, `*name`) are allowed, bounded: in all, a file's aliases
  may repeat at most ALIAS_NODES_LIMIT YAML nodes, and an alias may not sit inside the
  value it names. The node tree is checked before anything is built from it, so an alias
  bomb (a few hundred bytes that expand to billions of values) is refused in milliseconds;
- values may nest at most MAX_DEPTH levels;
- timestamps are kept as the text written, for the schema to read: an impossible date or
  time (2026-02-30, hour 25) is a problem of its field, with its line, like any bad value;
- a scalar YAML cannot turn into a value (an integer of more than 4,300 digits) is a YAML
  error on its line.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.problems import ERROR, FieldIssue, Problem, goal_label, listing, show
from qb_pipeline.goals.rules import rule_issues

SUFFIXES = (".yaml", ".yml")
# A file of a thousand goals is ~300 KB; anything much larger is not a goal file.
MAX_FILE_BYTES = 1_000_000
# YAML nodes the aliases of one file may repeat, in all. PyYAML's own dumper writes an
# alias for every object it meets twice: 192 goals sharing their `tracks` repeat about
# 1,100 nodes, so a file of a thousand such goals fits. An alias bomb stops here within
# microseconds, and what fits costs about 20 ms to read.
ALIAS_NODES_LIMIT = 10_000
# A goal nests about six levels (a formula item's line's group); lists of goals add one.
MAX_DEPTH = 64

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _GoalYamlLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe YAML that refuses a key given twice (plain YAML silently keeps the last), keeps
    timestamps as text and says on which line a scalar cannot be read."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as error:
            # int() of a very long number, and the like: the scalar's own line.
            text = str(getattr(node, "value", ""))
            shown = show(text)
            if len(text) > 40:
                shown = f"{show(text[:20])}... ({len(text):,} characters)"
            reason = str(error).split(";")[0]
            raise yaml.constructor.ConstructorError(
                None, None, f"the value {shown} cannot be read: {reason}", node.start_mark
            ) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first_node = seen.get(key)
            except TypeError:  # an unhashable key: the base class says so
                continue
            if first_node is not None:
                first = first_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first given on line {first})",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _timestamp_text(loader: yaml.BaseLoader, node: yaml.ScalarNode) -> str:
    # PyYAML builds dates itself and raises a bare ValueError on 2026-02-30; as text, the
    # schema reads it and names the field.
    return loader.construct_scalar(node)


_GoalYamlLoader.add_constructor(_TIMESTAMP_TAG, _timestamp_text)


class _Refused(Exception):
    """A file refused before anything is built from it (too large, an alias bomb)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _load_yaml(text: str) -> Any:
    """The file's data, with its node tree checked first (`_check_tree`)."""
    loader = _GoalYamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_tree(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_tree(root: yaml.Node) -> None:
    """Refuse a node tree whose aliases repeat more than ALIAS_NODES_LIMIT nodes, whose
    alias sits inside the value it names, or that nests deeper than MAX_DEPTH.

    An alias is the very node of its anchor, met again: each node's size with its aliases
    expanded is counted once and remembered, so the check costs the distinct nodes only."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    repeated = 0

    def size_of(node: yaml.Node, depth: int) -> int:
        nonlocal repeated
        key = id(node)
        if key in sizes:  # an alias: everything below it is repeated
            repeated += sizes[key]
            if repeated > ALIAS_NODES_LIMIT:
                raise _Refused(
                    f"YAML aliases (*name) repeat more than {ALIAS_NODES_LIMIT:,} nodes in "
                    "all (an alias bomb?); the file is not read",
                    node.start_mark.line + 1,
                )
            return sizes[key]
        if key in open_nodes:
            raise _Refused(
                "a YAML alias (*name) sits inside the value it names (a recursive value); "
                "the file is not read",
                node.start_mark.line + 1,
            )
        if depth > MAX_DEPTH:
            raise _Refused(
                f"values nest more than {MAX_DEPTH} levels deep; the file is not read",
                node.start_mark.line + 1,
            )
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size_of(child, depth + 1)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                total += size_of(key_node, depth + 1) + size_of(value_node, depth + 1)
        open_nodes.discard(key)
        sizes[key] = total
        return total

    size_of(root, 0)


@dataclass(frozen=True)
class SourcedGoal:
    """A goal that passed the schema and the rules, with where it was written."""

    goal: GoalDefinition
    file: str
    index: int | None  # position in the file's list, None when the file holds one goal
    lines: _LineFinder | None = field(default=None, compare=False, repr=False)

    @property
    def line(self) -> int | None:
        """The goal's first line (found only when asked: it needs the YAML node tree)."""
        return self.lines.line(self.index, ()) if self.lines is not None else None

    def line_of(self, field_path: str) -> int | None:
        """The line of a field (dotted path) of this goal, or the goal's first line."""
        if self.lines is None or not field_path:
            return self.line
        return self.lines.line(self.index, tuple(field_path.split("."))) or self.line


@dataclass
class LoadResult:
    goals: list[SourcedGoal] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


def discover(paths: Iterable[Path | str]) -> tuple[list[Path], list[Problem]]:
    """The goal files named by `paths` (files, or folders searched recursively), sorted."""
    files: list[Path] = []
    problems: list[Problem] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), "no such file or folder"))
    return list(dict.fromkeys(files)), problems


def load_goals(paths: Iterable[Path | str]) -> LoadResult:
    """Every goal in `paths`, and every problem found on the way."""
    files, problems = discover(paths)
    result = LoadResult(problems=problems, files=[str(f) for f in files])
    first_seen: dict[tuple[str, str], SourcedGoal] = {}
    for path in files:
        goals, file_problems = load_file(path)
        result.problems += file_problems
        for sourced in goals:
            key = (sourced.goal.organization, sourced.goal.id)
            if key in first_seen:
                result.problems.append(_duplicate(sourced, first_seen[key]))
                continue
            first_seen[key] = sourced
            result.goals.append(sourced)
    return result


def load_mapping(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A YAML (or JSON) file that holds one mapping, read as goal files are (duplicate keys
    refused); None and the problems when it is not one."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_GoalYamlLoader)
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(name, f"cannot be read: {error}")]
    except yaml.YAMLError as error:
        return None, [_syntax_problem(name, error)]
    if not isinstance(data, dict):
        return None, [Problem(name, f"expected a mapping of goal fields, not {_kind(data)}")]
    return data, []


def load_file(path: Path) -> tuple[list[SourcedGoal], list[Problem]]:
    """The goals of one file; syntax errors lose the file, bad goals only themselves."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], [Problem(name, f"is {size:,} bytes, larger than a goal file may be "
                                f"({MAX_FILE_BYTES:,} bytes); the file is not read")]  # fmt: skip
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [], [Problem(name, f"cannot be read: {error}")]
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as error:
        return [], [_syntax_problem(name, error)]
    except _Refused as refused:
        return [], [Problem(name, refused.message, line=refused.line)]
    if data is None:
        return [], [Problem(name, "is empty; expected a goal (a mapping) or a list of goals")]
    if isinstance(data, dict):
        entries: list[tuple[int | None, Any]] = [(None, data)]
    elif isinstance(data, list):
        entries = list(enumerate(data))
    else:
        return [], [
            Problem(name, f"expected a goal (a mapping) or a list of goals, not {_kind(data)}")
        ]
    lines = _LineFinder(text)
    goals: list[SourcedGoal] = []
    problems: list[Problem] = []
    for index, raw in entries:
        goal, issues = parse_goal(raw)
        label = goal_label(raw.get("id") if isinstance(raw, dict) else None, index)
        for issue in issues:
            problems.append(
                Problem(
                    name,
                    issue.message,
                    goal=label,
                    field=issue.field or None,
                    line=lines.line(index, issue.loc or ()),
                    severity=issue.severity,
                )
            )
        if goal is not None and not any(i.severity == ERROR for i in issues):
            goals.append(SourcedGoal(goal, name, index, lines))
    return goals, problems


def parse_goal(raw: Any) -> tuple[GoalDefinition | None, list[FieldIssue]]:
    """Check one goal's data against the schema, then the rules between its fields."""
    if not isinstance(raw, dict):
        return None, [FieldIssue("", f"expected a goal (a mapping), not {_kind(raw)}")]
    try:
        goal = GoalDefinition.model_validate(raw)
    except ValidationError as error:
        return None, schema_issues(error)
    return goal, rule_issues(goal)


# -- turning pydantic's errors into the user's words ---------------------------------------

_PATTERN_HINTS = {
    "id": "is not a valid goal id; use 1-64 of a-z, 0-9, '-' and '_', starting with a-z or 0-9",
    "organization": "is not an organization slug (2-40 of a-z, 0-9 and '-')",
    "account_id": "is not a QuickBooks id",
    "class_id": "is not a QuickBooks id",
    "department_id": "is not a QuickBooks id",
}
_DERIVED = {
    "aggregation": "is derived from the dataset, never configured (flows are summed, "
    "balances are read at period end, formulas are recomputed from their parts); remove it",
}


def schema_issues(error: ValidationError) -> list[FieldIssue]:
    issues = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
            message = _key_message(loc, item)
        else:
            message = _message(loc, item)
        issues.append(FieldIssue(".".join(map(str, loc)), message, loc=loc))
    return issues


def _key_message(loc: tuple, item: dict) -> str:
    key = loc[-1] if loc else item["input"]
    if len(loc) >= 2 and loc[-2] == "items":
        return (
            f"{show(key)} is not a valid item name; use a-z, 0-9 and '_', not starting with a digit"
        )
    if len(loc) >= 2 and loc[-2] == "per_period":
        return _not_a_date(key, "a date", "YYYY-MM-DD")
    return f"{show(key)}: {item['msg']}"


def _message(loc: tuple, item: dict) -> str:
    kind, value, ctx = item["type"], item.get("input"), item.get("ctx") or {}
    name = loc[-1] if loc else ""
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        if name in _DERIVED:
            return _DERIVED[str(name)]
        allowed = _fields_at(loc[:-1])
        return f"is not a known field; allowed here: {listing(allowed, 40)}"
    if kind == "literal_error":
        return f"{show(value)} is not allowed; allowed: {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"{show(value)} {_PATTERN_HINTS.get(str(name), 'has the wrong form')}"
    if kind == "value_error":
        return str(ctx.get("error") or item["msg"]).removeprefix("Value error, ")
    if kind == "finite_number":
        return f"{show(value)} is not a finite number"
    if kind in ("float_parsing", "float_type"):
        return f"{show(value)} is not a number"
    if kind in ("bool_parsing", "bool_type"):
        return f"{show(value)} is not true or false"
    if kind in ("string_type",):
        return f"{show(value)} is not text"
    if kind.startswith("datetime_"):
        return _not_a_date(value, "a date and time", "YYYY-MM-DDTHH:MM:SS")
    if kind.startswith("date_"):
        return _not_a_date(value, "a date", "YYYY-MM-DD")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        allowed = _fields_at(loc)
        expected = f"a mapping with {listing(allowed, 40)}" if allowed else "a mapping"
        return f"{show(value)} is not {expected}"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{show(value)} must be between 0 and 100"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind in ("too_long", "string_too_long"):
        return f"is too long (at most {ctx.get('max_length')} characters)"
    return f"{show(value)}: {item['msg']}"


def _not_a_date(value: Any, what: str, form: str) -> str:
    """ "'2026-02-30' is not a date (day is out of range for month); use YYYY-MM-DD"."""
    reason = ""
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError as error:
            if "Invalid isoformat" not in str(error):  # a real date's parts out of range
                reason = f" ({error})"
    return f"{show(value)} is not {what}{reason}; use {form}"


def _fields_at(loc: tuple) -> list[str]:
    """The field names of the model found at `loc` inside a goal (for 'allowed here')."""
    model: Any = GoalDefinition
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        info = model.model_fields.get(str(part))
        if info is None:
            return []
        model = _unwrap(info.annotation)
        if typing.get_origin(model) is dict:
            model = typing.get_args(model)[1]
            if parts:
                parts.pop(0)  # the key
            model = _unwrap(model)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
            if typing.get_origin(arg) is dict:
                return arg
    return annotation


# -- where things are in the file -----------------------------------------------------------


def _syntax_problem(name: str, error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    detail = getattr(error, "problem", None) or str(error)
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context:
        started = f" on line {context_mark.line + 1}" if context_mark is not None else ""
        detail = f"{detail} ({context}{' started' if started else ''}{started})"
    column = f" (column {mark.column + 1})" if mark is not None else ""
    # A key given twice is well-formed YAML, refused by us: not a syntax error.
    kind = (
        "YAML error"
        if isinstance(error, yaml.constructor.ConstructorError)
        else "YAML syntax error"
    )
    return Problem(name, f"{kind}{column}: {detail}", line=line)


class _LineFinder:
    """Line numbers of fields, from the YAML node tree (composed only when needed)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._root: yaml.Node | None = None
        self._composed = False

    def line(self, index: int | None, loc: tuple) -> int | None:
        if not self._composed:
            self._composed = True
            try:
                self._root = yaml.compose(self._text, Loader=_BaseLoader)
            except yaml.YAMLError:
                self._root = None
        node = self._root
        if node is None:
            return None
        if index is not None:
            if not isinstance(node, yaml.SequenceNode) or index >= len(node.value):
                return None
            node = node.value[index]
        line = node.start_mark.line + 1
        for part in loc:
            if not isinstance(node, yaml.MappingNode):
                break
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    line, node = key_node.start_mark.line + 1, value_node
                    break
            else:
                break
        return line


def _duplicate(later: SourcedGoal, first: SourcedGoal) -> Problem:
    where = f"{first.file}:{first.line}" if first.line else first.file
    return Problem(
        later.file,
        f"{show(later.goal.id)} is already used by the goal in {where} (ids are unique "
        f"within organization {later.goal.organization!r}); this goal is skipped",
        goal=repr(later.goal.id),
        field="id",
        line=later.line,
    )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {show(value)}"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


__all__ = [
    "LoadResult",
    "SourcedGoal",
    "discover",
    "load_file",
    "load_goals",
    "load_mapping",
    "parse_goal",
]
