"""The `qb-pipeline` command line."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import click

# Telemetry stays off for every entry point, tests and CI included.
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def _parse_today(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


emulator_options = [
    click.option(
        "--seed", type=int, default=1, show_default=True, help="Seed of the generated companies."
    ),
    click.option(
        "--size",
        type=click.Choice(["small", "medium", "large"]),
        default="small",
        show_default=True,
        help="Business volume of the demo company.",
    ),
    click.option(
        "--today",
        callback=_parse_today,
        metavar="YYYY-MM-DD",
        help="The emulator's today (default: the real date).",
    ),
]


def _with_emulator_options(func):  # noqa: ANN001 - click decorator plumbing
    for option in reversed(emulator_options):
        func = option(func)
    return func


@click.group()
@click.version_option(package_name="qb-pipeline")
def main() -> None:
    """qb-goals: QuickBooks Online goal tracking on Dagster + dlt + DuckDB."""


@main.group()
def sandbox() -> None:
    """The bundled QuickBooks Online emulator."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@_with_emulator_options
@click.option(
    "--limits",
    type=click.Choice(["on", "off"]),
    default="on",
    show_default=True,
    help="Enforce QBO's per-realm rate limits.",
)
@click.option(
    "--strict-rotation",
    is_flag=True,
    help="Every refresh issues a new refresh token and the previous one fails at once.",
)
def sandbox_serve(
    host: str,
    port: int,
    seed: int,
    size: str,
    today: date | None,
    limits: str,
    strict_rotation: bool,
) -> None:
    """Serve the emulator until interrupted."""
    from qb_pipeline.sandbox import EmulatorSettings, serve_forever

    settings = EmulatorSettings(
        seed=seed,
        size=size,
        today=today,
        limits_enabled=limits == "on",
        strict_rotation=strict_rotation,
    )
    click.echo(f"QuickBooks Online emulator on http://{host}:{port} (seed {seed}, size {size})")
    serve_forever(settings, host, port)


@main.command()
@_with_emulator_options
@click.option("--keep-running", is_flag=True, help="Keep serving the emulator after the summary.")
def demo(seed: int, size: str, today: date | None, keep_running: bool) -> None:
    """Run the main job on the embedded default and show its results."""
    from qb_pipeline.demo import run_demo

    run_demo(seed=seed, size=size, today=today, keep_running=keep_running)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
def web(host: str, port: int) -> None:
    """Serve the web app: sign-in and the Integrations area."""
    import logging

    import uvicorn

    from qb_pipeline.config import ConfigError, load_settings
    from qb_pipeline.web.app import create_app

    log_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.INFO, format=log_format)
    try:
        app = create_app(load_settings())
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"qb-goals web app on http://{host}:{port}")
    # uvicorn's access log prints query strings (the OAuth code); the app logs requests itself.
    uvicorn.run(app, host=host, port=port, access_log=False, proxy_headers=True)


@main.group()
def warehouse() -> None:
    """The DuckDB warehouse BI tools read."""


@warehouse.command("reference")
@click.option(
    "--write",
    "target",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Replace the generated part of this page (docs/warehouse.md) instead of printing it.",
)
def warehouse_reference(target: Path | None) -> None:
    """Every mart and its columns, generated from the SQL (the reference of docs/warehouse.md)."""
    from qb_pipeline.goals.compute import documented_views
    from qb_pipeline.warehouse.reference import generated_block, views, write_reference

    extra = views(documented_views())
    if target is None:
        click.echo(generated_block(extra))
        return
    changed = write_reference(target, extra)
    click.echo(f"{'Updated' if changed else 'Unchanged:'} {target}")


# --- organizations, users and the QuickBooks connection -------------------------------------
# These commands go through IntegrationService, the same code paths as the web app. `--as`
# names the user to act as, without a password: the CLI trusts the local operator (who can
# read QBP_HOME anyway), but that user's role in the organization is still enforced.


AS_HELP = (
    "Act as this user (who must be an admin). No password is asked: the CLI trusts the "
    "local operator, but the user's role is enforced."
)


