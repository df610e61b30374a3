"""`qb-pipeline alerts`: refusals are one line naming the field and value; the endpoint's
secret is printed once, on standard output only, and never listed."""

from __future__ import annotations

from click.testing import CliRunner

from qb_pipeline.cli import main
from qb_pipeline.connections import IntegrationService
from tests.connections.conftest import ADMIN, EDITOR, VIEWER, add_team


def test_the_alert_commands_check_roles_and_input(make_settings, home, monkeypatch):
    settings = make_settings()
    add_team(IntegrationService(settings), "acme")
    for name, value in {
        "QBP_HOME": str(home),
        "QBP_SECRET_KEY": settings.secret_key,
        "QBO_EMULATOR_URL": "http://127.0.0.1:9",
        **({"QBP_DATABASE_URL": settings.database_url} if settings.database_url else {}),
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["alerts", *args, "--org", "acme"])

    bad = run("endpoint-add", "--as", ADMIN, "ops", "ftp://example.com/x")
    assert bad.exit_code == 1
    assert "url 'ftp://example.com/x' is not allowed" in bad.output
    refused = run("endpoint-add", "--as", EDITOR, "ops", "https://example.com/x")
    assert refused.exit_code == 1
    assert "needs the admin role" in refused.output
    added = run("endpoint-add", "--as", ADMIN, "ops", "https://example.com/x")
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    listed = run("endpoints", "--as", VIEWER)
    assert "https://example.com/x" in listed.output
    assert secret not in listed.output
    unknown = run("subscribe", "--as", VIEWER, "--goal", "no-such-goal")
    assert unknown.exit_code == 1
    assert "goal 'no-such-goal'" in unknown.output
    made = run("subscribe", "--as", VIEWER, "--channel", "webhook", "--endpoint", "ops")
    assert made.exit_code == 0, made.output
    assert run("list", "--as", VIEWER).output.split("\t")[1:3] == ["*", "webhook"]
    assert secret not in run("deliveries", "--as", ADMIN, "--json").output
