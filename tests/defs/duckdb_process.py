"""Another process holding a DuckDB file open, as a BI tool or a notebook would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json, sys, duckdb
path, read_only = sys.argv[1], sys.argv[2] == "ro"
connection = duckdb.connect(path, read_only=read_only)
print(json.dumps("open"), flush=True)
for line in sys.stdin:
    command, _, sql = line.rstrip("\n").partition(" ")
    if command == "query":
        rows = connection.execute(sql).fetchall()
        print(json.dumps([[str(value) for value in row] for row in rows]), flush=True)
    elif command == "reopen":
        connection.close()
        connection = duckdb.connect(path, read_only=read_only)
        print(json.dumps("open"), flush=True)
    else:
        break
"""


class DuckDBProcess:
    """`DuckDBProcess(path, read_only=True)` opens the file in a child process and keeps it
    open until `close()`; `query(sql)` runs a query there; `reopen()` reconnects."""

    def __init__(self, path: Path, read_only: bool) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), "ro" if read_only else "rw"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid = self.process.pid
        assert self._answer() == "open"

    def query(self, sql: str) -> list[list[str]]:
        self._send(f"query {sql}")
        return self._answer()

    def reopen(self) -> None:
        self._send("reopen")
        assert self._answer() == "open"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.communicate("quit\n", timeout=30)

    def __enter__(self) -> DuckDBProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.replace("\n", " ") + "\n")
        self.process.stdin.flush()

    def _answer(self):
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the DuckDB process {self.pid} stopped")
        return json.loads(line)
