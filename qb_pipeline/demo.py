"""The README's main job on the embedded default: the bundled emulator and local files.

Starts the QuickBooks Online emulator, shows the companies it serves, then plays the seed's
user story on it: a demo organization with an admin connects one QuickBooks company through
the real OAuth flow (the emulator's consent pages answered by a script) and the connection
details are printed. Everything lands under QBP_HOME (default ./.qbp) and survives re-runs:
the organization is reused and the same company is simply re-authorized.
"""

from __future__ import annotations

import os
import secrets
import threading
from datetime import date
from pathlib import Path

import click
import duckdb
import httpx

from qb_pipeline.config import Settings, load_settings
from qb_pipeline.connections.crypto import ensure_demo_secret_key
from qb_pipeline.connections.errors import NotFound
from qb_pipeline.connections.service import IntegrationService
from qb_pipeline.connections.status_text import status_lines
from qb_pipeline.sandbox import EmulatorSettings, start_in_thread
from qb_pipeline.sandbox.testing.consent import callback_params, consent
from qb_pipeline.sync import Progress

DEMO_ORG = "demo"
DEMO_ORG_NAME = "Demo Organization"
DEMO_ADMIN = "admin@demo.example"
# Where the web app would receive the callback; the emulator's demo app accepts loopback URIs.
DEMO_REDIRECT_URI = "http://127.0.0.1:8000/integrations/quickbooks/callback"
PASSWORD_FILE = "demo-admin-password"


def run_demo(seed: int, size: str, today: date | None, keep_running: bool) -> None:
    emulator = start_in_thread(EmulatorSettings(seed=seed, size=size, today=today))
    click.echo(f"QuickBooks Online emulator serving on {emulator.url}\n")
    try:
        companies = _show_companies(emulator.url)
        env = {**os.environ, "QBO_ENVIRONMENT": "emulator", "QBO_EMULATOR_URL": emulator.url}
        for name in ("QBO_CLIENT_ID", "QBO_CLIENT_SECRET"):
            env.pop(name, None)  # the demo always uses the emulator's demo app
        settings = ensure_demo_secret_key(load_settings(env))
        service = IntegrationService(settings)
        password = _demo_admin(service, settings.home)
        click.echo(f"\nOrganization {DEMO_ORG!r} with admin {DEMO_ADMIN} (password in {password})")
        _connect(service, companies[0]["realmId"])
        # The sync's Dagster resources read the environment, as a scheduled run would.
        os.environ.update(
            QBO_ENVIRONMENT="emulator",
            QBO_EMULATOR_URL=emulator.url,
            QBP_SECRET_KEY=settings.secret_key or "",
            QBP_HOME=str(settings.home),
        )
        _sync(settings, date.fromisoformat(companies[0]["today"]))
        click.echo("")
        for line in status_lines(service.status(DEMO_ORG)):
            click.echo(f"  {line}")
        _show_imported(settings.serving_path)
        _show_goals(settings.serving_path)
        click.echo(
            "\nOpen the Dagster UI on this data (runs, assets, the sync sensor):\n"
            f"  DAGSTER_HOME={settings.home}/dagster .venv/bin/dagster dev -w workspace.yaml\n"
            f"BI tools read the serving copy: duckdb -readonly {settings.serving_path}"
        )
        click.echo(
            "\nEvery Intuit endpoint is served on the emulator's origin, e.g. the OpenID "
            f"discovery document at {emulator.url}/.well-known/openid_sandbox_configuration"
        )
        if keep_running:
            click.echo("Serving until Ctrl-C.")
            threading.Event().wait()
    finally:
        emulator.stop()


def _sync(settings: Settings, today: date) -> None:
    """Run the `quickbooks_sync` job for the demo organization, as `qb-pipeline sync` does."""
    from qb_pipeline.sync import sync_org

    click.echo(f"Syncing {DEMO_ORG!r} (the Dagster job quickbooks_sync) ", nl=False)

    def dot(progress: Progress) -> None:
        if progress.kind == "step_succeeded":
            click.echo(".", nl=False)

    outcome = sync_org(DEMO_ORG, settings, today=today, on_progress=dot)
    click.echo("")
    last = outcome.status.last_sync
    if not outcome.succeeded or last is None:
        raise click.ClickException(
            f"the demo sync failed (run {outcome.run_id}): {outcome.message}"
        )
    took = (last.finished_at - last.started_at).total_seconds() if last.finished_at else 0
    click.echo(
        f"Imported {sum(last.rows.values()):,} rows with {last.requests or 0:,} QuickBooks "
        f"requests in {took:.0f} s (run {outcome.run_id})."
    )


