"""`qb-pipeline orgs|users|connect|status|disconnect`: the same rules as the service, and
errors as one clear line on stderr with a non-zero exit."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner

from qb_pipeline.cli import main
from qb_pipeline.config import load_settings
from qb_pipeline.connections import IntegrationService, ReauthorizationRequired
from tests.connections.conftest import (
    ADMIN,
    PASSWORD,
    VIEWER,
    add_team,
    companies,
    connect_company,
)
from tests.connections.consent import consent

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(emulator, home, secret_key, control_db_url) -> dict[str, str]:
    return {
        "QBP_HOME": str(home),
        "QBP_SECRET_KEY": secret_key,
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": emulator.url,
        "QBP_DATABASE_URL": control_db_url or "",
    }


def run(env: dict[str, str], *args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), env=env, input=input)


def assert_one_line_error(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert text in lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def team(cli_env) -> dict[str, str]:
    assert run(cli_env, "orgs", "create", "acme", "--name", "Acme Inc").exit_code == 0
    for email, role in ((ADMIN, "admin"), (VIEWER, "viewer")):
        added = run(
            cli_env, "users", "add", email, "--org", "acme", "--role", role, input=PASSWORD + "\n"
        )
        assert added.exit_code == 0, added.output
    return cli_env


def test_orgs_create_and_users_add_with_a_piped_password(cli_env):
    created = run(cli_env, "orgs", "create", "acme", "--name", "Acme Inc")
    added = run(
        cli_env, "users", "add", ADMIN, "--org", "acme", "--role", "admin", input=PASSWORD + "\n"
    )
    listed = run(cli_env, "orgs", "list")

    assert created.stdout == "Created organization acme (Acme Inc).\n"
    assert added.stdout == "admin@example.com is admin of acme.\n"
    assert listed.stdout == "acme\tAcme Inc\n"
    assert PASSWORD not in added.output


def test_users_add_for_an_existing_user_reads_no_password(team):
    team_env = team
    run(team_env, "orgs", "create", "beta", "--name", "Beta")

    added = run(team_env, "users", "add", VIEWER, "--org", "beta", "--role", "editor", input="")

    assert added.exit_code == 0, added.output
    assert added.stdout == "viewer@example.com is editor of beta.\n"


def test_users_add_without_a_password_is_one_clear_error(cli_env):
    run(cli_env, "orgs", "create", "acme", "--name", "Acme Inc")

    result = run(cli_env, "users", "add", ADMIN, "--org", "acme", "--role", "admin", input="")

    assert_one_line_error(result, "a password is required to create the new user")


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("status", "--org", "nope"), "no organization 'nope'"),
        (("orgs", "create", "Bad Slug", "--name", "x"), "organization slug 'Bad Slug'"),
        (("disconnect", "--org", "acme", "--as", ADMIN, "--yes"), "acme is not connected"),
        (("connect", "--org", "acme", "--as", VIEWER, "--no-browser"), "may not connect"),
        (("disconnect", "--org", "acme", "--as", VIEWER, "--yes"), "that needs the admin role"),
    ],
)
def test_errors_are_one_line_on_stderr(team, args, text):
    assert_one_line_error(run(team, *args), text)


def test_a_missing_secret_key_is_one_clear_error(cli_env):
    env = {**cli_env, "QBP_SECRET_KEY": ""}

    assert_one_line_error(run(env, "status", "--org", "acme"), "QBP_SECRET_KEY is not set")


def test_status_of_a_new_organization(team):
    human = run(team, "status", "--org", "acme")
    as_json = json.loads(run(team, "status", "--org", "acme", "--json").stdout)

    assert "QuickBooks:" in human.stdout
    assert "not connected" in human.stdout
    assert "Last sync:" in human.stdout
    assert as_json["status"] == "not_connected"
    assert as_json["settings"] == {
        "auto_sync": True,
        "frequency": "nightly",
        "local_time": "02:00",
        "timezone": "UTC",
        "history_years": 3,
        "updated_at": None,
        "updated_by": None,
    }


class CliProcess:
    """`qb-pipeline ...` in its own process, its stdout read line by line."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from qb_pipeline.cli import main; main()", *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def line_starting(self, prefix: str, timeout: float = 60) -> str:
        while True:
            line = self.lines.get(timeout=timeout)
            if line.startswith(prefix):
                return line.strip()

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        code = self.process.wait(timeout)
        stderr = self.process.stderr.read()
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return code, "".join(rest), stderr


