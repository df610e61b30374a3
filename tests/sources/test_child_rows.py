"""Child rows follow their record: a record loaded again brings exactly its new lines, a
deleted one takes its lines along, and another organization's rows are never touched."""

from __future__ import annotations

from qb_pipeline.sync.pipeline import child_tables, pipeline_for_org
from tests.sources.conftest import Company, Warehouse, make_warehouse, realms

ENTITIES = ["Invoice", "Deposit"]  # lines, and lines with their own nested list


def line_counts(warehouse: Warehouse, org: str) -> dict[str, int]:
    rows = warehouse.query(
        "SELECT i.id, count(l._dlt_id) FROM qbo_raw.invoice AS i"
        " LEFT JOIN qbo_raw.invoice__line AS l ON l._dlt_root_id = i._dlt_id"
        " WHERE i.org_id = ? GROUP BY i.id",
        org,
    )
    return dict(rows)


def orphans(warehouse: Warehouse) -> int:
    rows = warehouse.query(
        "SELECT count(*) FROM qbo_raw.invoice__line AS l"
        " WHERE NOT EXISTS (SELECT 1 FROM qbo_raw.invoice AS i WHERE i._dlt_id = l._dlt_root_id)"
    )
    return rows[0][0]


def test_a_resynced_record_replaces_its_lines_and_a_deleted_one_drops_them(
    private_emulator, tmp_path
):
    running = private_emulator()
    company = Company(running, realms(running)[0])
    warehouse = make_warehouse(tmp_path / "qbp-home")
    for org in ("acme", "beta"):
        warehouse.sync(org, company, entities=ENTITIES, include_reports=False)
    beta_before = line_counts(warehouse, "beta")
    invoices = [i for i in company.backend.records("Invoice") if len(i["Line"]) >= 2]
    shrunk, grown, deleted = invoices[:3]
    company.control("PATCH", f"entities/Invoice/{shrunk['Id']}", json={"Line": shrunk["Line"][:1]})
    more = [*grown["Line"], {**grown["Line"][0], "Id": "99"}]
    company.control("PATCH", f"entities/Invoice/{grown['Id']}", json={"Line": more})
    company.control("DELETE", f"entities/Invoice/{deleted['Id']}")
    company.control("POST", "clock", json={"advance_days": 1})

    warehouse.sync("acme", company, entities=ENTITIES, include_reports=False)

    expected = {i["Id"]: len(i["Line"]) for i in company.backend.records("Invoice")}
    assert line_counts(warehouse, "acme") == expected
    assert expected[shrunk["Id"]] == 1
    assert expected[grown["Id"]] == len(grown["Line"])
    assert deleted["Id"] not in expected
    assert orphans(warehouse) == 0
    assert line_counts(warehouse, "beta") == beta_before, "beta has not synced since"


def test_child_tables_are_found_from_the_schema(synced):
    company = synced.tenants["acme"]
    pipeline = pipeline_for_org("acme", synced.warehouse.settings, realm_id=company.realm_id)
    children = child_tables(pipeline)
    assert children["invoice__line"] == "invoice"
    assert children["deposit__line__linked_txn"] == "deposit"
    assert "invoice" not in children
    assert "report_lines" not in children
