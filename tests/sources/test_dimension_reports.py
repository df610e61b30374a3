"""P&L by class and by department: one request per month for what the company tracks,
amounts equal to QuickBooks' own Classes/Departments reports, summing back to the monthly
P&L; a company without class tracking asks for none; re-syncs re-pull only the months
since the previous pull, and the open fiscal year and the trailing window once a week."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import httpx
import pytest

from qb_pipeline.quickbooks import flatten_report
from qb_pipeline.sources.quickbooks import quickbooks_source
from qb_pipeline.sources.quickbooks.helpers.dimension_reports import (
    OPEN_YEAR_REPULL_DAYS,
    open_year_due,
)
from qb_pipeline.sources.quickbooks.helpers.dimension_rows import DIMENSION_LINES_TABLE
from qb_pipeline.sources.quickbooks.helpers.periods import add_months, month_end
from qb_pipeline.sources.quickbooks.settings import LOADER_FILE_FORMAT
from qb_pipeline.sync.pipeline import pipeline_for_org
from qb_pipeline.warehouse import model, run_model
from tests.sources.conftest import Company, Warehouse, company_with_fiscal_month, make_warehouse

SUMMARIZE = {"class": "Classes", "department": "Departments"}


def emulator_by_dimension(
    company: Company, dimension: str, basis: str, start: date, end: date
) -> dict[tuple[str, str | None], Decimal]:
    """{(account_id, member id or None for "Not Specified"): amount} of QuickBooks' own
    ProfitAndLoss by Classes (Departments) over [start, end]: account lines only."""
    report = company.report(
        "ProfitAndLoss",
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        accounting_method=basis,
        summarize_column_by=SUMMARIZE[dimension],
    )
    found: dict[tuple[str, str | None], Decimal] = {}
    for line in flatten_report(report):
        key = line["column_key"]
        if key == "total" or not line["account_id"] or line["is_summary"]:
            continue
        if line["amount"] is not None:
            member = None if key == "not_specified" else key
            found[(line["account_id"], member)] = line["amount"]
    return found


def stored_by_dimension(
    warehouse: Warehouse, org: str, dimension: str, basis: str, month: date
) -> dict[tuple[str, str | None], Decimal]:
    rows = warehouse.query(
        "SELECT account_id, dimension_id, amount FROM marts.pnl_monthly_by_dimension"
        " WHERE org_id = ? AND dimension = ? AND basis = ? AND month = ?",
        org,
        dimension,
        basis.lower(),
        month,
    )
    return {(account, member): amount for account, member, amount in rows}


def months_back(today: date, counts: Iterable[int]) -> list[date]:
    return [add_months(today.replace(day=1), -n) for n in counts]


@pytest.mark.parametrize("dimension", ["class", "department"])
@pytest.mark.parametrize("basis", ["Accrual", "Cash"])
def test_amounts_per_month_equal_the_emulators_report_by_classes_and_departments(
    synced, dimension, basis
):
    company = synced.tenants["acme"]  # Harbor & Pine: classes and locations
    today = company.backend.today()
    for month in months_back(today, (0, 1, 11, 30, 46)):
        end = min(month_end(month), today)
        expected = emulator_by_dimension(company, dimension, basis, month, end)
        assert expected, f"no {dimension} activity in {month}"
        assert any(member is None for _, member in expected) or dimension == "class"
        stored = stored_by_dimension(synced.warehouse, "acme", dimension, basis, month)
        assert stored == expected, (dimension, basis, month)


def test_not_specified_amounts_have_no_id_and_a_name_saying_so(synced):
    rows = synced.warehouse.query(
        "SELECT DISTINCT dimension, dimension_name FROM marts.pnl_monthly_by_dimension"
        " WHERE org_id = 'acme' AND dimension_id IS NULL ORDER BY 1"
    )
    assert rows == [("class", "Not specified"), ("department", "Not specified")]


def test_members_are_named_by_their_fully_qualified_name(synced):
    company = synced.tenants["acme"]
    for dimension, entity in (("class", "Class"), ("department", "Department")):
        names = dict(
            synced.warehouse.query(
                "SELECT DISTINCT dimension_id, dimension_name FROM marts.pnl_monthly_by_dimension"
                " WHERE org_id = 'acme' AND dimension = ? AND dimension_id IS NOT NULL",
                dimension,
            )
        )
        records = {r["Id"]: r["FullyQualifiedName"] for r in company.backend.records(entity)}
        assert names
        assert names == {member: records[member] for member in names}


@pytest.mark.parametrize("dimension", ["class", "department"])
def test_amounts_by_dimension_sum_back_to_pnl_monthly(synced, dimension):
    mismatches = synced.warehouse.query(
        """
        WITH split AS (
            SELECT org_id, realm_id, basis, month, account_id, sum(amount) AS amount
            FROM marts.pnl_monthly_by_dimension
            WHERE dimension = ?
            GROUP BY ALL
        )
        SELECT p.basis, p.month, p.account_id, p.amount, s.amount
        FROM (SELECT * FROM marts.pnl_monthly WHERE org_id = 'acme') AS p
        FULL JOIN (SELECT * FROM split WHERE org_id = 'acme') AS s
            USING (org_id, realm_id, basis, month, account_id)
        WHERE p.amount IS DISTINCT FROM s.amount
        """,
        dimension,
    )
    assert mismatches == []
    months = synced.warehouse.query(
        "SELECT count(DISTINCT month) FROM marts.pnl_monthly_by_dimension"
        " WHERE org_id = 'acme' AND dimension = ?",
        dimension,
    )
    assert months[0][0] == 47  # three fiscal years and the current one up to November


def test_a_company_without_class_tracking_has_no_rows_by_dimension(synced):
    rows = synced.warehouse.query(
        "SELECT count(*) FROM qbo_raw.report_dimension_lines WHERE org_id = 'alder'"
    )
    assert rows == [(0,)]


# -- requests --------------------------------------------------------------------------------
def sync_resources(
    warehouse: Warehouse, org: str, company: Company, *tables: str, history_years: int = 3
) -> int:
    """Run the source with only `tables`' resources; the QuickBooks requests it made."""
    with company.client() as client:
        source = quickbooks_source(client, org, company.realm_id, history_years=history_years)
        source = source.with_resources(*tables)
        pipeline = pipeline_for_org(org, warehouse.settings, realm_id=company.realm_id)
        pipeline.run(source, loader_file_format=LOADER_FILE_FORMAT)
        return client.requests_made


