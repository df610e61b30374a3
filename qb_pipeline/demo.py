"""The README's main job on the embedded default: the bundled emulator and local files.

Starts the QuickBooks Online emulator, shows the companies it serves, then plays the user
story on it:

1. a demo organization with an admin connects one QuickBooks company through the real OAuth
   flow (the emulator's consent pages answered by a script);
2. the `quickbooks_sync` Dagster job imports it (accounts, lists, transactions, reports);
3. `dagster dev` (webserver and daemon) and the web app start on the same QBP_HOME, the
   example goals of goal_models/demo are applied into the goal store, and one more goal is
   created through the JSON API with a personal access token: nobody launches anything, the
   goal reads "computing" until the run queue has computed it, then shows its values;
4. the goals are printed from the serving copy BI tools read.

Everything lands under QBP_HOME (default ./.qbp) and survives re-runs: the organization is
reused, the same company re-authorized, the goal files applied again (unchanged), and the
API goal, already there, gets a new target instead.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
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
from qb_pipeline.sandbox import EmulatorSettings, free_port, start_in_thread
from qb_pipeline.sandbox.testing.consent import callback_params, consent
from qb_pipeline.sync.progress import Progress

DEMO_ORG = "demo"
DEMO_ORG_NAME = "Demo Organization"
DEMO_ADMIN = "admin@demo.example"
# Where the web app would receive the callback; the emulator's demo app accepts loopback URIs.
DEMO_REDIRECT_URI = "http://127.0.0.1:8000/integrations/quickbooks/callback"
PASSWORD_FILE = "demo-admin-password"
# The goal the demo creates through the JSON API (and re-targets on a re-run).
API_GOAL = {
    "id": "net-income-quarterly",
    "name": "Quarterly net income",
    "description": "Net income of each fiscal quarter, created through the JSON API.",
    "dataset": "profit_and_loss",
    "tracks": {"line": {"group": "NetIncome"}},
    "grain": "quarter",
    "target": {"value": 30000},
}
COMPUTE_DEADLINE_SECONDS = 300


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
        serving = settings.serving_path(DEMO_ORG)
        _show_imported(serving)
        with _services(settings, emulator.url) as (dagster_url, web_url):
            live = replace(settings, dagster_url=dagster_url)
            _apply_goal_files(IntegrationService(live))
            _goal_through_the_api(service, web_url)
            _show_goals(serving)
            click.echo(
                f"\nThe Dagster UI (runs, assets, sensors): {dagster_url}\n"
                f"The web app: {web_url} (sign in as {DEMO_ADMIN}, password in {password})\n"
                f"BI tools read the serving copy: duckdb -readonly {serving}"
            )
            if keep_running:
                click.echo("Serving until Ctrl-C.")
                threading.Event().wait()
        click.echo(
            "\nEvery Intuit endpoint is served on the emulator's origin, e.g. the OpenID "
            f"discovery document at {emulator.url}/.well-known/openid_sandbox_configuration"
        )
    finally:
        emulator.stop()


def _sync(settings: Settings, today: date) -> None:
    """Run the `quickbooks_sync` job for the demo organization, as `qb-pipeline sync` does."""
    from qb_pipeline.sync.runner import sync_org

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


@contextmanager
def _services(settings: Settings, emulator_url: str) -> Iterator[tuple[str, str]]:
    """`dagster dev` and the web app on the demo's QBP_HOME: (Dagster URL, web app URL)."""
    import uvicorn

    from qb_pipeline.sync.dagster_dev import DagsterDev
    from qb_pipeline.web.app import create_app

    dagster_port, web_port = free_port(), free_port()
    dagster_url = f"http://127.0.0.1:{dagster_port}"
    env = {
        "QBP_HOME": str(settings.home),
        "QBP_SECRET_KEY": settings.secret_key or "",
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": emulator_url,
        "QBP_DAGSTER_URL": dagster_url,
        # A loaded laptop can take longer than Dagster's default 60 s to load the code.
        "DAGSTER_GRPC_TIMEOUT_SECONDS": "300",
    }
    click.echo(f"\nStarting Dagster (webserver and daemon) on {dagster_url} ...")
    dagster = DagsterDev(settings, dagster_port, settings.home / "dagster-dev.log", env)
    server = None
    try:
        dagster.wait_ready()
        web_settings = replace(
            settings,
            dagster_url=dagster_url,
            redirect_uri=f"http://127.0.0.1:{web_port}/integrations/quickbooks/callback",
        )
        config = uvicorn.Config(
            create_app(web_settings),
            host="127.0.0.1",
            port=web_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="demo-web", daemon=True)
        thread.start()
        while not server.started and thread.is_alive():
            time.sleep(0.05)  # the polling period, not a wait for something to happen
        yield dagster_url, f"http://127.0.0.1:{web_port}"
    finally:
        if server is not None:
            server.should_exit = True
        if not dagster.stop():
            click.echo("warning: dagster dev left processes behind; they were stopped", err=True)