def _one_line_errors(func):  # noqa: ANN001 - click decorator plumbing
    """Turn the errors a user can cause into one line on stderr and exit status 1."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import sqlite3

        from qb_pipeline.config import ConfigError
        from qb_pipeline.connections.errors import IntegrationError

        try:
            return func(*args, **kwargs)
        except (ConfigError, IntegrationError) as error:
            raise click.ClickException(" ".join(str(error).split())) from None
        except sqlite3.Error as error:
            raise click.ClickException(f"control DB: {error}") from None
        except OSError as error:
            raise click.ClickException(" ".join(str(error).split())) from None

    return wrapper


def _service():  # imported lazily to keep `qb-pipeline --help` fast
    from qb_pipeline.config import load_settings
    from qb_pipeline.connections import IntegrationService

    return IntegrationService(load_settings())


@main.group()
def orgs() -> None:
    """Organizations."""


@orgs.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The organization's display name.")
@_one_line_errors
def orgs_create(slug: str, name: str) -> None:
    """Create organization SLUG (2-40 characters from a-z, 0-9 and '-')."""
    org = _service().create_org(slug, name)
    click.echo(f"Created organization {org.slug} ({org.name}).")


@orgs.command("list")
@_one_line_errors
def orgs_list() -> None:
    """List the organizations."""
    for org in _service().list_orgs():
        click.echo(f"{org.slug}\t{org.name}")


@main.group()
def users() -> None:
    """Users and their roles in organizations."""


@users.command("add")
@click.argument("email")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--role", type=click.Choice(["admin", "editor", "viewer"]), required=True)
@_one_line_errors
def users_add(email: str, org_slug: str, role: str) -> None:
    """Add EMAIL to an organization with a role (creating the user if new).

    A new user's password is read from standard input when it is piped, else prompted for
    (hidden, with confirmation). An existing user keeps their password.
    """
    service = _service()
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
@_one_line_errors
def users_set_password(email: str) -> None:
    """Give EMAIL a new password and sign them out of every web session.

    The password is read from standard input when it is piped, else prompted for (hidden,
    with confirmation). Failed sign-ins of the account are forgotten, which lifts a lockout.
    """
    from qb_pipeline.connections.errors import NotFound

    service = _service()
    if service.find_user(email) is None:  # before asking for a password nobody will use
        raise NotFound(f"no user {email.strip().lower()!r}; add one with: qb-pipeline users add")
    ended = service.set_password(email, _read_password(email))
    click.echo(f"Password changed for {email.strip().lower()}; {_sessions(ended)} ended.")


@users.command("remove")
@click.argument("email")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@_one_line_errors
def users_remove(email: str, org_slug: str) -> None:
    """Take EMAIL out of an organization and sign them out of every web session.

    The user and their other memberships stay."""
    service = _service()
    removed = service.remove_member(email, org_slug)
    click.echo(
        f"{removed.email} is no longer {removed.role} of {removed.org_slug}; "
        "their web sessions have ended."
    )


def _sessions(count: int) -> str:
    return f"{count} web session{'s' if count != 1 else ''}"


@main.command()
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--as", "actor", required=True, metavar="EMAIL", help=AS_HELP)
@click.option("--no-browser", is_flag=True, help="Only print the address; open no browser.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Loopback port of the callback http://127.0.0.1:PORT/callback (default: any free "
    "port; with Intuit use the port of the redirect URI registered for the app).",
)
@click.option(
    "--timeout",
    type=click.IntRange(1),
    default=600,
    show_default=True,
    help="Seconds to wait for QuickBooks' answer.",
)
@_one_line_errors
def connect(org_slug: str, actor: str, no_browser: bool, port: int, timeout: int) -> None:
    """Connect the organization's QuickBooks company (sign in and choose it in a browser)."""
    import webbrowser

    from qb_pipeline.connections.loopback import CallbackServer

    service = _service()

    def on_callback(params: dict[str, str | None]) -> str:
        status = service.complete_connect(
            params["state"] or "",
            params["code"],
            params["realmId"],
            params["error"],
            server.redirect_uri,
        )
        return f"{status.org_name} is connected to {status.company_name}."

    try:
        server = CallbackServer(port, on_callback)
    except OSError as error:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from None
    with server:
        url = service.begin_connect(org_slug, actor, server.redirect_uri)
        click.echo(f"Open this address in a browser to connect QuickBooks for {org_slug}:")
        click.echo(url)
        if not no_browser:
            webbrowser.open(url)
        click.echo(f"Waiting for QuickBooks to return to {server.redirect_uri} ...")
        if not server.wait(timeout):
            raise click.ClickException(
                f"QuickBooks did not return within {timeout} seconds; nothing was stored"
            )
    if server.error is not None:
        raise server.error
    _echo_status(service.status(org_slug))


