"""The `qb-pipeline` command line: one group, its commands in one module per area.

- accounts.py: organizations, users and roles, personal access tokens;
- integration.py: connect, status, disconnect, settings, sync;
- alerts.py: goal alert subscriptions, webhook endpoints, the delivery log;
- goals.py: QuickBooks Goals (validate, apply, create, update, archive, list, ...);
- warehouse.py: the BI reference; web.py: the web app; emulator.py: the emulator and the demo;
- options.py: what they share.

Every module imports only click at module level (the rest inside the commands), so
`qb-pipeline --help` stays fast.
"""

from __future__ import annotations

import os

import click

from qb_pipeline.cli import accounts, alerts, emulator, goals, integration, warehouse, web

# Telemetry stays off for every entry point, tests and CI included.
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


@click.group()
@click.version_option(package_name="qb-pipeline")
def main() -> None:
    """qb-goals: QuickBooks Online goal tracking on Dagster + dlt + DuckDB."""


for command in (
    emulator.sandbox,
    emulator.demo,
    web.web,
    warehouse.warehouse,
    accounts.orgs,
    accounts.users,
    integration.connect,
    integration.status,
    integration.disconnect,
    integration.settings_command,
    integration.sync,
    accounts.tokens,
    goals.goals,
    alerts.alerts,
):
    main.add_command(command)
