"""A third-party QuickBooks client works against the emulator with only its URLs changed.

The client is python-quickbooks with Intuit's own intuit-oauth, used exactly as their
documentation shows; the only changes are where they point: intuit-oauth's `environment`
is the emulator's discovery document URL (the library accepts a URL there), and
python-quickbooks' API base class attributes name the emulator's `/v3`. Plain http on
loopback needs oauthlib's OAUTHLIB_INSECURE_TRANSPORT, as for any local OAuth server.

Every answer is checked against what the emulator's backend holds, so a test passes only
if the library really parsed the emulator's wire format into the right objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import AuthorizationException, ValidationException
from quickbooks.objects.account import Account
from quickbooks.objects.company_info import CompanyInfo
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.oauth.backend import DEMO_USER_EMAIL, DEMO_USER_PASSWORD
from qb_pipeline.sandbox.server.runner import RunningEmulator, start_in_thread
from qb_pipeline.sandbox.server.state import EmulatorSettings
from tests.conftest import TEST_SEED, TEST_TODAY

# A third-party app, registered through the control API as a developer would in Intuit's
# portal; its redirect URI is never served: the test reads the redirect's Location.
CLIENT_ID = "ABthirdPartyClient0001"
CLIENT_SECRET = "third-party-secret-0001"
REDIRECT_URI = "http://127.0.0.1:5000/callback"
DISCOVERY_PATH = "/.well-known/openid_sandbox_configuration"
MINOR_VERSION = 75
ACCESS_TOKEN_SECONDS = 3600
ROLLING_REFRESH_SECONDS = 8_726_400


# --- a minimal browser: reads the HTML forms the emulator serves and submits them -----------
@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)  # hidden/text inputs, checked radios
    radios: dict[str, list[str]] = field(default_factory=dict)  # name -> every offered value
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (name, value) of submits


class FormReader(HTMLParser):
    """Collects each <form>: its action, inputs, radio choices and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(attr.get("action", ""), attr.get("method", "get").upper()))
            return
        if not self.forms or "name" not in attr:
            return
        form, name = self.forms[-1], attr["name"]
        kind = attr.get("type", "text" if tag == "input" else "submit")
        if tag == "button" or kind == "submit":
            form.buttons.append((name, attr.get("value", "")))
        elif kind == "radio":
            form.radios.setdefault(name, []).append(attr.get("value", ""))
            if "checked" in attr:
                form.fields[name] = attr.get("value", "")
        elif tag == "input":
            form.fields[name] = attr.get("value", "")


def only_form(page: httpx.Response) -> Form:
    reader = FormReader()
    reader.feed(page.text)
    assert len(reader.forms) == 1, page.text
    return reader.forms[0]


def submit(
    http: httpx.Client, page: httpx.Response, form: Form, button: str | None, **values: str
) -> httpx.Response:
    """Post the form as a browser would: its fields, the values typed, the button pressed."""
    data = {**form.fields, **values}
    if button is not None:
        data.update((name, value) for name, value in form.buttons if value == button)
    assert form.method == "POST"
    return http.post(urljoin(str(page.url), form.action), data=data)


@dataclass
class Callback:
    code: str
    state: str
    realm_id: str


def sign_in_and_choose(authorization_url: str, realm_id: str | None) -> Callback:
    """Open the authorization URL, sign in as the demo user, pick a company, Authorize."""
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        page = http.get(authorization_url)
        assert page.status_code == 200, page.text
        form = only_form(page)
        assert {"email", "password"} <= set(form.fields)
        chooser = submit(http, page, form, None, email=DEMO_USER_EMAIL, password=DEMO_USER_PASSWORD)
        assert chooser.status_code == 200, chooser.text
        form = only_form(chooser)
        offered = form.radios["realm_id"]
        chosen = realm_id or offered[0]
        assert chosen in offered
        done = submit(http, chooser, form, "authorize", realm_id=chosen)
    assert done.status_code == 302, done.text
    location = done.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = dict(parse_qsl(urlsplit(location).query))
    return Callback(code=query["code"], state=query["state"], realm_id=query["realmId"])