@main.command()
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@_one_line_errors
def status(org_slug: str, as_json: bool) -> None:
    """Show the organization's QuickBooks connection, last sync and settings."""
    import json

    service = _service()
    current = service.status(org_slug)
    if current.last_sync is not None and current.last_sync.status == "running":
        current = _status_after_abandoned_runs(service, org_slug)
    if as_json:
        click.echo(json.dumps(current.to_dict(), indent=2))
    else:
        _echo_status(current)


def _status_after_abandoned_runs(service, org_slug: str):  # noqa: ANN001
    """A sync shown as running may be one whose process was killed: look at the Dagster
    instance (when there is one) so it reads "Last sync failed: interrupted ..." instead."""
    from qb_pipeline.defs.instance import dagster_home, open_instance

    if (dagster_home(service.config) / "dagster.yaml").exists():
        with open_instance(service.config, service):
            pass  # opening it fails the runs whose process is gone (abandoned_runs.py)
    return service.status(org_slug)


@main.command()
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--as", "actor", required=True, metavar="EMAIL", help=AS_HELP)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_one_line_errors
def disconnect(org_slug: str, actor: str, yes: bool) -> None:
    """Disconnect the organization's QuickBooks company (imported data is kept)."""
    service = _service()
    current = service.status(org_slug)
    if not yes:
        company = current.company_name or "QuickBooks"
        click.confirm(
            f"Disconnect {company} from {org_slug}? The tokens are revoked and erased; "
            "imported data is kept.",
            abort=True,
        )
    _echo_status(service.disconnect(org_slug, actor))


def _echo_status(current) -> None:  # noqa: ANN001 - ConnectionStatus
    """The same details as the integration page, for a terminal."""
    from qb_pipeline.connections.status_text import status_lines

    for line in status_lines(current):
        click.echo(line)


# --- integration settings and syncs (issue 4) ------------------------------------------------


@main.command("settings")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option(
    "--as",
    "actor",
    metavar="EMAIL",
    help="Act as this user to change settings (an admin of the organization); not needed to "
    "read them. No password is asked: the CLI trusts the local operator, but the role is "
    "enforced.",
)
@click.option(
    "--auto-sync",
    type=click.Choice(["on", "off"]),
    help="Automatic syncs on or off (off: only from the UI or `qb-pipeline sync`).",
)
@click.option("--frequency", type=click.Choice(["nightly", "hourly", "manual"]))
@click.option(
    "--time",
    "local_time",
    metavar="HH:MM",
    help="Local time of the nightly sync (hourly syncs run at its minutes past each hour).",
)
@click.option("--timezone", metavar="TZ", help="IANA time zone of --time, e.g. Europe/Paris.")
@click.option(
    "--history-years", type=int, help="Years of reports to import (besides the current one)."
)
@_one_line_errors
def settings_command(
    org_slug: str,
    actor: str | None,
    auto_sync: str | None,
    frequency: str | None,
    local_time: str | None,
    timezone: str | None,
    history_years: int | None,
) -> None:
    """Show the organization's QuickBooks sync settings, or change them (admins, with --as)."""
    changes = {
        name: value
        for name, value in {
            "auto_sync": None if auto_sync is None else auto_sync == "on",
            "frequency": frequency,
            "local_time": local_time,
            "timezone": timezone,
            "history_years": history_years,
        }.items()
        if value is not None
    }
    service = _service()
    if not changes:
        current = service.settings(org_slug)
    elif actor is None:
        raise click.UsageError(
            "changing settings needs --as EMAIL, an admin of the organization "
            "(without changes, the settings are shown to anyone)"
        )
    else:
        current = service.update_settings(org_slug, actor, **changes)
        click.echo(f"Settings of {org_slug} updated.")
    _echo_settings(org_slug, current)