def report_requests(company: Company, since: int) -> list[str]:
    log = company.emulator.state.request_log[since:]
    return [e.path.rsplit("/", 1)[-1] for e in log if "/reports/" in e.path]


def test_a_company_without_class_tracking_makes_no_dimension_requests(make_emulator, tmp_path):
    running = make_emulator(limits_enabled=False)
    company = company_with_fiscal_month(running, 7)  # Alder Creek: no classes, no locations
    prefs = company.backend.records("Preferences")[0]["AccountingInfoPrefs"]
    assert not prefs["ClassTrackingPerTxnLine"]
    assert not prefs["TrackDepartments"]
    warehouse = make_warehouse(tmp_path / "qbp-home")

    requests = sync_resources(warehouse, "alder", company, DIMENSION_LINES_TABLE)

    assert report_requests(company, 0) == []
    assert requests == 1  # the Preferences
    # The table exists all the same, so the staging views build.
    assert warehouse.query(f"SELECT count(*) FROM qbo_raw.{DIMENSION_LINES_TABLE}") == [(0,)]


def journal_entry(day: date, debit: str, credit: str, amount: float, class_id: str) -> dict:
    def line(posting: str, account: str) -> dict:
        detail = {"PostingType": posting, "AccountRef": {"value": account},
                  "ClassRef": {"value": class_id}}  # fmt: skip
        return {"Amount": amount, "DetailType": "JournalEntryLineDetail",
                "JournalEntryLineDetail": detail}  # fmt: skip

    return {
        "TxnDate": day.isoformat(),
        "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        "Line": [line("Debit", debit), line("Credit", credit)],
    }


def top_account(company: Company, account_type: str) -> str:
    return next(
        a["Id"]
        for a in company.backend.records("Account")
        if a["AccountType"] == account_type and a["Active"] and not a.get("ParentRef")
    )


def class_amount(warehouse: Warehouse, month: date, account: str, class_id: str) -> Decimal:
    rows = warehouse.query(
        "SELECT amount FROM marts.pnl_monthly_by_dimension WHERE org_id = 'acme'"
        " AND basis = 'accrual' AND dimension = 'class' AND month = ? AND account_id = ?"
        " AND dimension_id = ?",
        month,
        account,
        class_id,
    )
    return rows[0][0] if rows else Decimal(0)


def stored_lines_before(warehouse: Warehouse, month: date) -> list[tuple]:
    return warehouse.query(
        "SELECT basis, dimension, period_start, column_key, line_key, amount, pulled_at"
        f" FROM qbo_raw.{DIMENSION_LINES_TABLE} WHERE period_start < ? ORDER BY ALL",
        month,
    )


# -- nightly: the months since the previous pull; weekly: the open year and trailing window --
# 20 November 2026, fiscal years from January: the open year is January..November (11 months).
DAY_ONE = date(2026, 11, 20)
OPEN_YEAR = [date(2026, month, 1) for month in range(1, 12)]
DIMENSION_TABLES = ("account", DIMENSION_LINES_TABLE)


