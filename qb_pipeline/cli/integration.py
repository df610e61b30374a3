"""`qb-pipeline connect|status|disconnect|settings|sync`: an organization's QuickBooks connection
and its syncs, through the same IntegrationService as the web app."""

from __future__ import annotations

import os
from datetime import date

import click

from qb_pipeline.cli.options import AS_HELP, integration_service, one_line_errors, parse_today


@click.command()
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
@one_line_errors
def connect(org_slug: str, actor: str, no_browser: bool, port: int, timeout: int) -> None:
    """Connect the organization's QuickBooks company (sign in and choose it in a browser)."""
    import webbrowser

    from qb_pipeline.connections.loopback import CallbackServer

    service = integration_service()

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


@click.command()
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@one_line_errors
def status(org_slug: str, as_json: bool) -> None:
    """Show the organization's QuickBooks connection, last sync and settings."""
    import json

    service = integration_service()
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


@click.command()
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--as", "actor", required=True, metavar="EMAIL", help=AS_HELP)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@one_line_errors
def disconnect(org_slug: str, actor: str, yes: bool) -> None:
    """Disconnect the organization's QuickBooks company (imported data is kept)."""
    service = integration_service()
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


@click.command("settings")
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
@one_line_errors
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
    service = integration_service()
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


@click.command()
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option(
    "--today",
    callback=parse_today,
    metavar="YYYY-MM-DD",
    help="The date the sync treats as today for report windows (default: QuickBooks' date).",
)
@click.option(
    "--wait",
    "lock_wait",
    type=click.FloatRange(0),
    help="Seconds to wait for another process to close the warehouse (default 60).",
)
@one_line_errors
def sync(org_slug: str, today: date | None, lock_wait: float | None) -> None:
    """Import the organization's QuickBooks data now (the Dagster job `quickbooks_sync`).

    The run goes into the run queue of the Dagster instance under $QBP_HOME/dagster and waits
    there for any run of the same organization or company. A running Dagster daemon launches
    it; without one this command runs it itself. It shows in the UI
    (DAGSTER_HOME=$QBP_HOME/dagster dagster dev -w workspace.yaml), and in the sync log that
    `qb-pipeline status` shows.
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
