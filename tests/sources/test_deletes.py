"""Hard-deleted transactions leave the warehouse: through CDC within its 30 days, through a
full reload of the entity after that, and never at the expense of another tenant's rows."""

from __future__ import annotations

import httpx

from tests.sources.conftest import (
    Company,
    backend_versions,
    make_warehouse,
    realms,
    stored_versions,
)

ENTITIES = ["Purchase", "Invoice"]  # a narrow sync keeps these tests quick


def delete(company: Company, entity: str, record_id: str) -> None:
    company.control("DELETE", f"entities/{entity}/{record_id}")


def test_a_deletion_older_than_cdcs_window_is_found_by_a_full_reload(private_emulator, tmp_path):
    running = private_emulator()
    company = Company(running, realms(running)[0])
    warehouse = make_warehouse(tmp_path / "qbp-home")
    warehouse.sync("acme", company, entities=ENTITIES, include_reports=False)
    victim = company.backend.records("Purchase")[5]["Id"]
    delete(company, "Purchase", victim)
    company.control("POST", "clock", json={"advance_days": 40})

    warehouse.sync("acme", company, entities=ENTITIES, include_reports=False)

    for entity in ENTITIES:
        assert stored_versions(warehouse, entity, "acme", company.realm_id) == (
            backend_versions(company.backend, entity)
        )
    log = running.state.request_log
    cdc_answers = [e.status for e in log if e.path.endswith("/cdc") or "/cdc?" in e.path]
    assert cdc_answers, "the second sync asked CDC first"
    assert cdc_answers[-1] == 400, "CDC refused the 40-day-old window"


def test_a_full_reload_deletes_only_its_own_organizations_rows(private_emulator, tmp_path):
    """Two organizations load the same company; one of them reloads after the deletion."""
    running = private_emulator()
    company = Company(running, realms(running)[0])
    warehouse = make_warehouse(tmp_path / "qbp-home")
    for org in ("acme", "beta"):
        warehouse.sync(org, company, entities=ENTITIES, include_reports=False)
    victim = company.backend.records("Purchase")[3]["Id"]
    delete(company, "Purchase", victim)
    company.control("POST", "clock", json={"advance_days": 40})

    warehouse.sync("acme", company, entities=ENTITIES, include_reports=False)

    def holds(org: str) -> bool:
        rows = warehouse.query(
            "SELECT count(*) FROM qbo_raw.purchase WHERE org_id = ? AND id = ?", org, victim
        )
        return rows[0][0] == 1

    assert not holds("acme")
    assert holds("beta"), "beta has not synced since; its copy stays until it does"


def test_deletions_within_cdcs_window_come_from_cdc_without_a_full_read(private_emulator, tmp_path):
    running = private_emulator()
    company = Company(running, realms(running)[0])
    warehouse = make_warehouse(tmp_path / "qbp-home")
    warehouse.sync("acme", company, entities=ENTITIES, include_reports=False)
    victims = [r["Id"] for r in company.backend.records("Invoice")[:3]]
    for victim in victims:
        delete(company, "Invoice", victim)
    company.control("POST", "clock", json={"advance_days": 20})
    httpx.delete(f"{running.url}/_emulator/requests").raise_for_status()

    result = warehouse.sync("acme", company, entities=ENTITIES, include_reports=False)

    assert stored_versions(warehouse, "Invoice", "acme", company.realm_id) == (
        backend_versions(company.backend, "Invoice")
    )
    paths = [e.path for e in running.state.request_log]
    assert not any("/query" in p for p in paths), paths
    assert result.requests == 1  # the one CDC request


def test_more_changes_than_cdc_lists_are_read_by_query_and_deletions_still_found(
    private_emulator, tmp_path
):
    running = private_emulator()
    company = Company(running, realms(running)[0])
    warehouse = make_warehouse(tmp_path / "qbp-home")
    warehouse.sync("acme", company, entities=ENTITIES, include_reports=False)
    template = {
        key: value
        for key, value in company.backend.records("Purchase")[0].items()
        if key not in ("Id", "SyncToken", "MetaData", "domain", "sparse")
    }
    with httpx.Client(base_url=f"{company.url}/_emulator/companies/{company.realm_id}") as ctl:
        for _ in range(1010):  # CDC lists at most 1,000 changes per entity
            ctl.post("/entities/Purchase", json=template).raise_for_status()
        victims = [r["Id"] for r in company.backend.records("Purchase")[:4]]
        for victim in victims:
            ctl.delete(f"/entities/Purchase/{victim}").raise_for_status()

    warehouse.sync("acme", company, entities=ENTITIES, include_reports=False)

    assert stored_versions(warehouse, "Purchase", "acme", company.realm_id) == (
        backend_versions(company.backend, "Purchase")
    )
    cdc_calls = [e for e in running.state.request_log if "/cdc" in e.path]
    assert len(cdc_calls) >= 2, "CDC was followed past its cap for the deletions"
