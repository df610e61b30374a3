"""The throwaway PostgreSQL of the tests (tests/postgres_server.py, the `postgres_server` and
`postgres_url` fixtures): a real server, a database per test, passwords required, loopback
only, nothing left running."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest

from tests.postgres_server import PostgresServer


def query(url: str, statement: str, *params: object) -> list[tuple]:
    connection = psycopg2.connect(url, connect_timeout=10)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def processes(pattern: str) -> list[str]:
    """`pgrep -u <server's OS user> -f PATTERN`: the matching processes' command lines."""
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    found = subprocess.run(
        ["pgrep", "-u", user, "-a", "-f", pattern], capture_output=True, text=True, check=False
    )
    return found.stdout.splitlines()


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets in LISTEN state on a TCP port (IPv4 and IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        lines = Path(table).read_text().splitlines()[1:] if Path(table).exists() else []
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:
                continue
            raw = bytes.fromhex(address)
            if len(raw) == 4:
                found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
            else:
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def test_a_url_connects_and_runs_sql(postgres_url):
    parts = urlsplit(postgres_url)
    assert parts.scheme == "postgresql"
    assert parts.hostname == "127.0.0.1"
    assert query(postgres_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [
        (0,)
    ]
    query(postgres_url, "CREATE TABLE goals (id int PRIMARY KEY, name text)")
    query(postgres_url, "INSERT INTO goals VALUES (1, 'revenue'), (2, 'margin')")
    assert query(postgres_url, "SELECT name FROM goals ORDER BY id") == [("revenue",), ("margin",)]
    assert query(postgres_url, "SELECT current_database()") == [(parts.path.lstrip("/"),)]
    (version,) = query(postgres_url, "SHOW server_version_num")[0]
    assert int(version) >= 150000


def test_each_url_is_its_own_empty_database(postgres_server, postgres_url):
    other = postgres_server.create_database("test_another")
    try:
        assert urlsplit(other).path != urlsplit(postgres_url).path
        query(postgres_url, "CREATE TABLE only_here (x int)")
        assert query(other, "SELECT to_regclass('only_here')") == [(None,)]
        assert query(postgres_url, "SELECT to_regclass('only_here')") == [("only_here",)]
    finally:
        postgres_server.drop_database("test_another")
    public = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    assert query(postgres_url, public) == [(1,)]


def test_a_wrong_or_missing_password_is_refused(postgres_server, postgres_url):
    database = urlsplit(postgres_url).path.lstrip("/")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(postgres_server.url(database, password="wrong"), connect_timeout=10)
    with pytest.raises(psycopg2.OperationalError, match="no password supplied"):
        psycopg2.connect(
            f"host=127.0.0.1 port={postgres_server.port} dbname={database} "
            f"user={postgres_server.user}",
            # Empty: not PGPASSWORD nor ~/.pgpass either.
            password="",
            passfile="/dev/null",
            connect_timeout=10,
        )
    rules = query(postgres_url, "SELECT type, auth_method FROM pg_hba_file_rules")
    assert rules
    assert all(method == "scram-sha-256" for _, method in rules), rules


def test_a_role_logs_in_with_its_password(postgres_server):
    postgres_server.create_role("qbp_reader", "s3cret pass/word")
    try:
        url = postgres_server.create_database("test_role_owned", owner="qbp_reader")
        assert url.endswith("/test_role_owned")
        as_reader = postgres_server.url("test_role_owned", "qbp_reader", "s3cret pass/word")
        assert query(as_reader, "SELECT current_user, rolsuper FROM pg_roles "
                     "WHERE rolname = current_user") == [("qbp_reader", False)]  # fmt: skip
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(postgres_server.url("test_role_owned", "qbp_reader", "nope"))
    finally:
        postgres_server.drop_database("test_role_owned")
        postgres_server.execute("DROP ROLE qbp_reader")


def test_listens_on_127_0_0_1_only(postgres_server):
    assert query(postgres_server.url(), "SHOW listen_addresses") == [("127.0.0.1",)]
    assert listening_addresses(postgres_server.port) == {"127.0.0.1"}
    # Another loopback address reaches the host, but nothing listens there.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", postgres_server.port), timeout=5).close()


def test_settings_for_speed_and_many_connections(postgres_server):
    url = postgres_server.url()
    for setting in ("fsync", "synchronous_commit", "full_page_writes"):
        assert query(url, f"SHOW {setting}") == [("off",)]
    assert int(query(url, "SHOW max_connections")[0][0]) >= 40
    (directory,) = query(url, "SHOW unix_socket_directories")[0]
    assert Path(directory) == postgres_server.directory
    assert query(url, "SHOW data_directory") == [(str(postgres_server.data),)]


def test_many_connections_at_once(postgres_url):
    connections = [psycopg2.connect(postgres_url, connect_timeout=10) for _ in range(40)]
    try:
        with connections[0].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            assert cursor.fetchone() == (40,)
    finally:
        for connection in connections:
            connection.close()


def test_dropping_a_database_ends_its_sessions(postgres_server):
    url = postgres_server.create_database("test_left_open")
    left_open = psycopg2.connect(url, connect_timeout=10)
    postgres_server.drop_database("test_left_open")
    names = {name for (name,) in query(postgres_server.url(), "SELECT datname FROM pg_database")}
    assert "test_left_open" not in names
    with pytest.raises(psycopg2.OperationalError):
        left_open.cursor().execute("SELECT 1")
    left_open.close()


def test_a_stopped_server_leaves_no_process_and_no_directory():
    server = PostgresServer()
    try:
        # Its own cluster, apart from the session's: not the system cluster, not port 5432.
        assert server.port != 5432
        assert query(server.url(), "SELECT 1") == [(1,)]
        assert processes(str(server.data)), "the postmaster runs with its data directory"
        assert len(processes(server.cluster_name)) > 1, "and its background processes"
        if os.geteuid() == 0:
            assert server.data.stat().st_uid == pwd.getpwnam("postgres").pw_uid
    finally:
        server.stop()
    assert processes(str(server.data)) == []
    assert processes(server.cluster_name) == []
    assert not server.directory.exists()
    server.stop()  # twice is fine
