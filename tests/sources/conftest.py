"""Fixtures for the dlt source: real emulators, real QuickBooksClients, real DuckDB files.

`Company` is one QuickBooks company on a running emulator; `Warehouse` is a QBP_HOME with
its DuckDB file, where `sync(org, company)` runs the organization's dlt pipeline exactly
as the Dagster assets do (pipeline_for_org + quickbooks_source, parquet loader files).
Expectations come from the emulator's backend (`running.state.backend`) or its API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from dlt.common.pipeline import LoadInfo

from qb_pipeline.config import Settings, load_settings
from qb_pipeline.quickbooks import QuickBooksClient, RetryPolicy
from qb_pipeline.sandbox import DEMO_CLIENT_ID, RunningEmulator
from qb_pipeline.sandbox import Company as BackendCompany
from qb_pipeline.sources.quickbooks import quickbooks_source
from qb_pipeline.sources.quickbooks.settings import LOADER_FILE_FORMAT, TABLE_NAMES
from qb_pipeline.sync.pipeline import pipeline_for_org
from qb_pipeline.warehouse import run_sql_models
from qb_pipeline.warehouse.catalog import open_catalog
from tests.conftest import emulators

FAST_RETRIES = RetryPolicy(base_delay=0.001, max_delay=0.01, throttle_base_delay=0.001)


@dataclass
class Company:
    """One company (realm) of a running emulator."""

    emulator: RunningEmulator | None  # None: an emulator of another process, at `base_url`
    realm_id: str
    base_url: str = ""

    @property
    def url(self) -> str:
        return self.emulator.url if self.emulator is not None else self.base_url

    @property
    def backend(self) -> BackendCompany:
        assert self.emulator is not None, "the backend is only reachable in-process"
        return self.emulator.state.backend.company(self.realm_id)

    def token(self, rejected: str | None = None) -> str:
        """A fresh access token, as Intuit's OAuth playground would hand out."""
        answer = httpx.post(
            f"{self.url}/_emulator/tokens",
            json={"client_id": DEMO_CLIENT_ID, "realmId": self.realm_id},
        )
        return answer.raise_for_status().json()["access_token"]

    def client(self, **options: Any) -> QuickBooksClient:
        options.setdefault("retry_policy", FAST_RETRIES)
        return QuickBooksClient(self.realm_id, self.url, self.token, **options)

    def control(self, method: str, path: str, **kwargs: Any) -> dict:
        """Call the emulator's control API under /_emulator/companies/{realm}/."""
        answer = httpx.request(
            method, f"{self.url}/_emulator/companies/{self.realm_id}/{path}", **kwargs
        )
        return answer.raise_for_status().json()

    def activity(self, days: int, change_ratio: float, seed: int = 11) -> dict:
        return self.control(
            "POST", "activity", json={"days": days, "change_ratio": change_ratio, "seed": seed}
        )

    def report(self, name: str, **params: str) -> dict:
        with self.client() as client:
            return client.report(name, params)


@dataclass
class SyncResult:
    info: LoadInfo
    requests: int


@dataclass
class Warehouse:
    """A QBP_HOME in tmp_path: one warehouse file and dlt pipeline per organization."""

    home: Path
    settings: Settings
    syncs: list[SyncResult] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)  # in the order of their first sync

    def sync(
        self, org: str, company: Company, client: QuickBooksClient | None = None, **kwargs: Any
    ) -> SyncResult:
        own = client is None
        client = client or company.client()
        if org not in self.orgs:
            self.orgs.append(org)
        try:
            pipeline = pipeline_for_org(org, self.settings, realm_id=company.realm_id)
            source = quickbooks_source(client, org, company.realm_id, **kwargs)
            info = pipeline.run(source, loader_file_format=LOADER_FILE_FORMAT)
        finally:
            if own:
                client.close()
        result = SyncResult(info, client.requests_made)
        self.syncs.append(result)
        return result

    def path(self, org: str | None = None) -> Path:
        """The warehouse file of `org` (default: the only organization synced)."""
        if org is None:
            # Synced here, or by a process of the test (a killed sync, say): the files tell.
            orgs = self.orgs or sorted(p.name for p in (self.home / "orgs").glob("*"))
            assert len(orgs) == 1, f"organizations synced: {orgs}; name one"
            org = orgs[0]
        return self.settings.warehouse_path(org)

    def connect(self, org: str | None = None) -> duckdb.DuckDBPyConnection:
        """A read-only connection; close it before the next sync (DuckDB has one writer).
        With several organizations synced and none named: the operator's catalog over
        their files (warehouse/catalog.py), so one query sees them all."""
        if org is None and len(self.orgs) > 1:
            files = {o: self.settings.warehouse_path(o) for o in self.orgs}
            return open_catalog(files, schemas=("qbo_raw", "qbo", "marts"))
        return duckdb.connect(str(self.path(org)), read_only=True)

    def query(self, sql: str, *params: Any, org: str | None = None) -> list[tuple]:
        with self.connect(org) as con:
            return con.execute(sql, list(params)).fetchall()


