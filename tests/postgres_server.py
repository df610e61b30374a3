"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a temporary data
directory, loopback only, passwords required.

    with PostgresServer() as server:
        url = server.create_database("control")   # postgresql://postgres:...@127.0.0.1:PORT/control
        ...

The cluster listens on 127.0.0.1 and a free port (its unix socket stays inside its directory)
and never touches the system cluster. Host connections need the password (scram-sha-256, no
trust). Durability is off (fsync, synchronous_commit, full_page_writes): a crash loses a
cluster nobody keeps. initdb and postgres refuse to run as root, so as root (here and in CI)
they run as Debian's `postgres` user in a directory it owns; otherwise as the current user.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import psycopg2
from psycopg2 import sql

BIN_GLOB = "/usr/lib/postgresql/*/bin"
SUPERUSER = "postgres"
# The OS user the server runs as when the tests run as root.
OS_USER = "postgres"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30
# The tests open a few pools at once (control DB, warehouse, Dagster's run storage, event
# log and schedules, across the test process, a Dagster daemon and run workers): ~40 in use.
MAX_CONNECTIONS = 100
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": str(MAX_CONNECTIONS),
    # Nobody keeps a test cluster after a crash: skip what makes it durable.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # Short test queries should not pay for compiling plans.
    "jit": "off",
    "logging_collector": "off",
}


class PostgresNotInstalled(RuntimeError):
    """No server binaries under /usr/lib/postgresql/*/bin."""


def server_binaries() -> Path:
    """The bin directory of the newest PostgreSQL installed by Debian's packages."""
    found = [Path(path) for path in glob.glob(BIN_GLOB) if (Path(path) / "initdb").exists()]
    if not found:
        raise PostgresNotInstalled(
            f"no PostgreSQL server binaries ({BIN_GLOB}/initdb): install Debian's package "
            "`postgresql` (bin/system-packages does, as root: apt-get install postgresql)"
        )
    return max(found, key=lambda path: _version(path.parent.name))


