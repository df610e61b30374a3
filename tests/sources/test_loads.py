"""A sync in two passes: the entities, then the reports, whose requests went out ahead
(sources/quickbooks/loads.py, report_prefetch.py)."""

from __future__ import annotations

from datetime import date

import pytest

from qb_pipeline.sources.quickbooks import quickbooks_source, sync_session
from qb_pipeline.sources.quickbooks.helpers.dimension_rows import DIMENSION_LINES_TABLE
from qb_pipeline.sources.quickbooks.settings import LOADER_FILE_FORMAT, REPORT_LINES_TABLE
from qb_pipeline.sync.passes import REPORT_RESOURCES, load_passes, reports_sent_ahead
from qb_pipeline.sync.pipeline import pipeline_for_org
from tests.sources.conftest import Company, Warehouse, company_with_fiscal_month, make_warehouse

TODAY = date(2026, 11, 20)
REPORT_COLUMNS = "report_name, basis, period_start, account_id, amount"


def report_requests(company: Company, since: int = 0) -> int:
    """The company's /reports requests in the emulator's log from index `since`."""
    log = company.emulator.state.request_log[since:]
    return sum(1 for e in log if e.realm_id == company.realm_id and "/reports/" in e.path)


def two_pass_sync(warehouse: Warehouse, company: Company) -> tuple[int, int]:
    """A whole sync as the Dagster asset runs it: (requests sent ahead, answers unused)."""
    with company.client() as client:
        session = sync_session(client, "acme", company.realm_id)
        source = quickbooks_source(
            client, "acme", company.realm_id, history_years=1, session=session
        )
        pipeline = pipeline_for_org("acme", warehouse.settings, realm_id=company.realm_id)
        passes = load_passes(source)
        with reports_sent_ahead(pipeline, session, 1, passes):
            for part in passes:
                pipeline.run(part, loader_file_format=LOADER_FILE_FORMAT)
            unused = session.reports.waiting()
    return session.reports.sent, unused


def one_pass_sync(warehouse: Warehouse, company: Company) -> None:
    with company.client() as client:
        source = quickbooks_source(client, "acme", company.realm_id, history_years=1)
        pipeline_for_org("acme", warehouse.settings, realm_id=company.realm_id).run(
            source, loader_file_format=LOADER_FILE_FORMAT
        )


def stored_reports(warehouse: Warehouse) -> list[tuple]:
    return warehouse.query(
        f"SELECT {REPORT_COLUMNS} FROM qbo_raw.{REPORT_LINES_TABLE} ORDER BY ALL"
    ) + warehouse.query(
        "SELECT basis, dimension, period_start, column_key, line_key, amount"
        f" FROM qbo_raw.{DIMENSION_LINES_TABLE} ORDER BY ALL"
    )


@pytest.fixture
def company(make_emulator) -> Company:
    return company_with_fiscal_month(make_emulator(limits_enabled=False, today=TODAY), 1)


def test_the_entities_load_first_and_the_reports_last(company, tmp_path):
    with company.client() as client:
        source = quickbooks_source(client, "acme", company.realm_id)
        entities, reports = load_passes(source)
        assert list(reports.selected_resources) == list(REPORT_RESOURCES)
        assert set(entities.selected_resources).isdisjoint(REPORT_RESOURCES)
        assert len(entities.selected_resources) + 2 == len(source.selected_resources)
        # A run of some tables only: a pass with none of them is left out.
        (only,) = load_passes(source, {"account", "invoice"})
        assert set(only.selected_resources) == {"account", "invoice"}


def test_every_report_request_is_sent_ahead_once_and_used(company, tmp_path):
    warehouse = make_warehouse(tmp_path / "two")
    seen = len(company.emulator.state.request_log)

    sent, unused = two_pass_sync(warehouse, company)

    # The history of one fiscal year plus this one, every report and basis, and the P&L by
    # class and by department month by month.
    assert sent > 50
    assert unused == 0
    # The report resources asked for nothing more (one report may tell the server's time).
    assert report_requests(company, seen) in (sent, sent + 1)


def test_two_passes_store_what_one_pass_stores(company, tmp_path):
    two, one = make_warehouse(tmp_path / "two"), make_warehouse(tmp_path / "one")

    two_pass_sync(two, company)
    one_pass_sync(one, company)

    assert stored_reports(two) == stored_reports(one)
    assert len(stored_reports(two)) > 1000
    counts = "SELECT count(*) FROM qbo_raw.invoice__line"
    assert two.query(counts) == one.query(counts)


def test_a_resync_sends_ahead_only_what_its_state_asks_for(company, tmp_path):
    warehouse = make_warehouse(tmp_path / "two")
    first, _ = two_pass_sync(warehouse, company)
    company.control("POST", "clock", json={"advance_days": 1})
    seen = len(company.emulator.state.request_log)

    sent, unused = two_pass_sync(warehouse, company)

    # Read from the warehouse's pipeline state: the re-pull windows of 5 reports and the
    # current month by class and by department, accrual and cash; not the history again.
    assert 5 + 4 <= sent < first / 3
    assert unused == 0
    assert report_requests(company, seen) in (sent, sent + 1)
