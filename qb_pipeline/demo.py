"""The README's main job on the embedded default.

Today it starts the bundled QuickBooks Online emulator and shows what it serves, reading it
the way any QuickBooks client would (OAuth token, queries, a report). Later stages of the
pipeline (connect, sync, goals) extend this same entry point.
"""

from __future__ import annotations

import threading
from datetime import date

import click
import httpx

from qb_pipeline.sandbox.server import start_in_thread
from qb_pipeline.sandbox.state import EmulatorSettings

DEMO_CLIENT_ID = "qbp-demo-client"
SHOWN_ENTITIES = (
    "Account", "Customer", "Vendor", "Item", "Invoice", "Bill", "Payment", "JournalEntry",
)  # fmt: skip


def _summary_value(report: dict, group: str) -> str:
    """The total of a top-level report line, found by its `group` key."""
    for row in report.get("Rows", {}).get("Row", []):
        if row.get("group") == group:
            cells = row.get("Summary", {}).get("ColData", [])
            return cells[-1]["value"] if cells else ""
    return ""


def run_demo(seed: int, size: str, today: date | None, keep_running: bool) -> None:
    emulator = start_in_thread(EmulatorSettings(seed=seed, size=size, today=today))
    click.echo(f"QuickBooks Online emulator serving on {emulator.url}\n")
    try:
        with httpx.Client(base_url=emulator.url, timeout=60) as client:
            companies = client.get("/_emulator/companies").raise_for_status().json()
            click.echo(f"{'realm id':<18} {'company':<28} {'fiscal year from':<17} currency")
            for company in companies:
                click.echo(
                    f"{company['realmId']:<18} {company['name']:<28} "
                    f"{company['fiscalYearStartMonth']:<17} {company['homeCurrency']}"
                )
            for company in companies:
                _show_company(client, company)
        click.echo(
            "\nEvery Intuit endpoint is served on that origin, e.g. the OpenID discovery "
            f"document at {emulator.url}/.well-known/openid_sandbox_configuration"
        )
        if keep_running:
            click.echo("Serving until Ctrl-C.")
            threading.Event().wait()
    finally:
        emulator.stop()


def _show_company(client: httpx.Client, company: dict) -> None:
    realm = company["realmId"]
    token = client.post(
        "/_emulator/tokens", json={"client_id": DEMO_CLIENT_ID, "realmId": realm}
    ).raise_for_status()
    headers = {
        "Authorization": f"Bearer {token.json()['access_token']}",
        "Accept": "application/json",
    }
    base = f"/v3/company/{realm}"
    click.echo(f"\n{company['name']} ({realm})")
    counts = []
    for entity in SHOWN_ENTITIES:
        answer = client.get(
            f"{base}/query",
            params={"query": f"SELECT COUNT(*) FROM {entity}", "minorversion": "75"},
            headers=headers,
        ).raise_for_status()
        counts.append(f"{entity} {answer.json()['QueryResponse'].get('totalCount', 0)}")
    click.echo("  records: " + ", ".join(counts))
    for basis in ("Accrual", "Cash"):
        report = (
            client.get(
                f"{base}/reports/ProfitAndLoss",
                params={
                    "date_macro": "This Fiscal Year-to-date",
                    "accounting_method": basis,
                    "minorversion": "75",
                },
                headers=headers,
            )
            .raise_for_status()
            .json()
        )
        period = f"{report['Header']['StartPeriod']} to {report['Header']['EndPeriod']}"
        income = _summary_value(report, "Income")
        net_income = _summary_value(report, "NetIncome")
        click.echo(
            f"  profit and loss ({basis.lower()}, {period}): "
            f"income {income}, net income {net_income}"
        )
