"""Personal access tokens: shown once, stored as SHA-256 only, scoped to one user in one
organization, acting with that user's current role, expiring, revocable, their last use
recorded; and the `qb-pipeline tokens` commands around them."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from click.testing import CliRunner

from qb_pipeline.cli import main
from qb_pipeline.connections import IntegrationService, PermissionDenied
from qb_pipeline.connections.access_tokens import TokenRejected, authenticate
from qb_pipeline.connections.db import open_db, utcnow
from qb_pipeline.connections.errors import InvalidInput
from tests.connections.conftest import ADMIN, EDITOR, VIEWER, add_team


@pytest.fixture
def team(make_settings) -> IntegrationService:
    service = IntegrationService(make_settings())
    add_team(service, "acme")
    add_team(service, "birch")  # the same three people, in a second organization
    return service


def control_db_bytes(service: IntegrationService) -> bytes:
    """Everything the control DB stores: SQLite's files, or every row of every Postgres table."""
    if service.db.sqlite_path is None:
        with open_db(service.db) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                )
            ]
            return repr([list(conn.execute(f"SELECT * FROM {t}")) for t in tables]).encode()
    folder = service.db_path.parent
    return b"".join(p.read_bytes() for p in folder.glob(f"{service.db_path.name}*"))


def test_a_token_is_shown_once_and_only_its_sha256_is_stored(team):
    created = team.create_access_token(EDITOR, "acme", "nightly export")

    token = created.token
    assert token.startswith("qbp_")
    assert len(token) >= 40
    assert token not in repr(created)
    assert token not in str(created)
    stored = control_db_bytes(team)
    assert token.encode() not in stored
    with open_db(team.db) as conn:
        (digest,) = conn.execute("SELECT token_hash FROM access_tokens").fetchone()
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    listed = team.access_tokens(EDITOR, "acme")
    assert [t.name for t in listed] == ["nightly export"]
    assert token not in repr(listed)
    assert token not in str(listed[0].to_dict())
    assert listed[0].prefix == token[:12]
    # The audit log says a token was made, never what it is.
    assert all(token not in str(e.to_dict()) for e in team.audit_log("acme"))
    assert "access token created" in [e.action for e in team.audit_log("acme")]


def test_a_token_names_its_user_and_organization_and_acts_with_the_current_role(team):
    token = team.create_access_token(EDITOR, "acme", "script").token

    info, member = team.authenticate_access_token(token)
    assert (info.email, info.org_slug, member.role) == (EDITOR, "acme", "editor")

    team.add_user(EDITOR, "acme", "viewer")  # demoted: the old token reads only now
    _, member = team.authenticate_access_token(token)
    assert member.role == "viewer"
    assert member.org_slug == "acme"  # never birch, where the same person is editor too


def test_a_token_of_a_user_who_left_the_organization_is_refused(team):
    token = team.create_access_token(EDITOR, "acme", "script").token
    with open_db(team.db) as conn:  # no command removes members yet
        conn.execute(
            "DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE email = ?)"
            " AND org_id = (SELECT id FROM organizations WHERE slug = 'acme')",
            (EDITOR,),
        )
    with pytest.raises(TokenRejected, match=f"belongs to {EDITOR}, who is no longer a member"):
        team.authenticate_access_token(token)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("qbp_" + "x" * 43, "no such token"),
        ("not-a-token", "it is not a qb-goals token"),
        ("", "it is not a qb-goals token"),
    ],
)
def test_an_unknown_token_is_refused_without_echoing_it(team, token, reason):
    with pytest.raises(TokenRejected) as refused:
        team.authenticate_access_token(token)
    assert reason in str(refused.value)
    assert token not in str(refused.value) or not token


def test_a_revoked_token_is_refused_and_stays_listed(team):
    created = team.create_access_token(EDITOR, "acme", "script")

    revoked = team.revoke_access_token(EDITOR, "acme", created.info.id)

    assert revoked.revoked_by == EDITOR
    with pytest.raises(TokenRejected, match="was revoked on"):
        team.authenticate_access_token(created.token)
    [listed] = team.access_tokens(EDITOR, "acme")
    assert listed.to_dict()["state"] == "revoked"
    again = team.revoke_access_token(EDITOR, "acme", created.info.id)  # nothing changes
    assert again.revoked_at == revoked.revoked_at


def test_an_expired_token_is_refused(team):
    created = team.create_access_token(EDITOR, "acme", "short", expires_in_days=1)
    with open_db(team.db) as conn:
        authenticate(conn, created.token, now=utcnow() + timedelta(hours=23))
        with pytest.raises(TokenRejected, match="expired on"):
            authenticate(conn, created.token, now=utcnow() + timedelta(days=1, seconds=1))