# --- fixtures: a private emulator, the app, the library pointed at the emulator -------------
@pytest.fixture(scope="module")
def shared() -> Iterator[RunningEmulator]:
    """A private emulator for the read-only tests of this module (limits off)."""
    running = start_in_thread(
        EmulatorSettings(seed=TEST_SEED, size="small", today=TEST_TODAY, limits_enabled=False)
    )
    register_app(running)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def library_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests-oauthlib refuses to send a bearer token over plain http without this.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def register_app(running: RunningEmulator) -> None:
    answer = httpx.post(
        f"{running.url}/_emulator/apps",
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [REDIRECT_URI],
        },
    )
    assert answer.status_code == 201, answer.text


def auth_client(running: RunningEmulator, **tokens: str) -> AuthClient:
    return AuthClient(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        environment=running.url + DISCOVERY_PATH,
        **tokens,
    )


def connect(
    running: RunningEmulator, realm_id: str | None = None, scopes: list[Scopes] | None = None
) -> AuthClient:
    """The full authorization-code flow through intuit-oauth and the emulator's pages."""
    client = auth_client(running)
    url = client.get_authorization_url(scopes or [Scopes.ACCOUNTING])
    callback = sign_in_and_choose(url, realm_id)
    assert callback.state == client.state_token
    client.get_bearer_token(callback.code, realm_id=callback.realm_id)
    return client


@pytest.fixture
def quickbooks_for(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[RunningEmulator, AuthClient], QuickBooks]:
    """python-quickbooks' client for a connected AuthClient, its API base on the emulator."""

    def build(running: RunningEmulator, client: AuthClient) -> QuickBooks:
        monkeypatch.setattr(QuickBooks, "api_url_v3", f"{running.url}/v3")
        monkeypatch.setattr(QuickBooks, "sandbox_api_url_v3", f"{running.url}/v3")
        return QuickBooks(
            auth_client=client,
            refresh_token=client.refresh_token,
            company_id=client.realm_id,
            minorversion=MINOR_VERSION,
        )

    return build


def demo_company(running: RunningEmulator) -> Company:
    return running.state.backend.list_companies()[0]


def ids(objects: list) -> list[str]:
    return [obj.Id for obj in objects]


def backend_ids(company: Company, entity: str, active_only: bool = False) -> list[str]:
    records = company.records(entity)
    return [r["Id"] for r in records if not active_only or r.get("Active", True)]


# --- OAuth -----------------------------------------------------------------------------------
def test_authorization_code_flow_connects_the_chosen_company(shared, quickbooks_for):
    companies = shared.state.backend.list_companies()
    chosen = companies[1]  # not the default choice, so the chooser really decides
    scopes = [Scopes.ACCOUNTING, Scopes.OPENID, Scopes.EMAIL]
    client = connect(shared, chosen.realm_id, scopes)

    assert client.auth_endpoint == f"{shared.url}/connect/oauth2"
    assert client.realm_id == chosen.realm_id
    assert client.expires_in == ACCESS_TOKEN_SECONDS
    assert client.x_refresh_token_expires_in == ROLLING_REFRESH_SECONDS
    assert client.refresh_token.startswith("AB11")
    # intuit-oauth keeps the id_token only if it verifies against the emulator's JWKS.
    assert client.id_token is not None
    assert client.get_user_info().json()["email"] == DEMO_USER_EMAIL

    issued = {row["value"] for row in httpx.get(f"{shared.url}/_emulator/tokens").json()}
    assert {client.access_token, client.refresh_token} <= issued

    qb = quickbooks_for(shared, client)
    info = CompanyInfo.get(chosen.realm_id, qb=qb)
    assert info.CompanyName == chosen.name
    assert info.Id == chosen.get("CompanyInfo", "1")["Id"]


def test_company_info_reads_as_the_backend_holds(shared, quickbooks_for):
    company = demo_company(shared)
    qb = quickbooks_for(shared, connect(shared))
    info = CompanyInfo.get(company.realm_id, qb=qb)
    held = company.get("CompanyInfo", "1")

    assert qb.company_id == company.realm_id
    assert info.CompanyName == held["CompanyName"] == company.name
    assert info.FiscalYearStartMonth == company.fiscal_year_start_name
    assert info.Country == held["Country"]
    assert info.SyncToken == held["SyncToken"]
    assert info.MetaData.LastUpdatedTime == held["MetaData"]["LastUpdatedTime"]


