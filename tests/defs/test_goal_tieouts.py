"""Goal values tie out to the emulator's own reports, period by period.

Two companies of the shared emulator are imported by a real sync: the demo company
(fiscal year from January) and Alder Creek Landscaping (fiscal year from July). Goals on
one account, an account with its sub-accounts, report lines and balance-sheet accounts, in
both bases, for a month, a fiscal quarter and a fiscal year with each window (the period,
fiscal year to date, trailing twelve months; balances only at the period's end), are
written as a goal file, stored in the organization's goal store and computed by a real
`goals_refresh` run (the goal assets: the catalog checks, the fiscal year start as
imported, one `goals.compute` pass). Each value must equal the cell of the emulator's
ProfitAndLoss or BalanceSheet requested over HTTP for exactly the goal's window
(`summarize_column_by=Total`).

The expected side is independent of the pipeline: the date ranges are written out by hand
below, and the report cells are found here by account id or group, not through the
import's report flattener.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import httpx
import pytest
import yaml
from cryptography.fernet import Fernet

from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs import defs
from qb_pipeline.defs.instance import open_instance
from qb_pipeline.goals.catalog import read_fiscal_year_start_month
from qb_pipeline.goals.loader import load_goals
from qb_pipeline.goals.store import GoalStore
from qb_pipeline.sandbox import DEMO_CLIENT_ID
from qb_pipeline.sync.runner import sync_org
from tests.conftest import TEST_TODAY
from tests.connections.conftest import EDITOR, add_team, companies, connect_company
from tests.defs.conftest import point_env_at

pytestmark = pytest.mark.slow

CENT = 0.005
BASES = ("accrual", "cash")


@dataclass(frozen=True)
class Company:
    org: str  # the organization connected to it
    name: str  # the emulator company's name
    fiscal_year_start_month: int


DEMO = Company("harbor", "Harbor & Pine Outfitters", 1)
ALDER = Company("alder", "Alder Creek Landscaping", 7)


@dataclass(frozen=True)
class Case:
    """A goal period and, written out by hand, the dates its value covers."""

    grain: str
    window: str
    period_start: date
    first: date  # the window's first day
    last: date  # the period's last day

    @property
    def slug(self) -> str:
        return f"{self.grain}-{self.window.replace('_', '-')}"


PERIOD, YTD, TTM = "period", "fiscal_ytd", "trailing_12_months"
CASES: dict[str, list[Case]] = {
    # Calendar fiscal year: August 2025, Q2 2025 (April-June), FY2025.
    DEMO.org: [
        Case("month", PERIOD, date(2025, 8, 1), date(2025, 8, 1), date(2025, 8, 31)),
        Case("month", YTD, date(2025, 8, 1), date(2025, 1, 1), date(2025, 8, 31)),
        Case("month", TTM, date(2025, 8, 1), date(2024, 9, 1), date(2025, 8, 31)),
        Case("quarter", PERIOD, date(2025, 4, 1), date(2025, 4, 1), date(2025, 6, 30)),
        Case("quarter", YTD, date(2025, 4, 1), date(2025, 1, 1), date(2025, 6, 30)),
        Case("quarter", TTM, date(2025, 4, 1), date(2024, 7, 1), date(2025, 6, 30)),
        Case("year", PERIOD, date(2025, 1, 1), date(2025, 1, 1), date(2025, 12, 31)),
        Case("year", YTD, date(2025, 1, 1), date(2025, 1, 1), date(2025, 12, 31)),
        Case("year", TTM, date(2025, 1, 1), date(2025, 1, 1), date(2025, 12, 31)),
        # The current fiscal year to date, to the last closed month before 2026-11-15.
        Case("month", YTD, date(2026, 10, 1), date(2026, 1, 1), date(2026, 10, 31)),
    ],
    # Fiscal year from July: August 2025 is the second month of FY2026; January-March 2026
    # is FY2026 Q3, whose year to date starts in July 2025, across the calendar year end;
    # FY2026 runs from July 2025 to June 2026.
    ALDER.org: [
        Case("month", PERIOD, date(2025, 8, 1), date(2025, 8, 1), date(2025, 8, 31)),
        Case("month", YTD, date(2025, 8, 1), date(2025, 7, 1), date(2025, 8, 31)),
        Case("month", TTM, date(2025, 8, 1), date(2024, 9, 1), date(2025, 8, 31)),
        Case("quarter", PERIOD, date(2026, 1, 1), date(2026, 1, 1), date(2026, 3, 31)),
        Case("quarter", YTD, date(2026, 1, 1), date(2025, 7, 1), date(2026, 3, 31)),
        Case("quarter", TTM, date(2026, 1, 1), date(2025, 4, 1), date(2026, 3, 31)),
        Case("year", PERIOD, date(2025, 7, 1), date(2025, 7, 1), date(2026, 6, 30)),
        Case("year", YTD, date(2025, 7, 1), date(2025, 7, 1), date(2026, 6, 30)),
        Case("year", TTM, date(2025, 7, 1), date(2025, 7, 1), date(2026, 6, 30)),
        Case("month", YTD, date(2026, 10, 1), date(2026, 7, 1), date(2026, 10, 31)),
    ],
}  # fmt: skip


@dataclass(frozen=True)
class Tracked:
    """What a goal tracks, and where its figure sits in the emulator's report."""

    slug: str
    dataset: str  # profit_and_loss or balance_sheet
    tracks: dict
    account_id: str | None = None
    with_subaccounts: bool = False
    group: str | None = None

    @property
    def report(self) -> str:
        return "ProfitAndLoss" if self.dataset == "profit_and_loss" else "BalanceSheet"

    def cases(self, org: str) -> list[Case]:
        """The periods to check: a balance is read at the period's end, so balance-sheet
        goals take only the `period` window (the goal rules refuse the others)."""
        if self.dataset == "balance_sheet":
            return [c for c in CASES[org] if c.window == PERIOD]
        return CASES[org]


