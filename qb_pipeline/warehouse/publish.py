"""The serving copy: the read-only DuckDB file BI tools open, never the one the pipeline writes.

DuckDB allows one writing process, and a BI tool holding the warehouse open (even read-only)
would stop the next sync. So after every successful run the warehouse is copied, whole, to
`serving.duckdb` beside it, and the copy replaces the previous one atomically:

1. with the writer's connection open (no other process can open the file meanwhile), a
   CHECKPOINT moves everything from the write-ahead log into the database file;
2. the file is copied to a temporary file in the serving file's folder, flushed to disk, and
   opened read-only once to prove it is a readable database;
3. `os.replace` puts it in place. A reader that has the old file open keeps reading the old
   data (the old file lives on until it closes it); a reader opening afterwards sees the new.

BI tools connect with read-only access, for example `duckdb -readonly $QBP_HOME/serving.duckdb`,
DBeaver's DuckDB driver with `duckdb.read_only=true`, or
`duckdb.connect(path, read_only=True)` in Python.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

TEMP_SUFFIX = ".publishing"

COUNT_TABLES = """
SELECT table_schema, count(*) AS tables
FROM information_schema.tables
GROUP BY table_schema
ORDER BY table_schema
"""


@dataclass(frozen=True)
class Published:
    """What a publication produced."""

    path: Path
    size_bytes: int
    tables_by_schema: dict[str, int]
    published_at: datetime
    seconds: float


def publish(writer: duckdb.DuckDBPyConnection, warehouse: Path, serving: Path) -> Published:
    """Replace `serving` with a copy of `warehouse`, whose only writer is `writer` (open).

    The caller keeps `writer` open until this returns, so no other process can change the
    file while it is copied.
    """
    started = time.monotonic()
    writer.execute("CHECKPOINT")
    serving.parent.mkdir(parents=True, exist_ok=True)
    temporary = serving.with_name(f".{serving.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
    try:
        shutil.copyfile(warehouse, temporary)
        with open(temporary, "rb+") as copied:
            os.fsync(copied.fileno())
        tables = _tables_by_schema(temporary)
        os.replace(temporary, serving)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    _sync_folder(serving.parent)
    return Published(
        path=serving,
        size_bytes=serving.stat().st_size,
        tables_by_schema=tables,
        published_at=datetime.now(UTC),
        seconds=time.monotonic() - started,
    )


def remove_leftovers(serving: Path) -> list[Path]:
    """Delete temporary copies an interrupted publication left beside `serving`."""
    removed = []
    for leftover in serving.parent.glob(f".{serving.name}.*{TEMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
            removed.append(leftover)
    return removed


def _tables_by_schema(path: Path) -> dict[str, int]:
    """Open the copy read-only once: a copy DuckDB cannot read is never published."""
    with duckdb.connect(str(path), read_only=True) as copy:
        return dict(copy.execute(COUNT_TABLES).fetchall())


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (the folder's entry), where the platform allows it."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