def build_dimension_mart(warehouse: Warehouse) -> None:
    """The by-dimension mart (views) over the raw tables: later syncs show through it."""
    with duckdb.connect(str(warehouse.path())) as con:
        for name in ("qbo.accounts", "qbo.pnl_monthly_by_dimension",
                     "marts.pnl_monthly_by_dimension"):  # fmt: skip
            run_model(con, model(name))


def synced_on_day_one(make_emulator, tmp_path) -> tuple[Company, Warehouse]:
    """A private emulator on DAY_ONE, its January company synced (the current fiscal year
    only: the history is not what these tests are about) and the by-dimension mart built."""
    running = make_emulator(limits_enabled=False, today=DAY_ONE)
    company = company_with_fiscal_month(running, 1)
    warehouse = make_warehouse(tmp_path / "qbp-home")
    sync_resources(warehouse, "acme", company, *DIMENSION_TABLES, history_years=0)
    build_dimension_mart(warehouse)
    return company, warehouse


def emulator_requests(company: Company, since: int = 0) -> list[dict]:
    """The emulator's log of the company's /v3 requests from log index `since`."""
    answer = httpx.get(
        f"{company.url}/_emulator/requests",
        params={"realmId": company.realm_id, "since": since},
    )
    return answer.raise_for_status().json()


def profit_and_loss_requests(company: Company, since: int) -> int:
    return sum(1 for r in emulator_requests(company, since) if r["path"].endswith("/ProfitAndLoss"))


def next_log_index(company: Company) -> int:
    logged = emulator_requests(company)
    return logged[-1]["index"] + 1 if logged else 0


def resync_days_later(warehouse: Warehouse, company: Company, days: int) -> tuple[int, list[tuple]]:
    """Move the company's clock `days` on and sync again: (ProfitAndLoss requests of the
    sync, the (month, basis, dimension) it pulled, from the months' period markers)."""
    company.control("POST", "clock", json={"advance_days": days})
    since = next_log_index(company)
    sync_resources(warehouse, "acme", company, *DIMENSION_TABLES, history_years=0)
    pulled = warehouse.query(
        "SELECT period_start, basis, dimension"
        f" FROM qbo_raw.{DIMENSION_LINES_TABLE} WHERE row_kind = 'period'"
        f" AND pulled_at = (SELECT max(pulled_at) FROM qbo_raw.{DIMENSION_LINES_TABLE})"
        " ORDER BY ALL"
    )
    return profit_and_loss_requests(company, since), pulled


def months_of(pulled: list[tuple]) -> list[date]:
    return sorted({month for month, _, _ in pulled})


def post_class_entry(company: Company, day: date, amount: float) -> tuple[str, str]:
    """A class-tagged journal entry dated `day`: (expense account, class) it moves."""
    expense, bank = top_account(company, "Expense"), top_account(company, "Bank")
    retail = company.backend.records("Class")[0]["Id"]
    entry = journal_entry(day, expense, bank, amount=amount, class_id=retail)
    company.control("POST", "entities/JournalEntry", json=entry)
    return expense, retail


def test_a_sync_a_day_later_repulls_only_the_current_month(make_emulator, tmp_path):
    company, warehouse = synced_on_day_one(make_emulator, tmp_path)
    october = date(2026, 10, 1)
    untouched = stored_lines_before(warehouse, date(2026, 11, 1))
    expense, retail = post_class_entry(company, date(2026, 10, 14), amount=1234.5)
    before = class_amount(warehouse, october, expense, retail)

    requests, pulled = resync_days_later(warehouse, company, days=1)

    # 1 month x 2 bases x 2 dimensions, plus the report that may tell the server's time.
    assert requests in (4, 5)
    assert months_of(pulled) == [date(2026, 11, 1)]
    assert len(pulled) == 4
    # The back-dated October entry waits for the weekly re-pull; earlier months stay as
    # they were stored.
    assert class_amount(warehouse, october, expense, retail) == before
    assert stored_lines_before(warehouse, date(2026, 11, 1)) == untouched