def test_connect_receives_the_callback_on_a_loopback_port_and_prints_the_status(emulator, team):
    company = companies(emulator.url)[1]
    cli = CliProcess(team, "connect", "--org", "acme", "--as", ADMIN, "--no-browser")
    try:
        authorize_url = cli.line_starting(emulator.url)
        callback = consent(authorize_url, realm_id=company["realmId"])
        assert callback.startswith("http://127.0.0.1:")
        page = httpx.get(callback, timeout=60)
        code, stdout, stderr = cli.finish()
    finally:
        cli.process.kill()

    assert page.status_code == 200
    assert f"Acme Inc is connected to {company['name']}" in page.text
    assert code == 0, stderr
    authorization_code = parse_qs(urlsplit(callback).query)["code"][0]
    assert authorization_code not in stdout + stderr
    assert "QuickBooks:" in stdout
    assert "connected" in stdout
    assert f"{company['name']} (realm {company['realmId']})" in stdout
    assert "Refresh token until:" in stdout
    status = json.loads(run(team, "status", "--org", "acme", "--json").stdout)
    assert (status["status"], status["connected_by"]) == ("connected", ADMIN)


def test_connect_cancelled_at_quickbooks_exits_with_one_line(emulator, team):
    cli = CliProcess(team, "connect", "--org", "acme", "--as", ADMIN, "--no-browser")
    try:
        callback = consent(cli.line_starting(emulator.url), cancel=True)
        page = httpx.get(callback, timeout=60)
        code, _stdout, stderr = cli.finish()
    finally:
        cli.process.kill()

    assert page.status_code == 400
    assert "You cancelled" in page.text
    assert code == 1
    assert stderr.strip().splitlines() == [
        "Error: You cancelled connecting QuickBooks for acme; nothing was changed."
    ]


def test_disconnect_asks_for_confirmation_then_disconnects(emulator, team, make_settings):
    connect_company(IntegrationService(make_settings(emulator.url)))

    declined = run(team, "disconnect", "--org", "acme", "--as", ADMIN, input="n\n")
    assert declined.exit_code == 1
    assert "Disconnect" in declined.output
    assert json.loads(run(team, "status", "--org", "acme", "--json").stdout)["status"] == (
        "connected"
    )

    done = run(team, "disconnect", "--org", "acme", "--as", ADMIN, input="y\n")

    assert done.exit_code == 0, done.output
    assert "disconnected" in done.stdout
    assert f"by {ADMIN}" in done.stdout


def test_status_shows_why_reauthorization_is_required(make_emulator, home, secret_key):
    running = make_emulator(limits_enabled=False)
    env = {
        "QBP_HOME": str(home),
        "QBP_SECRET_KEY": secret_key,
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": running.url,
    }
    service = IntegrationService(load_settings(env))
    add_team(service)
    connect_company(service)
    httpx.post(f"{running.url}/_emulator/oauth/revoke-refresh-tokens").raise_for_status()
    with pytest.raises(ReauthorizationRequired):
        service.access_token("acme", min_valid=timedelta(hours=2))

    shown = run(env, "status", "--org", "acme")

    assert "QuickBooks:" in shown.stdout
    assert "reauthorization required" in shown.stdout
    assert "QuickBooks refused the stored refresh token (invalid_grant)" in shown.stdout


def service_of(env: dict[str, str]) -> IntegrationService:
    return IntegrationService(load_settings(env))


def test_users_set_password_reads_a_piped_password_and_ends_the_web_sessions(team):
    service = service_of(team)
    session = service.start_web_session(ADMIN)

    result = run(team, "users", "set-password", ADMIN, input="a brand new password\n")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Password changed for {ADMIN}; 1 web session ended.\n"
    assert "a brand new password" not in result.output
    assert service.web_session_user(session) is None
    assert service.authenticate(ADMIN, "a brand new password") is not None
    assert service.authenticate(ADMIN, PASSWORD) is None


def test_users_remove_takes_the_user_out_and_ends_the_web_sessions(team):
    service = service_of(team)
    session = service.start_web_session(VIEWER)

    result = run(team, "users", "remove", VIEWER, "--org", "acme")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{VIEWER} is no longer viewer of acme; their web sessions have ended.\n"
    )
    assert service.memberships(VIEWER) == []
    assert service.web_session_user(session) is None


@pytest.mark.parametrize(
    ("args", "stdin", "text"),
    [
        (("users", "set-password", "nobody@example.com"), "whatever-1\n", "no user"),
        (("users", "set-password", ADMIN), "short\n", "at least 8 characters"),
        (("users", "remove", "nobody@example.com", "--org", "acme"), None, "is not a member"),
        (("users", "remove", VIEWER, "--org", "nope"), None, "no organization 'nope'"),
    ],
)
def test_users_set_password_and_remove_errors_are_one_line(team, args, stdin, text):
    result = run(team, *args, input=stdin)

    assert_one_line_error(result, text)
    assert service_of(team).authenticate(ADMIN, PASSWORD) is not None
    assert [m.role for m in service_of(team).memberships(VIEWER)] == ["viewer"]
