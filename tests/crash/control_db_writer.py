"""Another writer of the control DB, as the web app and Dagster runs are: short write
transactions one after the other (each an UPDATE and a COMMIT), until it is killed.

Usage: python -m tests.crash.control_db_writer CONTROL_DB_PATH

The crash harness runs it beside a refreshing process to show what a refresh's COMMIT waits for
when other writers are busy.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(path: str) -> None:
    from qb_pipeline.connections.db import open_db, to_text, transaction, utcnow

    print("ready", flush=True)
    with open_db(Path(path)) as conn:
        while True:
            with transaction(conn):
                conn.execute("UPDATE integration_settings SET updated_at = ?", (to_text(utcnow()),))


if __name__ == "__main__":
    main(sys.argv[1])