def _show_imported(serving: Path) -> None:
    """What BI tools now see in the serving copy."""
    with duckdb.connect(str(serving), read_only=True) as con:
        tables = con.execute(
            "SELECT table_name, estimated_size FROM duckdb_tables() "
            "WHERE schema_name = 'qbo_raw' AND NOT starts_with(table_name, '_dlt') "
            "ORDER BY estimated_size DESC LIMIT 8"
        ).fetchall()
        click.echo(
            "\nLargest imported tables (qbo_raw): " + ", ".join(f"{t} {n:,}" for t, n in tables)
        )
        year = con.execute(
            "SELECT max(month) FROM marts.pnl_monthly WHERE org_id = ? AND basis = 'accrual'",
            [DEMO_ORG],
        ).fetchone()[0]
        if year is None:
            return
        rows = con.execute(
            "SELECT report_group, sum(amount) FROM marts.pnl_monthly "
            "WHERE org_id = ? AND basis = 'accrual' AND month > ? - INTERVAL 12 MONTH "
            "GROUP BY report_group ORDER BY report_group",
            [DEMO_ORG, year],
        ).fetchall()
        click.echo(f"marts.pnl_monthly, accrual, the 12 months to {year:%b %Y}:")
        for group, amount in rows:
            click.echo(f"  {group:<16} {amount:>14,.2f}")


# Each goal's latest period with an actual (its latest period when none has one).
LATEST_GOAL_VALUES = """
SELECT goal_name, unnest(arg_max(
    struct_pack(period_start, period_end, actual, target, status),
    (actual IS NOT NULL, period_start)
))
FROM marts.goal_values
WHERE org_id = ?
GROUP BY goal_id, goal_name
ORDER BY goal_id
"""


def _show_goals(serving: Path) -> None:
    """The demo goals (goal_models/demo) as the sync computed them, from the serving copy."""
    with duckdb.connect(str(serving), read_only=True) as con:
        try:
            rows = con.execute(LATEST_GOAL_VALUES, [DEMO_ORG]).fetchall()
        except duckdb.CatalogException:
            rows = []  # no goal was ever computed: marts.goal_values does not exist yet
    if not rows:
        click.echo("\nNo QuickBooks Goals for the demo organization in ./goal_models.")
        return
    click.echo("\nQuickBooks Goals (marts.goal_values), latest period of each:")
    click.echo(f"  {'goal':<48} {'period':<23} {'actual':>12} {'target':>12}  status")
    for name, start, end, actual, target, status in rows:
        click.echo(
            f"  {name[:48]:<48} {start:%Y-%m-%d}..{end:%Y-%m-%d} "
            f"{_amount(actual):>12} {_amount(target):>12}  {status}"
        )


def _amount(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _show_companies(url: str) -> list[dict]:
    companies = httpx.get(f"{url}/_emulator/companies", timeout=30).raise_for_status().json()
    click.echo(f"{'realm id':<18} {'company':<28} {'fiscal year from':<17} currency")
    for company in companies:
        click.echo(
            f"{company['realmId']:<18} {company['name']:<28} "
            f"{company['fiscalYearStartMonth']:<17} {company['homeCurrency']}"
        )
    return companies


def _demo_admin(service: IntegrationService, home: Path) -> Path:
    """The demo organization and its admin; the admin's password is kept in a 0600 file."""
    try:
        service.get_org(DEMO_ORG)
    except NotFound:
        service.create_org(DEMO_ORG, DEMO_ORG_NAME)
    path = home / PASSWORD_FILE
    if service.find_user(DEMO_ADMIN) is None:
        password = secrets.token_urlsafe(12)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(password + "\n")
        service.add_user(DEMO_ADMIN, DEMO_ORG, "admin", password)
    else:
        service.add_user(DEMO_ADMIN, DEMO_ORG, "admin")
    return path


def _connect(service: IntegrationService, realm_id: str) -> None:
    """Connect (or re-authorize) the demo company through the real OAuth flow."""
    current = service.status(DEMO_ORG)
    if current.realm_id and current.status != "disconnected":
        realm_id = current.realm_id  # one company at a time: re-authorize the same one
    authorize_url = service.begin_connect(DEMO_ORG, DEMO_ADMIN, DEMO_REDIRECT_URI)
    params = callback_params(consent(authorize_url, realm_id=realm_id))
    connected = service.complete_connect(
        state=params["state"] or "",
        code=params["code"],
        realm_id=params["realmId"],
        error=params["error"],
        redirect_uri=DEMO_REDIRECT_URI,
    )
    click.echo(f"Connected {DEMO_ORG!r} to {connected.company_name} through the OAuth flow.")