def _apply_goal_files(service: IntegrationService) -> None:
    """The example goals of goal_models/demo, applied into the store as file-managed goals."""
    from qb_pipeline.cli.goals import apply_goal_files

    goals_dir = Path(os.environ.get("QBP_GOALS_DIR") or "goal_models")
    click.echo(f"\nApplying the goal files of {goals_dir / DEMO_ORG} (qb-pipeline goals apply):")
    planned, _changes = apply_goal_files(service, DEMO_ADMIN, [goals_dir / DEMO_ORG], goals_dir)
    if planned.blocked or planned.problems:
        why = [str(p) for p in planned.problems] + [
            w for ws in planned.blocked.values() for w in ws
        ]
        raise click.ClickException("the demo's goal files were not applied: " + "; ".join(why))


def _goal_through_the_api(service: IntegrationService, web_url: str) -> None:
    """Create (or, on a re-run, re-target) a goal with the JSON API, then wait, as a client
    would, until it has computed by itself."""
    token = service.create_access_token(DEMO_ADMIN, DEMO_ORG, "demo run")
    api = f"{web_url}/api/v1/orgs/{DEMO_ORG}"
    with httpx.Client(headers={"Authorization": f"Bearer {token.token}"}, timeout=30) as http:
        started = time.monotonic()
        answer = http.post(f"{api}/goals", json=API_GOAL)
        if answer.status_code == 409:  # there from an earlier run: a new target instead
            current = http.get(f"{api}/goals/{API_GOAL['id']}").raise_for_status()
            target = current.json()["goal"]["definition"]["target"]["value"] + 1000
            answer = http.patch(
                f"{api}/goals/{API_GOAL['id']}",
                json={"target": {"value": target}},
                headers={"If-Match": current.headers["ETag"]},
            )
        answer.raise_for_status()
        goal = answer.json()["goal"]
        click.echo(
            f"\nPOST {api}/goals -> {answer.status_code}: goal {goal['id']!r} version "
            f"{goal['version']}, computing={goal['computing']}"
        )
        while goal["computing"]:
            if time.monotonic() - started > COMPUTE_DEADLINE_SECONDS:
                raise click.ClickException(
                    f"the goal was still computing after {COMPUTE_DEADLINE_SECONDS} s"
                )
            time.sleep(0.5)  # a client's polling period
            goal = http.get(f"{api}/goals/{goal['id']}").raise_for_status().json()["goal"]
        values = http.get(f"{api}/goal_values", params={"goal_id": goal["id"]}).json()
    took = time.monotonic() - started
    click.echo(
        f"It computed by itself in {took:.1f} s (a goals run through Dagster's run queue); "
        f"{len(values['values'])} periods, the latest:"
    )
    for row in values["values"][-2:]:
        click.echo(
            f"  {row['period_start']}..{row['period_end']} actual {_amount(row['actual'])} "
            f"target {_amount(row['target'])} {row['status']}"
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
    """The demo's goals as the goals runs computed them, from the serving copy."""
    with duckdb.connect(str(serving), read_only=True) as con:
        try:
            rows = con.execute(LATEST_GOAL_VALUES, [DEMO_ORG]).fetchall()
        except duckdb.CatalogException:
            rows = []  # no goal was ever computed: marts.goal_values does not exist yet
    if not rows:
        click.echo("\nNo QuickBooks Goals were computed for the demo organization.")
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