def _version(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return (-1,)


def _quoted(value: str) -> str:
    """A postgresql.conf value: quoted, so paths and addresses parse."""
    return "'" + value.replace("'", "''") + "'"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """A running throwaway cluster; `stop()` (or leaving the `with` block) ends it and deletes
    its directory. Also stopped at interpreter exit if nobody did."""

    def __init__(
        self, *, start_timeout: float = START_TIMEOUT, max_connections: int = MAX_CONNECTIONS
    ) -> None:
        self.bin = server_binaries()
        self.max_connections = max_connections
        self.user = SUPERUSER
        self.password = secrets.token_urlsafe(18)
        self.host = "127.0.0.1"
        self.port = 0
        self._as_user: list[str] = []
        self._owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._owner = pwd.getpwnam(OS_USER)
            except KeyError:
                raise PostgresNotInstalled(
                    f"running as root needs the OS user {OS_USER!r}, which Debian's package "
                    "`postgresql` creates: apt-get install postgresql"
                ) from None
            self._as_user = [
                "setpriv",
                f"--reuid={self._owner.pw_uid}",
                f"--regid={self._owner.pw_gid}",
                "--init-groups",
                "--",
            ]
        # /tmp itself, not pytest's tmp_path: the postgres user must reach the directory.
        self.directory = Path(tempfile.mkdtemp(prefix="qbp-postgres-"))
        # Every process of the cluster shows this in its title (`postgres: NAME: checkpointer`),
        # so `pgrep -f NAME` finds them all, not only the postmaster.
        self.cluster_name = self.directory.name
        self.data = self.directory / "data"
        self.log_path = self.directory / "postgres.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._stopped = False
        atexit.register(self.stop)
        try:
            self._chown(self.directory)
            self._initdb()
            self._start(start_timeout)
        except BaseException:
            self.stop()
            raise

    # --- URLs and admin statements ---------------------------------------------------------

    def url(
        self, database: str = "postgres", user: str | None = None, password: str | None = None
    ) -> str:
        """postgresql://user:password@127.0.0.1:port/database (the superuser by default)."""
        user = self.user if user is None else user
        password = self.password if password is None and user == self.user else password
        credentials = quote(user, safe="")
        if password is not None:
            credentials += ":" + quote(password, safe="")
        return f"postgresql://{credentials}@{self.host}:{self.port}/{quote(database, safe='')}"

    def execute(self, statement: str | sql.Composable, *params: object) -> None:
        """Run one statement as the superuser in the `postgres` database, autocommit (for
        CREATE DATABASE and the like, which refuse a transaction)."""
        connection = psycopg2.connect(self.url(), connect_timeout=10)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement, params or None)
        finally:
            connection.close()

    def create_database(self, name: str, owner: str | None = None) -> str:
        """Create an empty database (owned by `owner`, the superuser by default); its URL, as
        the superuser (`url(name, owner, password)` to connect as the owner)."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if owner is not None:
            statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        self.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, ending the sessions still connected to it."""
        self.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def create_role(self, name: str, password: str, *, superuser: bool = False) -> None:
        """A login role with a password."""
        self.execute(
            sql.SQL("CREATE ROLE {} LOGIN {} PASSWORD %s").format(
                sql.Identifier(name), sql.SQL("SUPERUSER" if superuser else "NOSUPERUSER")
            ),
            password,
        )

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    def stop(self) -> None:
        """Stop the cluster (fast shutdown, immediate if that hangs) and delete its directory.
        Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        try:
            if self._process is not None and self._process.poll() is None:
                for mode in ("fast", "immediate"):
                    with contextlib.suppress(RuntimeError, subprocess.SubprocessError):
                        self._run(
                            self.bin / "pg_ctl", "stop", "-D", self.data, "-m", mode,
                            "-w", "-t", str(STOP_TIMEOUT),
                            timeout=STOP_TIMEOUT + 10,
                        )  # fmt: skip
                    if self._wait(STOP_TIMEOUT):
                        break
                else:
                    self._kill()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"PostgresServer({self.host}:{self.port}, {self.directory})"

    # --- internals -------------------------------------------------------------------------

    def _initdb(self) -> None:
        password_file = self.directory / "password"
        password_file.write_text(self.password + "\n")
        password_file.chmod(0o600)
        self._chown(password_file)
        try:
            self._run(
                self.bin / "initdb", "-D", self.data, "-U", self.user,
                f"--pwfile={password_file}", "--auth=scram-sha-256",
                "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions",
                timeout=120,
            )  # fmt: skip
        finally:
            password_file.unlink(missing_ok=True)
        # Exactly these: the socket and 127.0.0.1, a password for both; nothing else (no ::1,
        # no other hosts, no trust).
        (self.data / "pg_hba.conf").write_text(
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            "local   all       all                 scram-sha-256\n"
            "host    all       all   127.0.0.1/32  scram-sha-256\n"
        )

    def _start(self, timeout: float) -> None:
        # The free port may be taken by someone else before the server binds it: try another.
        for attempt in range(3):
            self.port = free_port()
            settings = {
                **SETTINGS,
                "max_connections": str(self.max_connections),
                "port": str(self.port),
                "unix_socket_directories": str(self.directory),
                "cluster_name": self.cluster_name,
            }
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.write("\n# tests/postgres_server.py\n")
                conf.writelines(f"{key} = {_quoted(value)}\n" for key, value in settings.items())
            with self.log_path.open("ab") as log:
                log_start = log.tell()
                self._process = subprocess.Popen(
                    [*self._as_user, str(self.bin / "postgres"), "-D", str(self.data)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.directory,
                    # Its own session: a ^C in the terminal reaches pytest, which stops it.
                    start_new_session=True,
                )
            ready = self._wait_ready(timeout)
            if ready is True:
                return
            log_text = self._log_since(log_start)
            if "could not bind" not in log_text or attempt == 2:
                raise RuntimeError(
                    f"PostgreSQL did not start on 127.0.0.1:{self.port} ({ready}); "
                    f"its log:\n{log_text[-4000:]}"
                )

    def _wait_ready(self, timeout: float) -> bool | str:
        """Until the server takes a password login (True), exits or misses the deadline (why
        not, killed)."""
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                return f"exit status {self._process.returncode}"
            try:
                psycopg2.connect(self.url(), connect_timeout=5).close()
                return True
            except psycopg2.OperationalError as error:
                if time.monotonic() > deadline:
                    self._kill()
                    return f"not ready after {timeout}s: {str(error).strip()}"
            time.sleep(0.02)

    def _kill(self) -> None:
        """SIGKILL to the postmaster's process group: it leads its own session, so its
        children go with it."""
        assert self._process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(STOP_TIMEOUT)

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def _wait(self, timeout: float) -> bool:
        assert self._process is not None
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _run(self, *command: str | Path, timeout: float) -> None:
        result = subprocess.run(
            [*self._as_user, *map(str, command)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd=self.directory,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(result.args)} failed (exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )

    def _chown(self, path: Path) -> None:
        if self._owner is not None:
            os.chown(path, self._owner.pw_uid, self._owner.pw_gid)
