"""The per-organization connection lock (refresh, connect, disconnect), held across processes.

- SQLite control DB (one machine): an exclusive `flock` on QBP_HOME/locks/<org>.lock, which
  serializes every process on this machine (web app, CLI, Dagster runs) and is released by
  the kernel if a process dies.
- Postgres control DB (any number of machines and QBP_HOMEs): a session-level advisory lock
  keyed by the organization's slug, on a connection of its own, released by the server when
  that connection ends, so a killed process never keeps it.

Every holder re-reads the connection row after acquiring it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from qb_pipeline.connections.db import LOCK_SPACE, ControlDB
from qb_pipeline.connections.orgs import check_slug
from qb_pipeline.connections.postgres import PostgresConnection
from qb_pipeline.file_locks import exclusive_file_lock

# The first half of the connection locks' advisory keys; the second is hashtext(slug). Two
# slugs with the same hash only share a lock: they wait for each other, nothing worse.
CONNECTION_LOCK_SPACE = LOCK_SPACE + 1


@dataclass(frozen=True)
class ConnectionLocks:
    """The connection locks of the organizations in one control DB."""

    db: ControlDB
    home: Path  # QBP_HOME: where the file locks live when the control DB is SQLite

    @contextmanager
    def hold(self, org_slug: str) -> Iterator[None]:
        """Hold the organization's connection lock (blocking until it is free)."""
        slug = check_slug(org_slug)
        if self.db.postgres_url is not None:
            with _advisory_lock(self.db.postgres_url, slug):
                yield
            return
        folder = Path(self.home) / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        # The slug is validated, so it is a safe file name.
        with exclusive_file_lock(folder / f"{slug}.lock"):
            yield


@contextmanager
def _advisory_lock(url: str, slug: str) -> Iterator[None]:
    holder = PostgresConnection(url)
    try:
        holder.execute("SELECT pg_advisory_lock(?, hashtext(?))", (CONNECTION_LOCK_SPACE, slug))
        try:
            yield
        finally:
            holder.execute(
                "SELECT pg_advisory_unlock(?, hashtext(?))", (CONNECTION_LOCK_SPACE, slug)
            )
    finally:
        holder.close()