# --- lists and paged queries -----------------------------------------------------------------
def test_accounts_list_hides_inactive_ones_unless_asked(shared, quickbooks_for):
    company = demo_company(shared)
    qb = quickbooks_for(shared, connect(shared))

    active = Account.all(max_results=1000, qb=qb)
    everything = Account.where("Active IN (true, false)", max_results=1000, qb=qb)

    assert ids(active) == backend_ids(company, "Account", active_only=True)
    assert ids(everything) == backend_ids(company, "Account")
    inactive = [a for a in everything if not a.Active]
    assert inactive, "the generated company has inactive accounts"
    assert any(a.Name.endswith(" (deleted)") for a in inactive)
    assert not {a.Id for a in inactive} & set(ids(active))
    # The library turns nested references into its own objects.
    sub_accounts = [a for a in everything if a.SubAccount]
    assert sub_accounts
    for account in sub_accounts:
        assert account.ParentRef.value == company.get("Account", account.Id)["ParentRef"]["value"]
    for account in active:
        held = company.get("Account", account.Id)
        assert Decimal(str(account.CurrentBalance)) == Decimal(str(held["CurrentBalance"]))


def test_account_filter_matches_backend_classification(shared, quickbooks_for):
    company = demo_company(shared)
    qb = quickbooks_for(shared, connect(shared))
    held = company.records("Account")
    for classification in ("Asset", "Liability", "Equity", "Revenue", "Expense"):
        found = Account.filter(Classification=classification, max_results=1000, qb=qb)
        expected = [a["Id"] for a in held if a["Classification"] == classification and a["Active"]]
        assert expected, classification
        assert ids(found) == expected, classification
        assert Account.count(f"Classification = '{classification}'", qb=qb) == len(expected)


def test_item_list_with_library_sku_projection(shared, quickbooks_for):
    # python-quickbooks asks for `SELECT *, Sku FROM Item`; the emulator must accept it.
    company = demo_company(shared)
    qb = quickbooks_for(shared, connect(shared))
    items = Item.all(max_results=1000, qb=qb)
    assert ids(items) == backend_ids(company, "Item", active_only=True)
    assert {i.Type for i in items} == {
        r["Type"] for r in company.records("Item") if r.get("Active", True)
    }


def test_paged_customer_queries_return_every_active_customer_once(shared, quickbooks_for):
    company = demo_company(shared)
    qb = quickbooks_for(shared, connect(shared))
    page_size = 5
    seen: list[str] = []
    position = 1
    while True:
        page = Customer.all(start_position=position, max_results=page_size, qb=qb)
        seen += ids(page)
        if len(page) < page_size:
            break
        position += page_size
    expected = backend_ids(company, "Customer", active_only=True)
    assert len(expected) > 2 * page_size
    assert seen == expected


