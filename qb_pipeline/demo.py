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
import httpx

from qb_pipeline.config import load_settings
from qb_pipeline.connections.crypto import ensure_demo_secret_key
from qb_pipeline.connections.errors import NotFound
from qb_pipeline.connections.service import IntegrationService
from qb_pipeline.connections.status_text import status_lines
from qb_pipeline.sandbox.consent import callback_params, consent
from qb_pipeline.sandbox.server import start_in_thread
from qb_pipeline.sandbox.state import EmulatorSettings

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
        click.echo("")
        for line in status_lines(service.status(DEMO_ORG)):
            click.echo(f"  {line}")
        click.echo(
            "\nEvery Intuit endpoint is served on the emulator's origin, e.g. the OpenID "
            f"discovery document at {emulator.url}/.well-known/openid_sandbox_configuration"
        )
        if keep_running:
            click.echo("Serving until Ctrl-C.")
            threading.Event().wait()
    finally:
        emulator.stop()


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