def account(slug: str, dataset: str, account_id: str, subaccounts: bool = False) -> Tracked:
    ref = {"account_id": account_id, "include_subaccounts": subaccounts}
    return Tracked(slug, dataset, {"account": ref}, account_id, subaccounts)


def line(slug: str, dataset: str, group: str) -> Tracked:
    return Tracked(slug, dataset, {"line": {"group": group}}, group=group)


# Account ids are the emulator's chart, the same in every company.
ONE_ACCOUNT = [
    account("product-sales", "profit_and_loss", "26"),  # a plain income account
    account("utilities-own", "profit_and_loss", "35"),  # a parent's own postings only
]
WITH_SUBACCOUNTS = [
    account("services-all", "profit_and_loss", "22", subaccounts=True),  # two levels deep
    account("utilities-all", "profit_and_loss", "35", subaccounts=True),
    account("job-materials-all", "profit_and_loss", "31", subaccounts=True),  # COGS
]
REPORT_LINES = [
    line("income", "profit_and_loss", "Income"),
    line("gross-profit", "profit_and_loss", "GrossProfit"),
    line("net-income", "profit_and_loss", "NetIncome"),
]
BALANCE_SHEET_ACCOUNTS = [
    account("checking", "balance_sheet", "1"),
    account("receivables", "balance_sheet", "4"),
    account("vehicles-all", "balance_sheet", "8", subaccounts=True),
    account("retained-earnings", "balance_sheet", "19"),
]
BALANCE_SHEET_LINES = [
    line("total-assets", "balance_sheet", "TotalAssets"),
    line("liabilities", "balance_sheet", "Liabilities"),
]
# Equity on QuickBooks' balance sheet includes a "Net Income" row (group NetIncome, no
# account id): the fiscal year's income to date.
EQUITY_LINES = [
    line("equity", "balance_sheet", "Equity"),
    line("liabilities-and-equity", "balance_sheet", "TotalLiabilitiesAndEquity"),
]
ALL_TRACKED = (
    ONE_ACCOUNT
    + WITH_SUBACCOUNTS
    + REPORT_LINES
    + BALANCE_SHEET_ACCOUNTS
    + BALANCE_SHEET_LINES
    + EQUITY_LINES
)


def goal_id(tracked: Tracked, basis: str, case: Case) -> str:
    return f"{tracked.slug}-{basis}-{case.slug}"


