"""The per-organization refresh lock, held across processes.

Today: an exclusive `flock` on QBP_HOME/locks/<org>.lock, which serializes every process on
this machine (web app, CLI, Dagster runs) and is released by the kernel if a process dies.
Every holder re-reads the connection row after acquiring it. When the control DB moves to
Postgres for several machines, this one function becomes a `pg_advisory_lock` keyed by the
organization; callers do not change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qb_pipeline.connections.orgs import check_slug
from qb_pipeline.file_locks import exclusive_file_lock


@contextmanager
def connection_lock(home: Path, org_slug: str) -> Iterator[None]:
    """Hold the organization's connection lock (blocking until it is free)."""
    folder = Path(home) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    # The slug is validated, so it is a safe file name.
    with exclusive_file_lock(folder / f"{check_slug(org_slug)}.lock"):
        yield
