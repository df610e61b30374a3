"""A full disk (or a file size limit) during a sync, told in one line.

Whatever runs out of room (dlt's load files, the DuckDB warehouse or its WAL, the serving copy),
the error arrives wrapped in dlt's and DuckDB's own exceptions: dlt's retry error carries the
last failure only as text (a whole traceback), followed by advice for dlt's command line that
does not apply here. So the error chain is searched for what the operating system said (an
OSError's errno, or DuckDB's "Could not write file "<path>": <reason>"), and the sync's message
becomes one line: what ran out of room, where, and what to do. The sync can simply run again
once there is room: dlt keeps the unfinished load package and the next sync completes it.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

# What the kernel says when a write finds no room: a full disk, a quota, a file size limit
# (RLIMIT_FSIZE, with SIGXFSZ ignored, makes write() fail with EFBIG).
NO_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
NO_SPACE_TEXT = ("No space left on device", "Disk quota exceeded", "File too large")
# DuckDB: `Could not write file "/path/warehouse.duckdb.wal": No space left on device`.
_DUCKDB_WRITE = re.compile(
    r'Could not write (?:to )?file "(?P<path>[^"]+)": (?P<reason>' + "|".join(NO_SPACE_TEXT) + ")"
)
_ANY_TEXT = re.compile("|".join(NO_SPACE_TEXT))


def no_space_message(error: BaseException, home: Path) -> str | None:
    """The one-line message for `error` if it (or an error inside it) is a write that found no
    room; None for any other error."""
    found = _find(error)
    if found is None:
        return None
    path, reason = found
    where = f"{describe(path, home)} ({path}: {reason})" if path else f"({reason})"
    return (
        f"no space left writing {where}; free disk space under {home} (or raise the file "
        "size limit) and run the sync again"
    )


def describe(path: str, home: Path) -> str:
    """What a file under QBP_HOME is, in the operator's words."""
    try:
        relative = Path(path).resolve().relative_to(Path(home).resolve())
    except ValueError:
        return "a file"
    parts = relative.parts
    top = parts[0] if parts else ""
    if top == "orgs" and len(parts) >= 3:  # orgs/<org>/warehouse.duckdb, orgs/<org>/dlt/...
        if parts[2].startswith("warehouse.duckdb"):
            return f"the warehouse of {parts[1]}"
        if parts[2] == "dlt":
            return f"dlt's load files of {parts[1]}"
    if top == "serving" and len(parts) >= 2:  # serving/<org>.duckdb, .<org>.duckdb.<id>...
        return f"the serving copy of {parts[1].lstrip('.').split('.duckdb')[0]}"
    if top == "dagster":
        return "Dagster's run storage"
    if top.startswith("control.sqlite3"):
        return "the control DB"
    return "a file"


def _find(error: BaseException) -> tuple[str | None, str] | None:
    """(path or None, the system's words) of the first no-room write in the error chain."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in NO_SPACE_ERRNOS:
            return current.filename and str(current.filename), current.strerror or "no space"
        text = str(current)
        match = _DUCKDB_WRITE.search(text)
        if match:
            return match.group("path"), match.group("reason")
        if isinstance(current, OSError) and (words := _ANY_TEXT.search(text)):
            return None, words.group(0)
        inner = getattr(current, "exception", None)
        current = (
            inner
            if isinstance(inner, BaseException)
            else (current.__cause__ or current.__context__)
        )
    return None