def make_warehouse(home: Path) -> Warehouse:
    settings = load_settings(
        {"QBP_HOME": str(home), "QBO_ENVIRONMENT": "emulator", "QBO_EMULATOR_URL": "http://x"}
    )
    return Warehouse(home, settings)


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return make_warehouse(tmp_path / "qbp-home")


@dataclass
class Tenants:
    """A warehouse where two organizations synced two companies of the shared emulator
    (fiscal years from January and from July) in full, staging and marts built."""

    warehouse: Warehouse
    tenants: dict[str, Company]  # org -> company


_SHARED: dict[str, Tenants] = {}


def shared_tenants(running: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Tenants:
    """Built once per test process and emulator: several test folders read it."""
    if running.url not in _SHARED:
        warehouse = make_warehouse(tmp_path_factory.mktemp("tenants") / "qbp-home")
        tenants = {
            "acme": company_with_fiscal_month(running, 1),
            "alder": company_with_fiscal_month(running, 7),
        }
        for org, company in tenants.items():
            warehouse.sync(org, company)
            with duckdb.connect(str(warehouse.path(org))) as con:
                run_sql_models(con)
        _SHARED[running.url] = Tenants(warehouse, tenants)
    return _SHARED[running.url]


@pytest.fixture(scope="session")
def synced(emulator, tmp_path_factory) -> Tenants:
    """Read-only: tests must not sync into it or change its emulator."""
    return shared_tenants(emulator, tmp_path_factory)


def realms(running: RunningEmulator) -> list[str]:
    return [c.realm_id for c in running.state.backend.list_companies()]


def company_with_fiscal_month(running: RunningEmulator, month: int) -> Company:
    for backend in running.state.backend.list_companies():
        if backend.fiscal_year_start_month == month:
            return Company(running, backend.realm_id)
    raise LookupError(f"no company with a fiscal year starting in month {month}")


@pytest.fixture(scope="module")
def private_emulator() -> Iterator[Callable[..., RunningEmulator]]:
    """Module-wide private emulators (limits off) for scenarios that change data."""
    with emulators(limits_enabled=False) as factory:
        yield factory


# -- comparing warehouses ---------------------------------------------------------------------
DLT_COLUMNS = {"_dlt_id", "_dlt_load_id", "_dlt_parent_id", "_dlt_root_id"}


def contents(warehouse: Warehouse) -> dict[str, list[tuple]]:
    """Every qbo_raw table's rows, without dlt's random row ids and the sync's own time."""
    out: dict[str, list[tuple]] = {}
    with warehouse.connect() as con:
        tables = [row[0] for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'qbo_raw'"
            " AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\'").fetchall()]  # fmt: skip
        for table in tables:
            columns = [row[0] for row in con.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'qbo_raw' AND table_name = ? ORDER BY column_name",
                [table]).fetchall()]  # fmt: skip
            keep = [c for c in columns if c not in DLT_COLUMNS and c != "pulled_at"]
            listed = ", ".join(f'"{c}"' for c in keep)
            rows = con.execute(f'SELECT {listed} FROM qbo_raw."{table}"').fetchall()
            out[table] = sorted(rows, key=repr)
    return out


# -- comparing the warehouse with the emulator ----------------------------------------------
def backend_versions(company: BackendCompany, entity: str) -> dict[str, tuple[str, datetime]]:
    """{Id: (SyncToken, LastUpdatedTime)} of every record QuickBooks has."""
    return {
        r["Id"]: (r["SyncToken"], datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"]))
        for r in company.records(entity)
    }


def stored_versions(
    warehouse: Warehouse, entity: str, org: str, realm_id: str
) -> dict[str, tuple[str, datetime]]:
    """The same from the warehouse; fails on duplicate ids."""
    table = TABLE_NAMES[entity]
    rows = warehouse.query(
        f'SELECT id, sync_token, updated_at FROM qbo_raw."{table}" '
        "WHERE org_id = ? AND realm_id = ?",
        org,
        realm_id,
    )
    versions = {row[0]: (row[1], row[2]) for row in rows}
    assert len(versions) == len(rows), f"{table} holds duplicate ids"
    return versions