def goal_files(org: str, folder: Path) -> Path:
    """Every tracked item x basis x (grain, window) as one goal, written as a goal file."""
    goals = {
        goal_id(tracked, basis, case): {
            "id": goal_id(tracked, basis, case),
            "name": f"{tracked.slug} ({basis}, {case.grain}, {case.window})",
            "organization": org,
            "dataset": tracked.dataset,
            "tracks": tracked.tracks,
            "basis": basis,
            "grain": case.grain,
            "window": case.window,
        }
        for tracked in ALL_TRACKED
        for basis in BASES
        for case in tracked.cases(org)
    }
    folder.mkdir(parents=True)
    (folder / "tieouts.yaml").write_text(yaml.safe_dump(list(goals.values()), sort_keys=False))
    return folder


# -- the computed side: a real sync, then the goal computation the goal assets run ----------


@dataclass
class Imported:
    company: Company
    realm_id: str
    fiscal_year_start_month: int | None
    actuals: dict[tuple[str, date], float | None]  # (goal id, period start) -> actual


def import_and_compute(
    emulator_url: str, company: Company, home: str, monkeypatch: pytest.MonkeyPatch
) -> Imported:
    settings = point_env_at(
        monkeypatch,
        {
            "QBP_HOME": home,
            "QBP_SECRET_KEY": Fernet.generate_key().decode(),
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": emulator_url,
        },
    )
    service = IntegrationService(settings)
    (realm_id,) = [c["realmId"] for c in companies(emulator_url) if c["name"] == company.name]
    add_team(service, company.org)
    connect_company(service, company.org, realm_id)
    outcome = sync_org(company.org, today=TEST_TODAY, lock_wait_seconds=0.5)
    assert outcome.succeeded, outcome.message

    loaded = load_goals([goal_files(company.org, Path(home).parent / "goal_models")])
    assert loaded.problems == []
    store = GoalStore(service.db_path)
    for sourced in loaded.goals:
        store.create(sourced.goal, actor=EDITOR, source="cli", realm_id=realm_id)
    with open_instance(settings) as instance:
        result = defs.resolve_job_def("goals_refresh").execute_in_process(
            run_config={"resources": {"quickbooks": {"config": {"home": home}}}},
            instance=instance,
            partition_key=company.org,
            raise_on_error=False,
        )
        assert result.success
        [computed] = [
            e.event_specific_data
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and e.event_specific_data.asset_check_key.name == "all_goals_computed"
        ]
        assert computed.passed, "the goals are valid and all computed"
    with duckdb.connect(str(settings.warehouse_path(company.org)), read_only=True) as con:
        start_month = read_fiscal_year_start_month(con, company.org, realm_id)
        rows = con.execute(
            "SELECT goal_id, period_start, actual FROM goals.goal_values WHERE org_id = ?",
            [company.org],
        ).fetchall()
    return Imported(company, realm_id, start_month, {(g, p): a for g, p, a in rows})


@pytest.fixture(scope="module", params=[DEMO, ALDER], ids=["january", "july"])
def imported(request, emulator, tmp_path_factory: pytest.TempPathFactory) -> Imported:
    """One company imported into a QBP_HOME of its own and its goals computed (the
    environment the sync reads is restored afterwards)."""
    company: Company = request.param
    home = str(tmp_path_factory.mktemp(f"tieout-{company.org}") / "qbp-home")
    with pytest.MonkeyPatch.context() as monkeypatch:
        return import_and_compute(emulator.url, company, home, monkeypatch)


# -- the expected side: the emulator's own reports, read here ------------------------------


class EmulatorReports:
    """The emulator's ProfitAndLoss / BalanceSheet of one company, over plain HTTP."""

    def __init__(self, url: str, realm_id: str) -> None:
        issued = httpx.post(
            f"{url}/_emulator/tokens", json={"client_id": DEMO_CLIENT_ID, "realmId": realm_id}
        ).raise_for_status()
        self.client = httpx.Client(
            base_url=f"{url}/v3/company/{realm_id}/reports",
            headers={
                "Authorization": f"Bearer {issued.json()['access_token']}",
                "Accept": "application/json",
            },
        )
        self.rows = cache(self._rows)

    def _rows(self, report: str, basis: str, first: date, last: date) -> list[dict]:
        response = self.client.get(
            report,
            params={
                "start_date": first.isoformat(),
                "end_date": last.isoformat(),
                "accounting_method": basis.title(),
                "summarize_column_by": "Total",
            },
        ).raise_for_status()
        body = response.json()
        assert body["Header"]["SummarizeColumnsBy"] == "Total"
        return body["Rows"].get("Row", [])

    def figure(self, tracked: Tracked, basis: str, first: date, last: date) -> float:
        rows = self.rows(tracked.report, basis, first, last)
        if tracked.group is not None:
            return line_total(rows, tracked.group)
        return account_amount(rows, tracked.account_id, tracked.with_subaccounts)