def test_paged_invoice_queries_by_last_update_return_every_invoice_once(shared, quickbooks_for):
    company = demo_company(shared)
    qb = quickbooks_for(shared, connect(shared))
    page_size = 100
    seen: list[Invoice] = []
    position = 1
    while True:
        page = Invoice.where(
            "",
            order_by="MetaData.LastUpdatedTime",
            start_position=position,
            max_results=page_size,
            qb=qb,
        )
        seen += page
        if len(page) < page_size:
            break
        position += page_size

    held = company.records("Invoice")
    assert len(held) > 3 * page_size
    assert sorted(ids(seen), key=int) == sorted((r["Id"] for r in held), key=int)
    assert len(set(ids(seen))) == len(seen)
    stamps = [datetime.fromisoformat(i.MetaData.LastUpdatedTime) for i in seen]
    assert stamps == sorted(stamps)
    assert Invoice.count(qb=qb) == len(held)
    # Spot-check the parsed objects against the stored records.
    by_id = {r["Id"]: r for r in held}
    for invoice in seen[:: len(seen) // 10]:
        record = by_id[invoice.Id]
        assert Decimal(str(invoice.TotalAmt)) == Decimal(str(record["TotalAmt"]))
        assert invoice.CustomerRef.value == record["CustomerRef"]["value"]
        assert len(invoice.Line) == len(record["Line"])


def test_library_reads_show_in_the_request_log_as_reads(shared, quickbooks_for):
    company = demo_company(shared)
    qb = quickbooks_for(shared, connect(shared))
    since = len(httpx.get(f"{shared.url}/_emulator/requests").json())

    Account.all(qb=qb)
    CompanyInfo.get(company.realm_id, qb=qb)
    qb.get_report("ProfitAndLoss", qs={"date_macro": "Last Month"})

    logged = httpx.get(
        f"{shared.url}/_emulator/requests", params={"since": since, "realmId": company.realm_id}
    ).json()
    base = f"/v3/company/{company.realm_id}/"
    assert [(row["method"], row["path"].removeprefix(base), row["status"]) for row in logged] == [
        ("POST", "query", 200),
        ("GET", f"companyinfo/{company.realm_id}", 200),
        ("GET", "reports/ProfitAndLoss", 200),
    ]


def test_malformed_query_raises_the_library_validation_exception(shared, quickbooks_for):
    qb = quickbooks_for(shared, connect(shared))
    with pytest.raises(ValidationException) as raised:
        Invoice.query("SELECT * FROM Invoice WHERE", qb=qb)
    assert raised.value.error_code == 4000
    assert raised.value.message == "Error parsing query"


# --- reports ---------------------------------------------------------------------------------
def money(value: str) -> Decimal:
    return Decimal(value) if value else Decimal(0)


def grouped_row(report: dict, group: str) -> list[str]:
    """The values of the row (or section summary) with this `group`, anywhere in the report."""

    def walk(rows: list[dict]) -> list[str] | None:
        for row in rows:
            if row.get("group") == group:
                cells = row.get("Summary", row).get("ColData")
                return [cell["value"] for cell in cells]
            found = walk(row.get("Rows", {}).get("Row", []))
            if found is not None:
                return found
        return None

    values = walk(report["Rows"]["Row"])
    assert values is not None, f"no {group} row"
    return values


def last_complete_fiscal_year(company: Company) -> tuple[date, date]:
    today = company.today()
    start = date(today.year, company.fiscal_year_start_month, 1)
    if start > today:
        start = start.replace(year=start.year - 1)
    start = start.replace(year=start.year - 1)
    end = start.replace(year=start.year + 1) - timedelta(days=1)
    return start, end


def ledger_net_income(company: Company, basis: str, start: date, end: date) -> Decimal:
    """Net income straight from the backend's postings: minus the P&L accounts' net debits."""
    pnl_accounts = {
        a["Id"] for a in company.records("Account") if a["Classification"] in ("Revenue", "Expense")
    }
    cents = sum(
        p.amount
        for p in company.ledger.postings_between(basis, start, end)
        if p.account_id in pnl_accounts
    )
    return Decimal(-cents) / 100


@pytest.mark.parametrize("basis", ["Accrual", "Cash"])
def test_monthly_profit_and_loss_ties_to_balance_sheet_and_ledger(shared, quickbooks_for, basis):
    company = demo_company(shared)
    start, end = last_complete_fiscal_year(company)
    qb = quickbooks_for(shared, connect(shared))

    report = qb.get_report(
        "ProfitAndLoss",
        qs={
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "summarize_column_by": "Month",
            "accounting_method": basis,
        },
    )

    assert report["Header"]["ReportBasis"] == basis
    assert report["Header"]["SummarizeColumnsBy"] == "Month"
    columns = report["Columns"]["Column"]
    assert len(columns) == 1 + 12 + 1
    assert columns[-1]["ColTitle"] == "Total"
    net_income = grouped_row(report, "NetIncome")
    months, total = net_income[1:-1], net_income[-1]
    assert sum(money(v) for v in months) == money(total)
    assert money(total) == ledger_net_income(company, basis, start, end)

    # Another report, the balance sheet at the fiscal year end, carries the same figure in
    # its equity section.
    sheet = qb.get_report(
        "BalanceSheet",
        qs={
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "accounting_method": basis,
        },
    )
    assert money(grouped_row(sheet, "NetIncome")[-1]) == money(total)
    assets = grouped_row(sheet, "TotalAssets")[-1]
    assert money(assets) == money(grouped_row(sheet, "TotalLiabilitiesAndEquity")[-1])


# --- change data capture ---------------------------------------------------------------------
def control(running: RunningEmulator, method: str, path: str, **kwargs: object) -> dict:
    answer = httpx.request(method, f"{running.url}/_emulator{path}", timeout=10, **kwargs)
    assert answer.status_code < 300, answer.text
    return answer.json()


def test_change_data_capture_reports_updates_and_deleted_invoices(make_emulator, quickbooks_for):
    running = make_emulator(limits_enabled=False)
    register_app(running)
    company = demo_company(running)
    realm = company.realm_id
    since = company.now() - timedelta(days=3)

    doomed = company.records("Invoice")[-1]["Id"]
    control(running, "DELETE", f"/companies/{realm}/entities/Invoice/{doomed}")
    customer = company.records("Customer")[0]["Id"]
    control(
        running, "PATCH", f"/companies/{realm}/entities/Customer/{customer}", json={"Notes": "VIP"}
    )

    qb = quickbooks_for(running, connect(running))
    # python-quickbooks formats a datetime without an offset: company-local time.
    cdc = change_data_capture([Invoice, Customer], since.replace(tzinfo=None), qb=qb)

    invoices = list(cdc.Invoice)
    deleted = [i for i in invoices if getattr(i, "status", None) == "Deleted"]
    assert [i.Id for i in deleted] == [doomed]
    expected_invoices = {
        r["Id"]
        for r in company.records("Invoice")
        if datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"]) >= since
    }
    assert {i.Id for i in invoices} == expected_invoices | {doomed}
    customers = {c.Id: c for c in cdc.Customer}
    assert customers[customer].Notes == "VIP"
    assert customers[customer].SyncToken == company.get("Customer", customer)["SyncToken"]
    assert isinstance(cdc.time, str)

    # The deleted invoice is gone from queries: only CDC reveals the delete.
    assert doomed not in ids(Invoice.choose([doomed], qb=qb))


# --- token refresh ---------------------------------------------------------------------------
def test_refresh_keeps_the_refresh_token_for_a_day_then_rotates(make_emulator, quickbooks_for):
    running = make_emulator(limits_enabled=False)
    register_app(running)
    realm = demo_company(running).realm_id
    client = connect(running)
    first_access, first_refresh = client.access_token, client.refresh_token

    # An expired access token: the library raises its own exception; a refresh recovers.
    control(running, "POST", "/oauth/expire-access-tokens", json={"realmId": realm})
    with pytest.raises(AuthorizationException) as raised:
        CompanyInfo.get(realm, qb=quickbooks_for(running, client))
    assert raised.value.error_code == 401

    client.refresh()
    assert client.access_token != first_access
    assert client.refresh_token == first_refresh  # within the same-token window
    assert 0 < client.x_refresh_token_expires_in <= ROLLING_REFRESH_SECONDS
    assert CompanyInfo.get(realm, qb=quickbooks_for(running, client)).CompanyName

    # A day later the refresh token rolls and the old one is stale.
    running.state.oauth.advance(25 * 3600)
    client.refresh()
    assert client.refresh_token != first_refresh
    assert client.x_refresh_token_expires_in == ROLLING_REFRESH_SECONDS
    with pytest.raises(AuthClientError) as stale:
        auth_client(running).refresh(refresh_token=first_refresh)
    assert stale.value.status_code == 400
    assert stale.value.response.json()["error"] == "invalid_grant"
    assert CompanyInfo.get(realm, qb=quickbooks_for(running, client)).CompanyName


def test_strict_rotation_old_refresh_token_fails_with_the_library_error(
    make_emulator, quickbooks_for
):
    running = make_emulator(limits_enabled=False, strict_rotation=True)
    register_app(running)
    realm = demo_company(running).realm_id
    client = connect(running)
    old = client.refresh_token

    client.refresh()
    assert client.refresh_token != old

    with pytest.raises(AuthClientError) as raised:
        auth_client(running).refresh(refresh_token=old)
    assert raised.value.status_code == 400
    assert raised.value.response.json()["error"] == "invalid_grant"
    assert raised.value.intuit_tid

    # python-quickbooks, given only a refresh token, refreshes on construction: with strict
    # rotation that silently replaces the token the app stored (python-quickbooks#392).
    stored = client.refresh_token
    fresh = auth_client(running, refresh_token=stored, realm_id=realm)
    qb = quickbooks_for(running, fresh)
    assert qb.refresh_token != stored
    assert CompanyInfo.get(realm, qb=qb).CompanyName == demo_company(running).name
    with pytest.raises(AuthClientError):
        auth_client(running).refresh(refresh_token=stored)