def _echo_settings(org_slug: str, current) -> None:  # noqa: ANN001 - IntegrationSettings
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from qb_pipeline.connections.sync_slots import next_slot

    when = {
        "nightly": f"nightly at {current.local_time} ({current.timezone})",
        "hourly": f"hourly at {current.local_time[3:]} minutes past the hour ({current.timezone})",
        "manual": "manual only",
    }[current.frequency]
    upcoming = next_slot(current, datetime.now(UTC))
    if upcoming is None:
        next_text = "none (syncs run from the Dagster UI or `qb-pipeline sync`)"
    else:
        local = upcoming.astimezone(ZoneInfo(current.timezone))
        next_text = f"{local:%Y-%m-%d %H:%M} {current.timezone} (when Dagster's daemon runs)"
    lines = [
        ("Organization", org_slug),
        ("Automatic sync", "on" if current.auto_sync else "off"),
        ("Frequency", when),
        ("History", f"{current.history_years} years plus the current one"),
        ("Next automatic sync", next_text),
    ]
    if current.updated_at is not None:
        by = f" by {current.updated_by}" if current.updated_by else ""
        lines.append(("Last changed", f"{current.updated_at:%Y-%m-%d %H:%M} UTC{by}"))
    width = max(len(label) for label, _ in lines) + 1
    for label, value in lines:
        click.echo(f"{label + ':':<{width}} {value}")


@main.command()
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option(
    "--today",
    callback=_parse_today,
    metavar="YYYY-MM-DD",
    help="The date the sync treats as today for report windows (default: QuickBooks' date).",
)
@click.option(
    "--wait",
    "lock_wait",
    type=click.FloatRange(0),
    help="Seconds to wait for another process to close the warehouse (default 60).",
)
@_one_line_errors
def sync(org_slug: str, today: date | None, lock_wait: float | None) -> None:
    """Import the organization's QuickBooks data now (the Dagster job `quickbooks_sync`).

    The run is recorded in the Dagster instance under $QBP_HOME/dagster, so it shows in the
    UI (DAGSTER_HOME=$QBP_HOME/dagster dagster dev -w workspace.yaml), and in the sync log
    that `qb-pipeline status` shows.
    """
    from qb_pipeline.sync.progress import ProgressDisplay
    from qb_pipeline.sync.runner import sync_org

    # dlt logs every retry of a failing load job with its traceback on stderr: the terminal
    # gets the sync's progress and one line per failure, the details stay in the Dagster run
    # log. (Set RUNTIME__LOG_LEVEL yourself to see dlt's own log.)
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "CRITICAL")
    click.echo(f"Syncing {org_slug} ...")
    display = ProgressDisplay.for_shell()  # a bar on a terminal, plain lines elsewhere
    try:
        outcome = sync_org(org_slug, today=today, lock_wait_seconds=lock_wait, on_progress=display)
    finally:
        display.close()
    last = outcome.status.last_sync
    if outcome.succeeded and last is not None:
        rows = sum(last.rows.values())
        took = (last.finished_at - last.started_at).total_seconds() if last.finished_at else 0
        click.echo(
            f"Sync of {org_slug} {last.status}: {rows:,} rows loaded with "
            f"{last.requests or 0:,} QuickBooks requests in {took:.0f} s (run {outcome.run_id})."
        )
    elif outcome.succeeded:
        click.echo(f"Sync of {org_slug} finished (run {outcome.run_id}).")
    else:
        raise click.ClickException(
            f"sync of {org_slug} failed (run {outcome.run_id}): {outcome.message}"
        )


TOKEN_AS_HELP = (
    "Act as this user (a member of the organization). No password is asked: the CLI trusts "
    "the local operator, but the user's role is enforced."
)


@main.group()
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
@_one_line_errors
def tokens_create(org_slug: str, actor: str, name: str, expires_in_days: int | None) -> None:
    """Create a token for the user in the organization and print it (only this once).

    The token acts with the user's role in the organization at the time of each request.
    Only its SHA-256 is stored, so a lost token cannot be shown again: revoke it and create
    another. The token is the only thing written to standard output.
    """
    created = _service().create_access_token(actor, org_slug, name, expires_in_days)
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
@_one_line_errors
def tokens_list(org_slug: str, actor: str, as_json: bool) -> None:
    """List the organization's tokens (an admin sees everyone's, others their own)."""
    import json

    listed = _service().access_tokens(actor, org_slug)
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
@_one_line_errors
def tokens_revoke(token_id: int, org_slug: str, actor: str) -> None:
    """Revoke token TOKEN_ID (its owner or an admin of the organization may)."""
    token = _service().revoke_access_token(actor, org_slug, token_id)
    click.echo(f"Access token {token.id} ({token.name}) of {token.email} is revoked.")


def _register_goals() -> None:
    # cli/goals.py imports only click at module level, so `qb-pipeline --help` stays fast.
    from qb_pipeline.cli.goals import goals

    main.add_command(goals)


_register_goals()