def money(cell: dict) -> float:
    return float(cell.get("value") or 0)  # "" is an empty cell: nothing posted


def walk(rows: list[dict]) -> Iterator[dict]:
    for row in rows:
        yield row
        yield from walk(row.get("Rows", {}).get("Row", []))


def line_total(rows: list[dict], group: str) -> float:
    """The Summary of the section (or the data row) QuickBooks tags with `group`."""
    (found,) = [row for row in walk(rows) if row.get("group") == group]
    cells = found["Summary"]["ColData"] if "Summary" in found else found["ColData"]
    return money(cells[1])


def account_amount(rows: list[dict], account_id: str, with_subaccounts: bool) -> float:
    """An account's own amount (its data row, or its section header when it has
    sub-accounts), or its section's total with the sub-accounts; 0 when the report does not
    list it (nothing posted in the period)."""
    for row in walk(rows):
        if row.get("type") == "Data" and row["ColData"][0].get("id") == account_id:
            return money(row["ColData"][1])
        header = row.get("Header", {}).get("ColData", [{}])
        if header[0].get("id") == account_id:
            cells = row["Summary"]["ColData"] if with_subaccounts else header
            return money(cells[1])
    return 0.0


@pytest.fixture(scope="module")
def reports(emulator, imported: Imported) -> Iterator[EmulatorReports]:
    opened = EmulatorReports(emulator.url, imported.realm_id)
    yield opened
    opened.client.close()


@dataclass(frozen=True)
class Comparison:
    goal_id: str
    period_start: date
    actual: float | None  # None: no value (or no row) for the period
    expected: float
    source: str  # the report request the figure comes from

    @property
    def ties_out(self) -> bool:
        return self.actual is not None and abs(self.actual - self.expected) <= CENT


def compare(
    imported: Imported, source: EmulatorReports, tracked: list[Tracked]
) -> list[Comparison]:
    """Every goal value of `tracked` next to its report figure."""
    return [
        Comparison(
            goal_id(item, basis, case),
            case.period_start,
            imported.actuals.get((goal_id(item, basis, case), case.period_start)),
            source.figure(item, basis, case.first, case.last),
            f"{item.report} {basis} {case.first}..{case.last}",
        )
        for item in tracked
        for basis in BASES
        for case in item.cases(imported.company.org)
    ]


def assert_ties_out(imported: Imported, source: EmulatorReports, tracked: list[Tracked]) -> None:
    compared = compare(imported, source, tracked)

    assert [c for c in compared if not c.ties_out] == []
    for item in tracked:  # not a comparison of zeros with zeros
        assert any(c.expected != 0 for c in compared if c.goal_id.startswith(item.slug)), item


def test_goals_read_the_fiscal_year_start_the_company_has(imported):
    assert imported.fiscal_year_start_month == imported.company.fiscal_year_start_month


def test_an_account_goal_equals_the_accounts_row_in_the_profit_and_loss(imported, reports):
    assert_ties_out(imported, reports, ONE_ACCOUNT)


def test_a_goal_with_sub_accounts_equals_the_accounts_section_total(imported, reports):
    assert_ties_out(imported, reports, WITH_SUBACCOUNTS)


def test_a_report_line_goal_equals_the_lines_total_in_the_profit_and_loss(imported, reports):
    assert_ties_out(imported, reports, REPORT_LINES)


def test_a_balance_sheet_goal_equals_the_balance_at_the_period_end(imported, reports):
    assert_ties_out(imported, reports, BALANCE_SHEET_ACCOUNTS)


def test_a_balance_sheet_line_goal_equals_the_lines_total_at_the_period_end(imported, reports):
    assert_ties_out(imported, reports, BALANCE_SHEET_LINES)


def test_an_equity_line_goal_includes_the_years_net_income(imported, reports):
    assert_ties_out(imported, reports, EQUITY_LINES)