def test_only_the_owner_or_an_admin_may_revoke_and_others_see_only_their_own(team):
    editors = team.create_access_token(EDITOR, "acme", "editor's").info
    team.create_access_token(VIEWER, "acme", "viewer's")

    with pytest.raises(PermissionDenied, match="only its owner or an admin of acme may"):
        team.revoke_access_token(VIEWER, "acme", editors.id)
    assert [t.name for t in team.access_tokens(VIEWER, "acme")] == ["viewer's"]
    assert {t.name for t in team.access_tokens(ADMIN, "acme")} == {"editor's", "viewer's"}
    assert team.audit_log("acme")[0].outcome == "forbidden"

    assert team.revoke_access_token(ADMIN, "acme", editors.id).revoked_by == ADMIN
    # Another organization's admin cannot even see it.
    with pytest.raises(Exception, match="birch has no access token"):
        team.revoke_access_token(ADMIN, "birch", editors.id)


def test_last_use_is_recorded_at_most_once_a_minute(team):
    created = team.create_access_token(EDITOR, "acme", "script")
    assert team.access_tokens(EDITOR, "acme")[0].last_used_at is None
    start = utcnow()
    with open_db(team.db) as conn:
        authenticate(conn, created.token, now=start)
        authenticate(conn, created.token, now=start + timedelta(seconds=30))
        first = team.access_tokens(EDITOR, "acme")[0].last_used_at
        authenticate(conn, created.token, now=start + timedelta(minutes=2))
    later = team.access_tokens(EDITOR, "acme")[0].last_used_at
    assert first == start.replace(microsecond=0)
    assert later == (start + timedelta(minutes=2)).replace(microsecond=0)


@pytest.mark.parametrize(
    ("name", "days", "message"),
    [
        ("", None, "a token needs a name of 1 to 200 characters"),
        ("x" * 201, None, "a token needs a name of 1 to 200 characters"),
        ("ok", 0, "a token expires after 1 to 3650 days, not 0"),
    ],
)
def test_a_bad_name_or_expiry_is_refused_and_nothing_is_stored(team, name, days, message):
    with pytest.raises(InvalidInput, match=message):
        team.create_access_token(EDITOR, "acme", name, days)
    assert team.access_tokens(ADMIN, "acme") == []


def test_a_stranger_cannot_create_a_token_for_an_organization(team):
    team.create_org("cedar", "Cedar Co")
    with pytest.raises(PermissionDenied, match="is not a member of cedar"):
        team.create_access_token(EDITOR, "cedar", "sneaky")


# -- `qb-pipeline tokens` ---------------------------------------------------------------


def run(settings_env: dict[str, str], *args: str):
    return CliRunner().invoke(main, list(args), env=settings_env)


@pytest.fixture
def cli_env(team, home, secret_key, control_db_url) -> dict[str, str]:
    return {
        "QBP_HOME": str(home),
        "QBP_SECRET_KEY": secret_key,
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": "http://127.0.0.1:9",
        "QBP_DATABASE_URL": control_db_url or "",
    }


def test_tokens_create_prints_the_token_alone_on_stdout_then_list_and_revoke(team, cli_env):
    created = run(cli_env, "tokens", "create", "--org", "acme", "--as", EDITOR, "--name", "ci")

    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("qbp_")
    assert "\n" not in token
    assert "It is shown once; store it now" in created.stderr
    info, _ = team.authenticate_access_token(token)
    assert info.name == "ci"

    listed = run(cli_env, "tokens", "list", "--org", "acme", "--as", EDITOR)
    assert listed.exit_code == 0, listed.output
    assert token not in listed.output
    assert f"{info.id}\t{token[:12]}…\tci\t{EDITOR}\tactive\texpires never" in listed.stdout

    revoked = run(cli_env, "tokens", "revoke", str(info.id), "--org", "acme", "--as", EDITOR)
    assert revoked.exit_code == 0, revoked.output
    assert f"Access token {info.id} (ci) of {EDITOR} is revoked." in revoked.stdout
    with pytest.raises(TokenRejected):
        team.authenticate_access_token(token)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--name", "x", "--expires-in-days", "0"), "Invalid value for '--expires-in-days'"),
        (("--name", " "), "a token needs a name of 1 to 200 characters"),
    ],
)
def test_tokens_create_refuses_bad_options_with_one_line(team, cli_env, args, message):
    result = run(cli_env, "tokens", "create", "--org", "acme", "--as", EDITOR, *args)
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert team.access_tokens(ADMIN, "acme") == []


def test_tokens_revoke_of_someone_elses_token_exits_1_with_the_reason(team, cli_env):
    token_id = team.create_access_token(EDITOR, "acme", "editor's").info.id
    result = run(cli_env, "tokens", "revoke", str(token_id), "--org", "acme", "--as", VIEWER)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"Error: {VIEWER} may not revoke access token {token_id} of {EDITOR}: only its owner "
        "or an admin of acme may"
    ]
