"""One property's values across an entity, parsed once into comparable form."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from qb_pipeline.sandbox.accounting.query.errors import invalid
from qb_pipeline.sandbox.accounting.query.parser import Literal

NO_MATCH = object()  # a literal that equals nothing (e.g. Id = 'abc')
_DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def _instant(text: str, tz: ZoneInfo) -> float | None:
    """Seconds since the epoch; text without an offset is read in the company's zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def _raw_values(records: list[dict], path: tuple[str, ...]) -> list:
    """The value at `path` in every record (None where absent); a Ref gives its id."""
    if len(path) == 1:
        key = path[0]
        raw = [record.get(key) for record in records]
    elif len(path) == 2:
        outer, inner = path
        raw = [
            parent.get(inner) if isinstance(parent := record.get(outer), dict) else None
            for record in records
        ]
    else:
        raw = []
        for record in records:
            value: object = record
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            raw.append(value)
    sample = next((value for value in raw if value is not None), None)
    if isinstance(sample, dict) and "value" in sample:
        raw = [value.get("value") if isinstance(value, dict) else value for value in raw]
    return raw


def _kind_of(path: tuple[str, ...], sample: object) -> str:
    if sample is None:
        return "empty"
    if isinstance(sample, bool):
        return "bool"
    if isinstance(sample, int | float):
        return "number"
    if isinstance(sample, dict):
        return "object"
    if isinstance(sample, list):
        return "list"
    text = str(sample)
    if path == ("Id",):
        return "id"
    if _DATETIME_TEXT.match(text):
        return "datetime"
    if _DATE_TEXT.match(text):
        return "date"
    return "text"


def _normalizer(kind: str, tz: ZoneInfo) -> Callable[[object], object]:
    """How a stored value of a column of `kind` becomes a comparable value (None: absent)."""

    parse = datetime.fromisoformat

    def as_datetime(value: object) -> object:
        # Inlined _instant: this runs once per record when a column is built.
        if value.__class__ is not str:
            return None
        try:
            moment = parse(value)  # type: ignore[arg-type]
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        return moment.timestamp()

    def as_number(value: object) -> object:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return value
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None

    def as_bool(value: object) -> object:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return None

    def as_id(value: object) -> object:
        text = str(value) if value is not None else ""
        return int(text) if text.isdigit() else None

    def as_text(value: object) -> object:
        if value is None or isinstance(value, dict | list):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value).casefold()

    return {
        "datetime": as_datetime,
        "number": as_number,
        "bool": as_bool,
        "id": as_id,
    }.get(kind, as_text)


# Sort encodings put absent values below every present one, keeping keys of one type.
_SORT_FLOOR: dict[str, object] = {
    "datetime": float("-inf"),
    "number": float("-inf"),
    "bool": -1,
    "id": -1,
    "date": "",
    "text": "",
    "empty": 0,
}


class Column:
    def __init__(self, path: tuple[str, ...], records: list[dict], tz: ZoneInfo) -> None:
        raw = _raw_values(records, path)
        sample = next((value for value in raw if value is not None), None)
        self.path = path
        self.kind = _kind_of(path, sample)
        normalize = _normalizer(self.kind, tz)
        self.values: list = list(map(normalize, raw))  # each normalizer maps None to None
        self.has_none = None in self.values
        self._sort_keys: list | None = None

    def sort_keys(self) -> list:
        if self._sort_keys is None:
            floor = _SORT_FLOOR.get(self.kind, 0)
            self._sort_keys = [floor if v is None else v for v in self.values]
        return self._sort_keys

    def literal(self, literal: Literal, tz: ZoneInfo) -> object:
        """A written value in this column's comparable form; 4001 if it cannot be one."""
        kind, value = literal.kind, literal.value
        name = ".".join(self.path)
        if self.kind == "datetime":
            instant = _instant(str(value), tz) if kind == "string" else None
            if instant is None:
                raise invalid(f"value {value!r} is not a valid date-time for property {name}")
            return instant
        if self.kind == "number":
            if kind == "bool":
                raise invalid(f"value {value} is not a valid number for property {name}")
            try:
                return float(value)
            except ValueError:
                raise invalid(
                    f"value {value!r} is not a valid number for property {name}"
                ) from None
        if self.kind == "bool":
            if kind == "bool":
                return value
            if kind == "string" and str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise invalid(f"value {value!r} is not a valid boolean for property {name}")
        if self.kind == "id":
            text = str(value)
            return int(text) if text.isdigit() else NO_MATCH
        if kind == "bool":
            return "true" if value else "false"
        text = str(value)
        if self.kind == "date" and _DATETIME_TEXT.match(text):
            text = text[:10]  # a date-time literal against a date property compares its date
        return text.casefold()
