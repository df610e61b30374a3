"""Reading the serving copy: how the web app, the JSON API and the CLI read imported data and
goal values, never from the warehouse the pipeline writes (publish.py says why).

The copy is opened read-only for one unit of work and closed again, so a reader never holds
a file the next publish replaces for longer than it needs; a copy that cannot be opened (it
does not exist yet, or it is being replaced this instant) is a note, not an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

NOT_PUBLISHED = "nothing has been imported yet (the first sync publishes it)"


@dataclass(frozen=True)
class ServingCopy:
    """A read-only connection to the serving copy, or why there is none."""

    con: duckdb.DuckDBPyConnection | None
    note: str | None = None


@contextmanager
def serving_copy(path: Path) -> Iterator[ServingCopy]:
    """The serving copy at `path` opened read-only for the duration of the block."""
    if not path.exists():
        yield ServingCopy(None, NOT_PUBLISHED)
        return
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        reason = " ".join(str(error).split())[:200]
        yield ServingCopy(None, f"the imported data cannot be read now ({reason})")
        return
    try:
        yield ServingCopy(con)
    finally:
        con.close()


ATTACHED_AS = "serving"


@contextmanager
def attached_serving_copy(path: Path) -> Iterator[ServingCopy]:
    """An in-memory DuckDB with the serving copy attached read-only as `serving`: a place to
    compute from the published data (a goal's preview) without writing anything to it."""
    if not path.exists():
        yield ServingCopy(None, NOT_PUBLISHED)
        return
    con = duckdb.connect(":memory:")
    try:
        try:
            con.execute(f"ATTACH '{_quoted(path)}' AS {ATTACHED_AS} (READ_ONLY)")
        except duckdb.Error as error:
            reason = " ".join(str(error).split())[:200]
            yield ServingCopy(None, f"the imported data cannot be read now ({reason})")
            return
        yield ServingCopy(con)
    finally:
        con.close()


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


__all__ = ["ATTACHED_AS", "NOT_PUBLISHED", "ServingCopy", "attached_serving_copy", "serving_copy"]
