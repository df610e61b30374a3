"""`qb-pipeline orgs|users|tokens ...`: organizations, their users and roles, and personal
access tokens for the JSON API."""

from __future__ import annotations

import click

from qb_pipeline.cli.options import integration_service, one_line_errors


@click.group()
def orgs() -> None:
    """Organizations."""


@orgs.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The organization's display name.")
@one_line_errors
def orgs_create(slug: str, name: str) -> None:
    """Create organization SLUG (2-40 characters from a-z, 0-9 and '-')."""
    org = integration_service().create_org(slug, name)
    click.echo(f"Created organization {org.slug} ({org.name}).")


@orgs.command("list")
@one_line_errors
def orgs_list() -> None:
    """List the organizations."""
    for org in integration_service().list_orgs():
        click.echo(f"{org.slug}\t{org.name}")


@click.group()
def users() -> None:
    """Users and their roles in organizations."""


@users.command("add")
@click.argument("email")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--role", type=click.Choice(["admin", "editor", "viewer"]), required=True)
@one_line_errors
def users_add(email: str, org_slug: str, role: str) -> None:
    """Add EMAIL to an organization with a role (creating the user if new).

    A new user's password is read from standard input when it is piped, else prompted for
    (hidden, with confirmation). An existing user keeps their password.
    """
    service = integration_service()
    password = None
    if service.find_user(email) is None:
        password = _read_password(email)
    member = service.add_user(email, org_slug, role, password)
    click.echo(f"{member.email} is {member.role} of {member.org_slug}.")


def _read_password(email: str) -> str:
    """One line of standard input when it is piped, else a hidden prompt with confirmation."""
    import sys

    if sys.stdin is not None and not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(f"Password for {email}", hide_input=True, confirmation_prompt=True)


@users.command("set-password")
@click.argument("email")
@one_line_errors
def users_set_password(email: str) -> None:
    """Give EMAIL a new password and sign them out of every web session.

    The password is read from standard input when it is piped, else prompted for (hidden,
    with confirmation). Failed sign-ins of the account are forgotten, which lifts a lockout.
    """
    from qb_pipeline.connections.errors import NotFound

    service = integration_service()
    if service.find_user(email) is None:  # before asking for a password nobody will use
        raise NotFound(f"no user {email.strip().lower()!r}; add one with: qb-pipeline users add")
    ended = service.set_password(email, _read_password(email))
    click.echo(f"Password changed for {email.strip().lower()}; {_sessions(ended)} ended.")


@users.command("remove")
@click.argument("email")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@one_line_errors
def users_remove(email: str, org_slug: str) -> None:
    """Take EMAIL out of an organization and sign them out of every web session.

    The user and their other memberships stay."""
    service = integration_service()
    removed = service.remove_member(email, org_slug)
    click.echo(
        f"{removed.email} is no longer {removed.role} of {removed.org_slug}; "
        "their web sessions have ended."
    )


def _sessions(count: int) -> str:
    return f"{count} web session{'s' if count != 1 else ''}"


TOKEN_AS_HELP = (
    "Act as this user (a member of the organization). No password is asked: the CLI trusts "
    "the local operator, but the user's role is enforced."
)


@click.group()
def tokens() -> None:
    """Personal access tokens for the JSON API (/api/v1; see docs/api.md)."""


@tokens.command("create")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--as", "actor", required=True, metavar="EMAIL", help=TOKEN_AS_HELP)
@click.option("--name", required=True, help="What the token is for, e.g. 'nightly export'.")
@click.option(
    "--expires-in-days",
    type=click.IntRange(1, 3650),
    default=None,
    help="Days until the token stops working (default: never; revoke it instead).",
)
@one_line_errors
def tokens_create(org_slug: str, actor: str, name: str, expires_in_days: int | None) -> None:
    """Create a token for the user in the organization and print it (only this once).

    The token acts with the user's role in the organization at the time of each request.
    Only its SHA-256 is stored, so a lost token cannot be shown again: revoke it and create
    another. The token is the only thing written to standard output.
    """
    created = integration_service().create_access_token(actor, org_slug, name, expires_in_days)
    info = created.info
    until = f", expires {info.expires_at:%Y-%m-%d}" if info.expires_at else ""
    click.echo(
        f"Created access token {info.id} ({info.name}) for {info.email} in {info.org_slug}"
        f"{until}. It is shown once; store it now:",
        err=True,
    )
    click.echo(created.token)


@tokens.command("list")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--as", "actor", required=True, metavar="EMAIL", help=TOKEN_AS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@one_line_errors
def tokens_list(org_slug: str, actor: str, as_json: bool) -> None:
    """List the organization's tokens (an admin sees everyone's, others their own)."""
    import json

    listed = integration_service().access_tokens(actor, org_slug)
    if as_json:
        click.echo(json.dumps([t.to_dict() for t in listed], indent=2))
        return
    for token in listed:
        data = token.to_dict()
        expires = f"{token.expires_at:%Y-%m-%d}" if token.expires_at else "never"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        click.echo(
            f"{token.id}\t{token.prefix}…\t{token.name}\t{token.email}\t{data['state']}"
            f"\texpires {expires}\tlast used {used}"
        )


@tokens.command("revoke")
@click.argument("token_id", type=int)
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--as", "actor", required=True, metavar="EMAIL", help=TOKEN_AS_HELP)
@one_line_errors
def tokens_revoke(token_id: int, org_slug: str, actor: str) -> None:
    """Revoke token TOKEN_ID (its owner or an admin of the organization may)."""
    token = integration_service().revoke_access_token(actor, org_slug, token_id)
    click.echo(f"Access token {token.id} ({token.name}) of {token.email} is revoked.")