def test_the_first_sync_of_a_new_month_also_repulls_the_month_before(make_emulator, tmp_path):
    company, warehouse = synced_on_day_one(make_emulator, tmp_path)
    november = date(2026, 11, 1)
    resync_days_later(warehouse, company, days=7)  # 27 November: the weekly whole pull
    _, pulled = resync_days_later(warehouse, company, days=3)  # 30 November
    assert months_of(pulled) == [november]
    # Entered late on the 30th, after that night's sync: the month closes before a sync
    # sees it, so the next one must look at November again.
    expense, retail = post_class_entry(company, date(2026, 11, 30), amount=77.25)
    before = class_amount(warehouse, november, expense, retail)

    requests, pulled = resync_days_later(warehouse, company, days=1)  # 1 December

    assert requests in (8, 9)
    assert months_of(pulled) == [november, date(2026, 12, 1)]
    assert class_amount(warehouse, november, expense, retail) == before + Decimal("77.25")
    expected = emulator_by_dimension(company, "class", "Accrual", november, month_end(november))
    assert stored_by_dimension(warehouse, "acme", "class", "Accrual", november) == expected


def test_the_whole_open_year_is_repulled_once_its_last_whole_pull_is_a_week_old(
    make_emulator, tmp_path
):
    """A day-later sync re-pulls the current month only and does not restart the week:
    eight days after the first sync (seven after the second) the whole open year comes
    again, with entries back-dated to March and to October."""
    company, warehouse = synced_on_day_one(make_emulator, tmp_path)
    march, october = date(2026, 3, 1), date(2026, 10, 1)
    expense, retail = post_class_entry(company, date(2026, 3, 10), amount=432.1)
    post_class_entry(company, date(2026, 10, 14), amount=1234.5)
    before_march = class_amount(warehouse, march, expense, retail)
    before_october = class_amount(warehouse, october, expense, retail)
    requests, pulled = resync_days_later(warehouse, company, days=1)
    assert months_of(pulled) == [date(2026, 11, 1)]

    requests, pulled = resync_days_later(warehouse, company, days=7)

    assert requests in (44, 45)  # 11 months x 2 bases x 2 dimensions (+ the time)
    assert months_of(pulled) == OPEN_YEAR
    assert len(pulled) == 44
    assert class_amount(warehouse, march, expense, retail) == before_march + Decimal("432.10")
    assert class_amount(warehouse, october, expense, retail) == before_october + Decimal("1234.50")
    for month in (march, october):
        expected = emulator_by_dimension(company, "class", "Accrual", month, month_end(month))
        assert stored_by_dimension(warehouse, "acme", "class", "Accrual", month) == expected


def test_the_weekly_repull_reaches_into_the_previous_fiscal_year_for_the_trailing_window(
    make_emulator, tmp_path
):
    """27 January 2027, a week after the first sync, fiscal years from January: the open
    year is January alone, the trailing window starts in November (60 days back), so the
    weekly pull asks for 3 months x 2 bases x 2 dimensions and sees a back-dated December
    entry; months before November stay as they were stored."""
    running = make_emulator(limits_enabled=False, today=date(2027, 1, 20))
    company = company_with_fiscal_month(running, 1)
    warehouse = make_warehouse(tmp_path / "qbp-home")
    sync_resources(warehouse, "acme", company, *DIMENSION_TABLES)
    first = report_requests(company, 0)
    # The history (2024-01 .. 2027-01, 37 months), one month per request, besides the one
    # report that tells the server's time.
    assert first.count("ProfitAndLoss") in (37 * 4, 37 * 4 + 1)
    build_dimension_mart(warehouse)
    december = date(2026, 12, 1)
    untouched = stored_lines_before(warehouse, date(2026, 11, 1))
    expense, retail = post_class_entry(company, date(2026, 12, 14), amount=1234.5)
    before = class_amount(warehouse, december, expense, retail)

    requests, pulled = resync_days_later(warehouse, company, days=7)

    assert requests in (12, 13)
    assert months_of(pulled) == [date(2026, 11, 1), december, date(2027, 1, 1)]
    assert class_amount(warehouse, december, expense, retail) == before + Decimal("1234.50")
    assert stored_lines_before(warehouse, date(2026, 11, 1)) == untouched
    expected = emulator_by_dimension(
        company, "class", "Accrual", december, december + timedelta(days=30)
    )
    assert stored_by_dimension(warehouse, "acme", "class", "Accrual", december) == expected


@pytest.mark.parametrize(
    ("last_pulled", "due"),
    [
        ((DAY_ONE - timedelta(days=OPEN_YEAR_REPULL_DAYS - 1)).isoformat(), False),
        (DAY_ONE.isoformat(), False),
        ((DAY_ONE - timedelta(days=OPEN_YEAR_REPULL_DAYS)).isoformat(), True),
        ((DAY_ONE + timedelta(days=1)).isoformat(), True),  # the clock moved back
        (None, True),  # state from before the weekly rule
        ("not a day", True),
    ],
)
def test_the_open_year_is_due_after_a_week_or_without_a_known_last_pull(last_pulled, due):
    assert open_year_due(last_pulled, DAY_ONE) is due
