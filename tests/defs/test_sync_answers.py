"""The Dagster sync meets a QuickBooks answer of the wrong shape: the run fails with a
message naming the endpoint, the sync log says failed, nothing is lost or disconnected, and
the next clean sync imports exactly what a sync that never met it did. A corrupting proxy
stands between the pipeline (QBO_EMULATOR_URL) and the emulator."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator

import duckdb
import httpx
import pytest

from qb_pipeline.connections import IntegrationService
from qb_pipeline.sync.runner import sync_org
from tests.answer_proxy import CorruptingProxy, drop
from tests.connections.conftest import ADMIN, add_team, connect_company

pytestmark = pytest.mark.slow

DLT_COLUMNS = {"_dlt_id", "_dlt_load_id", "_dlt_parent_id", "_dlt_root_id", "pulled_at"}


def sync(org: str):
    return sync_org(org, lock_wait_seconds=0.5)


def add_connected(service: IntegrationService, org: str) -> None:
    """An organization connected to the emulator's demo company, one year of reports back
    (the least there is: the test is about the entities' CDC)."""
    add_team(service, org)
    service.update_settings(org, ADMIN, history_years=1)
    connect_company(service, org)


def raw_tables_of(warehouse, org: str) -> dict[str, list[tuple]]:
    """Every qbo_raw table's rows of one organization, without what differs between two
    organizations' syncs of the same data (dlt's row ids and load ids, the pull time)."""
    out: dict[str, list[tuple]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        listed = "SELECT table_name, column_name FROM information_schema.columns"
        columns_of: dict[str, list[str]] = {}
        for table, column in con.execute(f"{listed} WHERE table_schema = 'qbo_raw'").fetchall():
            columns_of.setdefault(table, []).append(column)
        for table, columns in sorted(columns_of.items()):
            if "org_id" not in columns:
                continue  # dlt's own tables
            keep = ", ".join(f'"{c}"' for c in columns if c not in DLT_COLUMNS | {"org_id"})
            rows = con.execute(
                f'SELECT {keep} FROM qbo_raw."{table}" WHERE org_id = ?', [org]
            ).fetchall()
            out[table] = sorted(rows, key=repr)
    return out


def digest(path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.fixture
def proxied(make_emulator, make_env) -> Iterator[tuple[CorruptingProxy, IntegrationService]]:
    running = make_emulator(limits_enabled=False)
    with CorruptingProxy(running.url) as proxy:
        yield proxy, IntegrationService(make_env(proxy.url))


def test_a_cdc_answer_without_changes_list_fails_the_sync_and_the_next_one_misses_nothing(
    proxied,
):
    """The issue's case: without the fix, the broken sync reported "0 changes ... succeeded"
    and moved its checkpoints, and the next sync never imported those days' changes."""
    proxy, service = proxied
    for org in ("acme", "twin"):  # `twin` syncs the same company and never meets the proxy's lie
        add_connected(service, org)
        assert sync(org).succeeded
    realm = service.status("acme").realm_id
    httpx.post(
        f"{proxy.upstream}/_emulator/companies/{realm}/activity",
        json={"days": 3, "change_ratio": 0.05, "seed": 5},
    ).raise_for_status()
    proxy.corrupt("cdc", drop("CDCResponse"))

    broken = sync("acme")

    assert proxy.rewritten["cdc"] >= 1
    assert not broken.succeeded
    assert broken.failed_steps == ["quickbooks_raw"]
    assert broken.message.startswith(
        f"QuickBooks answered /v3/company/{realm}/cdc in an unexpected shape: $.CDCResponse: "
        "expected a list, found nothing (the member is missing) (HTTP 200, intuit_tid "
    )
    last = service.status("acme").last_sync
    assert (last.status, last.message) == ("failed", broken.message)

    proxy.clear()
    assert sync("acme").succeeded
    assert sync("twin").succeeded

    acme = raw_tables_of(service.config.warehouse_path("acme"), "acme")
    assert acme == raw_tables_of(service.config.warehouse_path("twin"), "twin")
    assert acme["invoice"]
    assert acme["invoice__line"]  # child rows carry org_id too, so they are compared


def test_a_broken_token_answer_fails_the_sync_and_keeps_the_connection(proxied):
    proxy, service = proxied
    add_connected(service, "acme")
    settings = service.config
    with sqlite3.connect(settings.home / "control.sqlite3") as conn:
        stored = conn.execute("SELECT * FROM quickbooks_connections").fetchall()
    httpx.post(f"{proxy.upstream}/_emulator/oauth/expire-access-tokens").raise_for_status()
    proxy.corrupt("token", drop("access_token"))

    broken = sync("acme")

    assert proxy.rewritten["token"] >= 1
    assert not broken.succeeded
    assert broken.message.startswith(
        "QuickBooks answered /oauth2/v1/tokens/bearer in an unexpected shape: $.access_token: "
        "expected non-empty text, found nothing (the member is missing)"
    )
    assert service.status("acme").status == "connected"
    with sqlite3.connect(settings.home / "control.sqlite3") as conn:
        assert conn.execute("SELECT * FROM quickbooks_connections").fetchall() == stored
    last = service.status("acme").last_sync
    assert (last.status, last.message) == ("failed", broken.message)
    assert digest(settings.serving_path("acme")) is None  # nothing was published

    proxy.clear()
    fixed = sync("acme")

    assert fixed.succeeded, fixed.message
    assert service.status("acme").last_sync.status == "succeeded"
    assert raw_tables_of(settings.warehouse_path("acme"), "acme")["invoice"]
