"""Two emulator companies (fiscal years from January and July; one tracks classes and
departments) synced by the real dlt pipeline into DuckDB files and into Postgres
(QBP_WAREHOUSE_URL: one database, each organization's own schemas), with the same staging and
marts SQL built on each: what the contract tests compare (fixture `backends`, conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from qb_pipeline.config import Settings, load_settings
from qb_pipeline.sources.quickbooks import quickbooks_source
from qb_pipeline.sync.pipeline import loader_file_format, pipeline_for_org
from qb_pipeline.warehouse import run_sql_models, write_connection_status
from qb_pipeline.warehouse.dialect import qualified_sql
from qb_pipeline.warehouse.postgres import PostgresWarehouse
from tests.sources.conftest import Company

BACKENDS = ("duckdb", "postgres")
# organization -> the fiscal year's first month of its company
ORGS = {"contract-jan": 1, "contract-jul": 7}

CONNECTION = {
    "org_id": None,  # the organization's, below
    "realm_id": None,  # its company's
    "company_name": "Contract Co",
    "status": "connected",
    "connected_at": datetime(2026, 11, 1, 9, 30, tzinfo=UTC),
    "last_sync_at": datetime(2026, 11, 15, 2, 0, 5, tzinfo=UTC),
    "last_sync_status": "succeeded",
    "datasets_available": "account, profit_and_loss",
}


class Backend:
    """The synced warehouses of one backend: `query` runs SQL written for the DuckDB names in
    one organization's warehouse, on either."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def connect(self, org: str) -> duckdb.DuckDBPyConnection | PostgresWarehouse:
        if self.settings.warehouse_url is not None:
            return PostgresWarehouse(self.settings.warehouse_url, org)
        return duckdb.connect(str(self.settings.warehouse_path(org)))

    def query(self, org: str, sql: str) -> list[tuple]:
        con = self.connect(org)
        try:
            schemas = con.schemas if isinstance(con, PostgresWarehouse) else {}
            return con.execute(qualified_sql(sql, schemas)).fetchall()
        finally:
            con.close()


def sync(settings: Settings, org: str, company: Company) -> None:
    """The organization's dlt pipeline, as a sync runs it."""
    with company.client() as client:
        pipeline = pipeline_for_org(org, settings, realm_id=company.realm_id)
        source = quickbooks_source(client, org, company.realm_id)
        pipeline.run(source, loader_file_format=loader_file_format(settings))


def synced_backends(
    companies: dict[str, Company], postgres_url: str, homes: Callable[[str], Path]
) -> dict[str, Backend]:
    """Each backend with every company of `companies` synced and its marts built
    (`homes(name)`: a fresh QBP_HOME folder)."""
    built: dict[str, Backend] = {}
    for name in BACKENDS:
        env = {
            "QBP_HOME": str(homes(name)),
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": "http://x",
        }
        if name == "postgres":
            env["QBP_WAREHOUSE_URL"] = postgres_url
        backend = Backend(load_settings(env))
        for org, company in companies.items():
            sync(backend.settings, org, company)
            con = backend.connect(org)
            try:
                run_sql_models(con)
                row = {**CONNECTION, "org_id": org, "realm_id": company.realm_id}
                write_connection_status(con, [row])
            finally:
                con.close()
        built[name] = backend
    return built
