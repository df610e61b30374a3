"""Load-test companies (`sandbox serve --companies N`): N small, distinct, deterministic
companies after the named ones, each choosable at the consent page and listed by the
control API, with books that tie out like the named companies' do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

import httpx
import pytest
from click.testing import CliRunner

from qb_pipeline.cli import emulator as emulator_cli
from qb_pipeline.sandbox import EmulatorSettings, RunningEmulator
from qb_pipeline.sandbox.accounting.companies import Company, EmulatorBackend, EntityNotFound
from qb_pipeline.sandbox.accounting.ledger import BASES
from qb_pipeline.sandbox.generate.company_builder import (
    COMPANY_SPECS,
    LOAD_TEST_MAX,
    generate_backend,
    generate_load_test_company,
    load_test_company_name,
    load_test_realm_id,
)
from qb_pipeline.sandbox.oauth.backend import ACCOUNTING_SCOPE, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from qb_pipeline.sandbox.reports.catalog import build_report
from qb_pipeline.sandbox.server.state import build_state
from qb_pipeline.sandbox.testing.consent import (
    ConsentError,
    callback_params,
    companies_on,
    consent,
)
from tests.conftest import TEST_SEED, TEST_TODAY, emulators
from tests.sandbox.report_helpers import labelled, summary

CALLBACK = "http://127.0.0.1:8765/integrations/quickbooks/callback"
NAMED = len(COMPANY_SPECS)


@pytest.fixture(scope="module")
def plain() -> EmulatorBackend:
    return generate_backend(seed=TEST_SEED, size="small", today=TEST_TODAY)


@pytest.fixture(scope="module")
def five() -> EmulatorBackend:
    return generate_backend(seed=TEST_SEED, size="small", today=TEST_TODAY, load_test_companies=5)


@pytest.fixture(scope="module")
def many() -> Iterator[RunningEmulator]:
    """An emulator serving 200 load-test companies, as a many-organization benchmark does."""
    with emulators(limits_enabled=False) as factory:
        yield factory(companies=200)


def without_metadata(company: Company) -> dict[str, list[dict]]:
    """The company's records; MetaData of records dated today is clamped to "now", which
    moves between two generations, so it is left out. Account balances are refreshed first
    (they are derived, filled in when the ledger is built)."""
    company.ledger  # noqa: B018
    return {
        entity: [{k: v for k, v in r.items() if k != "MetaData"} for r in records.values()]
        for entity, records in company.store.items()
    }


def full_history(company: Company, basis: str) -> dict[str, str]:
    first = min(p.txn_date for p in company.ledger.postings(basis))
    end = company.today()
    return {
        "start_date": first.isoformat(),
        "end_date": end.isoformat(),
        "accounting_method": basis,
    }


def pnl_net_income(company: Company, basis: str = "Accrual") -> Decimal:
    pnl = build_report(company, "ProfitAndLoss", full_history(company, basis))
    return Decimal(summary(pnl, "NetIncome")[0])


# --- identity: realm ids, names, order ------------------------------------------------------
def test_n_load_test_companies_follow_the_named_ones(plain, five):
    companies = five.list_companies()
    assert len(companies) == NAMED + 5
    assert [c.realm_id for c in companies[:NAMED]] == list(plain.companies)
    loaded = five.load_test_companies()
    assert loaded == companies[NAMED:]
    assert [c.load_test_index for c in loaded] == [0, 1, 2, 3, 4]
    assert [c.name for c in loaded] == [f"Load Test Company {k:03d}" for k in range(5)]
    assert [c.store["CompanyInfo"]["1"]["CompanyName"] for c in loaded] == [c.name for c in loaded]
    assert five.load_test_company(3) is loaded[3]
    with pytest.raises(EntityNotFound):
        five.load_test_company(5)
    assert plain.load_test_companies() == []
    assert all(c.load_test_index is None for c in companies[:NAMED])


def test_realm_ids_are_digits_distinct_and_apart_from_the_named_companies(plain, five):
    loaded = five.load_test_companies()
    assert [c.realm_id for c in loaded] == [load_test_realm_id(TEST_SEED, k) for k in range(5)]
    for seed in (TEST_SEED, TEST_SEED + 1, 1):
        realms = [load_test_realm_id(seed, k) for k in range(LOAD_TEST_MAX)]
        assert all(r.isdigit() and len(r) == 16 for r in realms)
        assert len(set(realms)) == LOAD_TEST_MAX
        named = generate_backend(seed=seed, size="small", today=TEST_TODAY).companies
        assert set(realms).isdisjoint(named)
    assert load_test_realm_id(TEST_SEED, 0) != load_test_realm_id(TEST_SEED + 1, 0)
    names = [load_test_company_name(k) for k in range(LOAD_TEST_MAX)]
    assert len(set(names)) == LOAD_TEST_MAX
    assert set(names).isdisjoint(c.name for c in plain.list_companies())
    with pytest.raises(ValueError, match=r"load-test company index must be 0\.\.999"):
        load_test_realm_id(TEST_SEED, LOAD_TEST_MAX)


def test_the_named_companies_are_unchanged_by_load_test_companies(plain, five):
    for realm, company in plain.companies.items():
        other = five.companies[realm]
        assert other.name == company.name
        assert without_metadata(other) == without_metadata(company)
        assert other.profile == company.profile
        assert pnl_net_income(other) == pnl_net_income(company)


# --- determinism and variety ----------------------------------------------------------------
def test_same_seed_and_n_give_identical_companies(five):
    again = generate_backend(seed=TEST_SEED, size="small", today=TEST_TODAY, load_test_companies=5)
    assert list(again.companies) == list(five.companies)
    for first, second in zip(five.load_test_companies(), again.load_test_companies(), strict=True):
        accounts = build_report(first, "AccountList", {})
        assert build_report(second, "AccountList", {})["Rows"] == accounts["Rows"]
        assert pnl_net_income(second) == pnl_net_income(first)
        assert without_metadata(second) == without_metadata(first)


def test_company_k_is_the_same_whatever_n(five):
    three = generate_backend(seed=TEST_SEED, size="small", today=TEST_TODAY, load_test_companies=3)
    assert list(three.companies) == list(five.companies)[: NAMED + 3]
    for small, large in zip(
        three.load_test_companies(), five.load_test_companies()[:3], strict=True
    ):
        assert small.realm_id == large.realm_id
        assert small.name == large.name
        assert without_metadata(small) == without_metadata(large)
        assert pnl_net_income(small) == pnl_net_income(large)
    alone = generate_load_test_company(4, TEST_SEED, five.clock)
    assert without_metadata(alone) == without_metadata(five.load_test_company(4))


def test_load_test_companies_have_distinct_ledgers(five):
    loaded = five.load_test_companies()
    incomes = [pnl_net_income(c) for c in loaded]
    assert len(set(incomes)) == len(incomes)
    shapes = {tuple((p.txn_date, p.amount) for p in c.ledger.postings("Accrual")) for c in loaded}
    assert len(shapes) == len(loaded)
    other_seed = generate_load_test_company(0, TEST_SEED + 1, five.clock)
    assert other_seed.realm_id != loaded[0].realm_id
    assert without_metadata(other_seed) != without_metadata(loaded[0])


def test_load_test_companies_are_small_whatever_the_size(five):
    for company in five.load_test_companies():
        postings = len(company.ledger.postings("Accrual"))
        assert 500 < postings < 5_000, (company.name, postings)
        assert company.profile["volume"] == 0.25


# --- books tie out --------------------------------------------------------------------------
def test_load_test_reports_tie_out_with_the_ledger(five):
    for company in five.load_test_companies():
        classification = {a["Id"]: a["Classification"] for a in company.records("Account")}
        for basis in BASES:
            params = full_history(company, basis)
            start, end = (date.fromisoformat(params[k]) for k in ("start_date", "end_date"))
            profit_cents = -sum(
                p.amount
                for p in company.ledger.postings_between(basis, start, end)
                if classification[p.account_id] in ("Revenue", "Expense")
            )
            assert pnl_net_income(company, basis) == Decimal(profit_cents) / 100, (
                company.name,
                basis,
            )
            bs = build_report(company, "BalanceSheet", {"accounting_method": basis})
            assert summary(bs, "TotalAssets") == summary(bs, "TotalLiabilitiesAndEquity")
            assert labelled(bs, "Net Income")  # the year's profit is on the balance sheet


# --- settings, state and start-up -----------------------------------------------------------
@pytest.mark.parametrize("bad", [-1, LOAD_TEST_MAX + 1, "3", 2.0, True, None])
def test_settings_refuse_a_bad_number_of_companies(bad):
    with pytest.raises(ValueError, match="companies must be an integer from 0 to 1000"):
        EmulatorSettings(companies=bad)
    with pytest.raises(ValueError, match="companies must be an integer"):
        generate_backend(seed=TEST_SEED, today=TEST_TODAY, load_test_companies=bad)


def test_load_test_ledgers_are_built_on_first_use_not_at_start_up():
    state = build_state(EmulatorSettings(seed=TEST_SEED, today=TEST_TODAY, companies=2))
    named = state.backend.list_companies()[:NAMED]
    loaded = state.backend.load_test_companies()
    assert len(loaded) == 2
    assert all(c._ledger is not None for c in named)
    assert all(c._ledger is None for c in loaded)
    assert pnl_net_income(loaded[1]) == pnl_net_income(
        generate_load_test_company(1, TEST_SEED, state.backend.clock)
    )
    assert loaded[1]._ledger is not None


# --- over HTTP: control API and OAuth consent among 200 companies ----------------------------
def test_control_api_lists_every_load_test_company(many):
    rows = httpx.get(f"{many.url}/_emulator/companies", timeout=30).json()
    assert len(rows) == NAMED + 200
    assert all("loadTestIndex" not in row for row in rows[:NAMED])
    loaded = rows[NAMED:]
    assert [row["loadTestIndex"] for row in loaded] == list(range(200))
    assert [row["realmId"] for row in loaded] == [
        load_test_realm_id(TEST_SEED, k) for k in range(200)
    ]
    assert [row["name"] for row in loaded] == [load_test_company_name(k) for k in range(200)]
    assert len({row["realmId"] for row in rows}) == NAMED + 200
    assert all(row["today"] == TEST_TODAY.isoformat() for row in rows)


def test_consent_can_choose_any_of_200_load_test_companies(many):
    query = {
        "client_id": DEMO_CLIENT_ID,
        "response_type": "code",
        "scope": ACCOUNTING_SCOPE,
        "redirect_uri": CALLBACK,
        "state": "load-137",
    }
    authorize_url = f"{many.url}/connect/oauth2?{urlencode(query)}"
    realm = load_test_realm_id(TEST_SEED, 137)
    params = callback_params(consent(authorize_url, realm_id=realm))
    assert params["realmId"] == realm
    assert params["state"] == "load-137"
    with httpx.Client(base_url=many.url, timeout=30) as http:
        tokens = http.post(
            "/oauth2/v1/tokens/bearer",
            data={"grant_type": "authorization_code", "code": params["code"],
                  "redirect_uri": CALLBACK},
            auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        ).json()  # fmt: skip
        headers = {
            "Authorization": f"Bearer {tokens['access_token']}",
            "Accept": "application/json",
        }
        info = http.get(f"/v3/company/{realm}/companyinfo/{realm}", headers=headers)
        assert info.status_code == 200
        assert info.json()["CompanyInfo"]["CompanyName"] == "Load Test Company 137"
        pnl = http.get(f"/v3/company/{realm}/reports/ProfitAndLoss", headers=headers)
        assert pnl.status_code == 200
        company = many.state.backend.load_test_company(137)
        assert pnl.json()["Rows"] == build_report(company, "ProfitAndLoss", {})["Rows"]
        other = load_test_realm_id(TEST_SEED, 138)
        assert http.get(f"/v3/company/{other}/query", headers=headers).status_code == 403


def test_the_company_page_offers_all_200_and_refuses_an_unknown_realm(many):
    query = {
        "client_id": DEMO_CLIENT_ID,
        "response_type": "code",
        "scope": ACCOUNTING_SCOPE,
        "redirect_uri": CALLBACK,
    }
    authorize_url = f"{many.url}/connect/oauth2?{urlencode(query)}"
    with httpx.Client(timeout=30) as http:
        page = http.get(authorize_url)
        txn = page.text.split('name="txn" value="')[1].split('"')[0]
        chooser = http.post(
            f"{many.url}/connect/oauth2/signin",
            data={"txn": txn, "email": "demo@example.com", "password": "sandbox"},
        )
    assert companies_on(chooser) == [c.realm_id for c in many.state.backend.list_companies()]
    assert "Load Test Company 199" in chooser.text
    with pytest.raises(ConsentError, match="does not offer realm 9139"):
        consent(authorize_url, realm_id=load_test_realm_id(TEST_SEED, 200))


# --- the command line -----------------------------------------------------------------------
@pytest.mark.parametrize("value", ["-1", "abc", "1001", "2.5", ""])
def test_serve_refuses_a_bad_companies_value(value):
    result = CliRunner().invoke(emulator_cli.sandbox, ["serve", "--companies", value])
    assert result.exit_code == 2
    assert "Invalid value for '--companies'" in result.output
    assert f"{value!r} is not a whole number from 0 to 1000" in result.output


def test_serve_passes_companies_to_the_settings(monkeypatch):
    import qb_pipeline.sandbox as sandbox

    served: list[EmulatorSettings] = []
    monkeypatch.setattr(
        sandbox, "serve_forever", lambda settings, host, port: served.append(settings)
    )
    runner = CliRunner()
    result = runner.invoke(emulator_cli.sandbox, ["serve", "--companies", "200", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "200 load-test companies" in result.output
    result = runner.invoke(emulator_cli.sandbox, ["serve"])
    assert result.exit_code == 0, result.output
    assert "load-test" not in result.output
    assert [(s.companies, s.seed) for s in served] == [(200, 3), (0, 1)]
    assert emulator_cli.MAX_LOAD_TEST_COMPANIES == LOAD_TEST_MAX
