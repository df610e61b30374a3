"""Deterministic generated companies for the emulator.

Given a seed, a size and "today", every company, record, id and timestamp is the same on
every run. History runs from the start of a fiscal year several years back up to today,
with business in every month. Reports are never generated here: they come from the ledger.

Besides the named companies of COMPANY_SPECS, a backend can carry any number (up to
LOAD_TEST_MAX) of load-test companies: small, each with its own realm id, name, settings and
ledger drawn from the seed and its index k alone, so company k is the same whatever the number.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from qb_pipeline.sandbox.accounting.clock import MONTH_NAMES, EmulatorClock, format_timestamp
from qb_pipeline.sandbox.accounting.companies import Company, Deletion, EmulatorBackend
from qb_pipeline.sandbox.accounting.ledger import build_ledger
from qb_pipeline.sandbox.generate.budgets import (
    ACCOUNT_BIAS_PCT,
    budget_details,
    fiscal_months,
    monthly_actuals,
)
from qb_pipeline.sandbox.generate.chart import CHART, MULTI_CURRENCY_ACCOUNTS, AccountSpec
from qb_pipeline.sandbox.generate.transactions import TransactionFactory

SIZES: dict[str, dict[str, float]] = {
    # Years of history and the demo company's business volume (transactions per month
    # scale linearly; volume 1 is ~150 transaction lines a month). `others` caps the
    # volume of the other companies, which exist for choice and variety, not for load.
    "small": {"years": 3, "volume": 1, "others": 0.25},
    "medium": {"years": 4, "volume": 12, "others": 1},
    "large": {"years": 5, "volume": 72, "others": 2},
}


@dataclass(frozen=True)
class CompanySpec:
    name: str
    fiscal_year_start_month: int
    timezone: str
    uses_classes: bool
    foreign_currencies: tuple[str, ...]
    industry: str
    city: str
    state: str


COMPANY_SPECS: tuple[CompanySpec, ...] = (
    # The demo company: classes and locations on transactions, calendar fiscal year.
    CompanySpec(
        "Harbor & Pine Outfitters", 1, "America/Los_Angeles", True, (),
        "Retail", "Monterey", "CA",
    ),
    # Fiscal year from July.
    CompanySpec(
        "Alder Creek Landscaping", 7, "America/Chicago", False, (),
        "Landscaping Services", "Madison", "WI",
    ),
    # Multi-currency, fiscal year from April.
    CompanySpec(
        "Northwind Trading Ltd", 4, "America/New_York", False, ("EUR", "GBP"),
        "Wholesale Trade", "Boston", "MA",
    ),
)  # fmt: skip

CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
}

FIRST_NAMES = (
    "Amy", "Bill", "Carla", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon",
    "Kira", "Luis", "Mina", "Noah", "Olga", "Pavel", "Quinn", "Rosa", "Sam", "Tara",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ivanova",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Rossi",
)  # fmt: skip
BUSINESS_WORDS = (
    "Bird Sanctuary", "Bakery", "Cafe", "Design Studio", "Diner", "Garden Center", "Hardware",
    "Marina", "Pet Care", "Surf Shop", "Dental", "Books", "Brewing", "Cycles", "Florist",
)  # fmt: skip
VENDOR_WORDS = (
    "Lumber", "Office Supply", "Power & Light", "Telecom", "Insurance Group", "Freight",
    "Wholesale", "Printing", "Legal Partners", "Accounting LLP", "Fuel Stop", "Rentals",
)  # fmt: skip


# Load-test companies: at most this many. Whatever the emulator's size, each has the `small`
# size's "others" volume but only one fiscal year of history before the current one (the
# previous year in full, then this year to date): ~500 records and ~1,900 postings (both
# bases), ~13 ms to generate and ~1.8 MB of memory each (200 of them: ~2.7 s, ~350 MB), a
# fifth more once its ledger is built. Three years, as `small` has, would double both.
LOAD_TEST_MAX = 1000
LOAD_TEST_PROFILE: dict[str, float] = {"years": 1, "volume": 0.25, "others": 0.25}
# Realm ids of the named companies start with 9130; load-test ones with 9139, so they never
# collide: 9139, eight digits from the seed, then the index k in four digits.
LOAD_TEST_REALM_PREFIX = "9139"
LOAD_TEST_PLACES = (
    ("Retail", "Portland", "OR", "America/Los_Angeles"),
    ("Construction", "Denver", "CO", "America/Denver"),
    ("Professional Services", "Austin", "TX", "America/Chicago"),
    ("Restaurant", "Savannah", "GA", "America/New_York"),
    ("Manufacturing", "Dayton", "OH", "America/New_York"),
    ("Landscaping Services", "Boise", "ID", "America/Boise"),
    ("Wholesale Trade", "Phoenix", "AZ", "America/Phoenix"),
    ("Health Care", "Omaha", "NE", "America/Chicago"),
)  # fmt: skip


def index_is_demo(spec: CompanySpec) -> bool:
    return spec is COMPANY_SPECS[0]


def _realm_id(rng: random.Random) -> str:
    return "9130" + "".join(str(rng.randrange(10)) for _ in range(12))


def _check_load_test_index(index: int) -> None:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < LOAD_TEST_MAX:
        raise ValueError(f"load-test company index must be 0..{LOAD_TEST_MAX - 1}, not {index!r}")


def check_load_test_count(count: object) -> int:
    """`count` if it is a valid number of load-test companies (an int 0..LOAD_TEST_MAX)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= LOAD_TEST_MAX:
        raise ValueError(f"companies must be an integer from 0 to {LOAD_TEST_MAX}, not {count!r}")
    return count


def load_test_realm_id(seed: int, index: int) -> str:
    """Realm id of load-test company `index` (0-based) for `seed`: 16 digits, 9139..."""
    _check_load_test_index(index)
    seed_part = random.Random(f"qbo-emulator:load-test-realm:{seed}").randrange(10**8)
    return f"{LOAD_TEST_REALM_PREFIX}{seed_part:08d}{index:04d}"


def load_test_company_name(index: int) -> str:
    """Name of load-test company `index` (0-based): "Load Test Company 017"."""
    _check_load_test_index(index)
    return f"Load Test Company {index:03d}"


def load_test_spec(seed: int, index: int) -> CompanySpec:
    """Settings of load-test company `index`: fiscal year, place, classes, currencies vary."""
    _check_load_test_index(index)
    rng = random.Random(f"qbo-emulator:load-test-spec:{seed}:{index}")
    industry, city, state, timezone = rng.choice(LOAD_TEST_PLACES)
    roll = rng.random()
    currencies: tuple[str, ...] = ("EUR",) if roll < 0.1 else ("EUR", "GBP") if roll < 0.15 else ()
    return CompanySpec(
        name=load_test_company_name(index),
        fiscal_year_start_month=rng.choice((1, 1, 1, 4, 7, 10)),
        timezone=timezone,
        uses_classes=rng.random() < 0.25,
        foreign_currencies=currencies,
        industry=industry,
        city=city,
        state=state,
    )


def history_start(today: date, years: int, fiscal_start_month: int) -> date:
    """First day of the fiscal year that began `years` fiscal years before the current one."""
    year = today.year if today.month >= fiscal_start_month else today.year - 1
    return date(year - years, fiscal_start_month, 1)


class CompanyBuilder:
    """Builds one company's lists and history."""

    def __init__(
        self,
        spec: CompanySpec,
        index: int,
        seed: int,
        size: str,
        clock: EmulatorClock,
        *,
        load_test_index: int | None = None,
    ) -> None:
        """`index` is the position in COMPANY_SPECS; with `load_test_index` (then `index` and
        `size` are unused) the company is that load-test company, on its own random stream
        and realm id, with LOAD_TEST_PROFILE's history and volume."""
        self.spec = spec
        self.size = SIZES[size]
        self.clock = clock
        if load_test_index is None:
            self.rng = random.Random(seed * 1000 + index)
            realm_id = _realm_id(self.rng)
            self.volume = self.size["volume"] if index_is_demo(spec) else self.size["others"]
        else:
            self.rng = random.Random(f"qbo-emulator:load-test:{seed}:{load_test_index}")
            realm_id = load_test_realm_id(seed, load_test_index)
            self.size = LOAD_TEST_PROFILE
            self.volume = self.size["volume"]
        self.company = Company(
            realm_id=realm_id,
            name=spec.name,
            fiscal_year_start_month=spec.fiscal_year_start_month,
            home_currency="USD",
            timezone=spec.timezone,
            clock=clock,
            load_test_index=load_test_index,
        )
        self.tz = ZoneInfo(spec.timezone)
        self.today = self.company.today()
        self.start = history_start(
            self.today, int(self.size["years"]), spec.fiscal_year_start_month
        )
        self.created = datetime.combine(self.start - timedelta(days=3), time(9, 15), self.tz)

    # -- storage without copies: generation writes tens of thousands of records -------
    def put(
        self, entity: str, body: dict, created: datetime, updated: datetime | None = None
    ) -> dict:
        company = self.company
        body.setdefault("Id", company.next_id(entity))
        body["SyncToken"] = "0" if updated is None else str(self.rng.randint(1, 3))
        body["domain"] = "QBO"
        body["sparse"] = False
        body["MetaData"] = {
            "CreateTime": format_timestamp(created),
            "LastUpdatedTime": format_timestamp(updated or created),
        }
        company.store.setdefault(entity, {})[body["Id"]] = body
        return body

    def build(self) -> Company:
        self._company_info()
        self._preferences()
        self._accounts()
        self._dimensions()
        self._terms_and_methods()
        self._tax()
        self._items()
        self._people()
        factory = TransactionFactory(self.company, self.rng)
        factory.opening_balances(self.start, self._at(self.start, 8))
        month = self.start
        volume = self.volume
        self.company.profile["volume"] = volume
        while month <= self.today:
            factory.month_of_business(
                month, volume, until=self.today, every_kind=month == self.start
            )
            month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        factory.settle_open_documents(self.today)
        self._budgets()
        self._recent_deletions(factory)
        self.company.mark_changed()
        return self.company

    def _at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), self.tz)

    # -- singletons -----------------------------------------------------------------
    def _company_info(self) -> None:
        spec = self.spec
        addr = {
            "Id": "1",
            "Line1": f"{self.rng.randint(10, 999)} Harbor Way",
            "City": spec.city,
            "CountrySubDivisionCode": spec.state,
            "PostalCode": f"{self.rng.randint(10000, 99999)}",
            "Country": "USA",
        }
        self.put(
            "CompanyInfo",
            {
                "Id": "1",
                "CompanyName": spec.name,
                "LegalName": spec.name,
                "CompanyAddr": addr,
                "CustomerCommunicationAddr": dict(addr),
                "LegalAddr": dict(addr),
                "PrimaryPhone": {"FreeFormNumber": f"(555) 555-{self.rng.randint(1000, 9999)}"},
                "CompanyStartDate": self.start.isoformat(),
                "FiscalYearStartMonth": MONTH_NAMES[spec.fiscal_year_start_month - 1],
                "Country": "US",
                "Email": {"Address": "books@example.com"},
                "WebAddr": {},
                "SupportedLanguages": "en",
                "NameValue": [
                    {"Name": "NeoEnabled", "Value": "true"},
                    {"Name": "IndustryType", "Value": spec.industry},
                    {"Name": "SubscriptionStatus", "Value": "PAID"},
                    {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
                    {"Name": "PayrollFeature", "Value": "false"},
                    {"Name": "AccountantFeature", "Value": "false"},
                ],
            },
            self.created,
        )

    def _preferences(self) -> None:
        spec = self.spec
        fiscal = MONTH_NAMES[spec.fiscal_year_start_month - 1]
        self.put(
            "Preferences",
            {
                "Id": "1",
                "AccountingInfoPrefs": {
                    "TrackDepartments": spec.uses_classes,
                    "DepartmentTerminology": "Location",
                    "ClassTrackingPerTxn": False,
                    "ClassTrackingPerTxnLine": spec.uses_classes,
                    "CustomerTerminology": "Customers",
                    "FirstMonthOfFiscalYear": fiscal,
                    "TaxYearMonth": fiscal,
                    "UseAccountNumbers": True,
                },
                "ProductAndServicesPrefs": {
                    "ForSales": True,
                    "ForPurchase": True,
                    "QuantityWithPriceAndRate": True,
                    "QuantityOnHand": True,
                },
                "SalesFormsPrefs": {
                    "CustomTxnNumbers": False,
                    "AllowDeposit": False,
                    "AllowDiscount": True,
                },
                "VendorAndPurchasesPrefs": {
                    "TrackingByCustomer": True,
                    "BillableExpenseTracking": True,
                    "DefaultTerms": {"value": "3"},
                },
                "TaxPrefs": {"UsingSalesTax": True, "TaxGroupCodeRef": {"value": "2"}},
                "CurrencyPrefs": {
                    "MultiCurrencyEnabled": bool(spec.foreign_currencies),
                    "HomeCurrency": {"value": "USD"},
                },
                "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
                "OtherPrefs": {
                    "NameValue": [{"Name": "SalesFormsPrefs.DefaultItem", "Value": "1"}]
                },
            },
            self.created,
        )

    # -- lists ----------------------------------------------------------------------
    def _accounts(self) -> None:
        specs: list[AccountSpec] = list(CHART)
        if self.spec.foreign_currencies:
            specs += [
                s.for_currency(cur)
                for cur in self.spec.foreign_currencies
                for s in MULTI_CURRENCY_ACCOUNTS
            ]
        by_key: dict[str, dict] = {}
        for number, spec in enumerate(specs, start=1):
            parent = by_key.get(spec.parent) if spec.parent else None
            currency = spec.currency or "USD"
            name = spec.name
            body: dict = {
                "Name": name,
                "SubAccount": parent is not None,
                "FullyQualifiedName": (
                    f"{parent['FullyQualifiedName']}:{name}" if parent else name
                ),
                "Active": spec.active,
                "Classification": spec.classification,
                "AccountType": spec.account_type,
                "AccountSubType": spec.sub_type,
                "AcctNum": str(spec.number),
                "CurrentBalance": 0,
                "CurrentBalanceWithSubAccounts": 0,
                "CurrencyRef": {"value": currency, "name": CURRENCY_NAMES[currency]},
                "Id": str(number),
            }
            if parent:
                body["ParentRef"] = {"value": parent["Id"]}
            if spec.description:
                body["Description"] = spec.description
            updated = None
            if spec.deleted:
                body["Name"] = f"{name} (deleted)"
                body["FullyQualifiedName"] = f"{body['FullyQualifiedName']} (deleted)"
                updated = self._at(self.start + timedelta(days=200), 11)
            elif not spec.active:
                updated = self._at(self.start + timedelta(days=120), 10)
            self.put("Account", body, self.created, updated)
            by_key[spec.key] = body
            if spec.role:
                self.company.account_roles[spec.role] = body["Id"]
        self.company.undeposited_funds_id = self.company.account_roles["undeposited"]
        self.company.sales_tax_account_id = self.company.account_roles["sales_tax"]

    def _dimensions(self) -> None:
        if not self.spec.uses_classes:
            self.company.profile["classes"] = []
            self.company.profile["departments"] = []
            return
        classes = []
        for n, (name, active) in enumerate(
            [("Retail", True), ("Wholesale", True), ("Online", True), ("Events", False)]
        ):
            body = self.put(
                "Class",
                {
                    "Id": str(5000000000000142230 + n * 7),
                    "Name": name,
                    "SubClass": False,
                    "FullyQualifiedName": name,
                    "Active": active,
                },
                self.created,
                None if active else self._at(self.start + timedelta(days=90), 14),
            )
            if active:
                classes.append(body["Id"])
        departments = []
        north = self.put(
            "Department",
            {
                "Name": "North",
                "SubDepartment": False,
                "FullyQualifiedName": "North",
                "Active": True,
            },
            self.created,
        )
        south = self.put(
            "Department",
            {
                "Name": "South",
                "SubDepartment": False,
                "FullyQualifiedName": "South",
                "Active": True,
            },
            self.created,
        )
        coastal = self.put(
            "Department",
            {
                "Name": "Coastal",
                "SubDepartment": True,
                "ParentRef": {"value": south["Id"]},
                "FullyQualifiedName": "South:Coastal",
                "Active": True,
            },
            self.created,
        )
        departments = [north["Id"], south["Id"], coastal["Id"]]
        self.company.profile["classes"] = classes
        self.company.profile["departments"] = departments

    def _terms_and_methods(self) -> None:
        for name, days in (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60)):
            self.put(
                "Term",
                {
                    "Name": name,
                    "Active": True,
                    "Type": "STANDARD",
                    "DueDays": days,
                    "DiscountDays": 0,
                },
                self.created,
            )
        for name, kind in (
            ("Cash", "NON_CREDIT_CARD"),
            ("Check", "NON_CREDIT_CARD"),
            ("Visa", "CREDIT_CARD"),
            ("MasterCard", "CREDIT_CARD"),
        ):
            self.put("PaymentMethod", {"Name": name, "Active": True, "Type": kind}, self.created)

    def _tax(self) -> None:
        agency_ref = {"value": "1", "name": f"{self.spec.state} Department of Revenue"}
        rate = self.put(
            "TaxRate",
            {
                "Name": f"{self.spec.state} State",
                "Description": "State sales tax",
                "Active": True,
                "RateValue": 8,
                "AgencyRef": agency_ref,
                "SpecialTaxType": "NONE",
                "DisplayType": "ReadOnly",
            },
            self.created,
        )
        self.put(
            "TaxCode",
            {
                "Name": f"{self.spec.state} State",
                "Description": "State sales tax",
                "Active": True,
                "Taxable": True,
                "TaxGroup": True,
                "SalesTaxRateList": {
                    "TaxRateDetail": [
                        {
                            "TaxRateRef": {"value": rate["Id"], "name": rate["Name"]},
                            "TaxTypeApplicable": "TaxOnAmount",
                            "TaxOrder": 0,
                        }
                    ]
                },
                "PurchaseTaxRateList": {"TaxRateDetail": []},
            },
            self.created,
        )

    def _items(self) -> None:
        roles = self.company.account_roles

        def ref(role: str) -> dict:
            account = self.company.store["Account"][roles[role]]
            return {"value": account["Id"], "name": account["Name"]}

        def category(name: str) -> dict:
            body = {"Name": name, "FullyQualifiedName": name, "Active": True, "Type": "Category"}
            return self.put("Item", body, self.created)

        services = category("Services")
        products = category("Products")
        catalogue = [
            ("Consulting", "Service", services, "income_consulting", 150),
            ("Senior Consulting", "Service", services, "income_senior_consulting", 240),
            ("Installation", "Service", services, "income_services", 95),
            ("Design", "Service", services, "income_design", 75),
            ("Trail Pack", "Inventory", products, "income_products", 129),
            ("Rain Shell", "Inventory", products, "income_products", 189),
            ("Camp Stove", "NonInventory", products, "income_products", 64),
            ("Gift Card", "NonInventory", None, "income_products", 50),
        ]
        sellable = []
        for name, kind, parent, income_role, price in catalogue:
            body: dict = {
                "Name": name,
                "Description": name,
                "Active": True,
                "FullyQualifiedName": f"{parent['Name']}:{name}" if parent else name,
                "Taxable": kind != "Service",
                "UnitPrice": price,
                "Type": kind,
                "IncomeAccountRef": ref(income_role),
                "PurchaseCost": round(price * 0.45, 2),
                "ExpenseAccountRef": ref("cogs"),
            }
            if parent:
                body.update(
                    SubItem=True, ParentRef={"value": parent["Id"], "name": parent["Name"]}, Level=1
                )
            if kind == "Inventory":
                body.update(
                    AssetAccountRef=ref("inventory"),
                    TrackQtyOnHand=True,
                    QtyOnHand=self.rng.randint(5, 80),
                    InvStartDate=self.start.isoformat(),
                )
            sellable.append(self.put("Item", body, self.created)["Id"])
        retired = self.put(
            "Item",
            {
                "Name": "Legacy Repair Kit",
                "Active": False,
                "FullyQualifiedName": "Legacy Repair Kit",
                "Type": "NonInventory",
                "UnitPrice": 20,
                "IncomeAccountRef": ref("income_products"),
                "ExpenseAccountRef": ref("cogs"),
            },
            self.created,
            self._at(self.start + timedelta(days=60), 12),
        )
        self.company.profile["items"] = sellable
        self.company.profile["retired_item"] = retired["Id"]

    def _people(self) -> None:
        volume = self.volume
        n_customers = max(8, int(12 + 3 * volume))
        n_vendors = max(6, int(8 + volume))
        customers, vendors = [], []
        currencies = ("USD", *self.spec.foreign_currencies)
        for n in range(n_customers):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            display = f"{last}'s {self.rng.choice(BUSINESS_WORDS)} #{n + 1}"
            currency = currencies[n % len(currencies)]
            active = n % 17 != 5
            body = {
                "GivenName": first,
                "FamilyName": last,
                "DisplayName": display,
                "CompanyName": display,
                "FullyQualifiedName": display,
                "PrintOnCheckName": display,
                "Active": active,
                "Taxable": True,
                "Job": False,
                "BillWithParent": False,
                "Balance": 0,
                "BalanceWithJobs": 0,
                "CurrencyRef": {"value": currency, "name": CURRENCY_NAMES[currency]},
                "PreferredDeliveryMethod": "Email",
                "PrimaryEmailAddr": {"Address": f"{first.lower()}.{last.lower()}{n}@example.com"},
                "BillAddr": {
                    "Id": str(100 + n),
                    "Line1": f"{self.rng.randint(1, 9999)} {last} St.",
                    "City": self.spec.city,
                    "CountrySubDivisionCode": self.spec.state,
                    "PostalCode": f"{self.rng.randint(10000, 99999)}",
                },
            }
            record = self.put(
                "Customer",
                body,
                self.created,
                None if active else self._at(self.start + timedelta(days=300), 9),
            )
            if active:
                customers.append(record["Id"])
        # A sub-customer (job) under the first customer.
        parent = self.company.store["Customer"][customers[0]]
        job = self.put(
            "Customer",
            {
                "DisplayName": "Spring Fit-out",
                "FullyQualifiedName": f"{parent['DisplayName']}:Spring Fit-out",
                "Job": True,
                "BillWithParent": True,
                "ParentRef": {"value": parent["Id"]},
                "Level": 1,
                "Active": True,
                "Balance": 0,
                "BalanceWithJobs": 0,
                "CurrencyRef": dict(parent["CurrencyRef"]),
            },
            self.created,
        )
        customers.append(job["Id"])
        for n in range(n_vendors):
            name = f"{self.rng.choice(LAST_NAMES)} {VENDOR_WORDS[n % len(VENDOR_WORDS)]}"
            currency = currencies[n % len(currencies)] if n % 3 == 0 else "USD"
            active = n != n_vendors - 1
            body = {
                "DisplayName": name,
                "CompanyName": name,
                "PrintOnCheckName": name,
                "Active": active,
                "Vendor1099": n % 4 == 0,
                "Balance": 0,
                "AcctNum": str(1000 + n),
                "TermRef": {"value": "3"},
                "CurrencyRef": {"value": currency, "name": CURRENCY_NAMES[currency]},
                "BillAddr": {
                    "Id": str(500 + n),
                    "Line1": f"{self.rng.randint(1, 999)} Commerce Blvd",
                    "City": self.spec.city,
                    "CountrySubDivisionCode": self.spec.state,
                    "PostalCode": f"{self.rng.randint(10000, 99999)}",
                },
            }
            record = self.put(
                "Vendor",
                body,
                self.created,
                None if active else self._at(self.start + timedelta(days=400), 9),
            )
            if active:
                vendors.append(record["Id"])
        employees = []
        for n in range(4):
            first, last = (
                FIRST_NAMES[(n * 3) % len(FIRST_NAMES)],
                LAST_NAMES[(n * 5) % len(LAST_NAMES)],
            )
            record = self.put(
                "Employee",
                {
                    "GivenName": first,
                    "FamilyName": last,
                    "DisplayName": f"{first} {last}",
                    "PrintOnCheckName": f"{first} {last}",
                    "Active": n != 3,
                    "BillableTime": False,
                    "HiredDate": self.start.isoformat(),
                    "EmployeeNumber": f"E{100 + n}",
                },
                self.created,
            )
            employees.append(record["Id"])
        self.company.profile.update(
            customers=customers, vendors=vendors, employees=employees, currencies=list(currencies)
        )

    def _budgets(self) -> None:
        """One monthly P&L budget per fiscal year of history, near the actuals of each
        account and month (budgets.py); for a company that tracks classes and locations,
        also the current fiscal year's budget by class and by location."""
        accounts = [
            a
            for a in self.company.store["Account"].values()
            if a["Classification"] in ("Revenue", "Expense") and a["Active"]
        ]
        signs = {a["Id"]: (-1 if a["Classification"] == "Revenue" else 1) for a in accounts}
        names = {a["Id"]: a["Name"] for a in accounts}
        postings = build_ledger(self.company).postings("Accrual")
        actuals = monthly_actuals(postings, signs)
        realm = self.company.realm_id
        year_start = self.start
        while year_start <= self.today:
            # One draw per account and year, as the generator always made: it sets how far
            # the account's year sits from its actuals, and keeps the main stream in step.
            bias = {
                a["Id"]: (self.rng.randint(5, 60) - 32.5) / 27.5 * ACCOUNT_BIAS_PCT
                for a in accounts
            }
            months = fiscal_months(year_start)
            details = budget_details(actuals, names, months, self.today, bias, realm)
            self._budget(f"FY{months[-1].year} Budget", year_start, details)
            current = date(year_start.year + 1, year_start.month, 1) > self.today
            if current and self.spec.uses_classes:
                for dimension, entity, label in (
                    ("class", "Class", "by Class"),
                    ("department", "Department", "by Location"),
                ):
                    members = {r["Id"]: r["Name"] for r in self.company.store[entity].values()}
                    split = monthly_actuals(postings, signs, dimension)
                    lines = budget_details(
                        split, names, months, self.today, bias, realm, dimension, members
                    )
                    self._budget(f"FY{months[-1].year} Budget {label}", year_start, lines)
            year_start = date(year_start.year + 1, year_start.month, 1)

    def _budget(self, name: str, year_start: date, details: list[dict]) -> None:
        end = date(year_start.year + 1, year_start.month, 1) - timedelta(days=1)
        self.put(
            "Budget",
            {
                "Name": name,
                "StartDate": year_start.isoformat(),
                "EndDate": end.isoformat(),
                "BudgetType": "ProfitAndLoss",
                "BudgetEntryType": "Monthly",
                "Active": True,
                "BudgetDetail": details,
            },
            self._at(max(year_start - timedelta(days=10), self.start), 10),
        )

    def _recent_deletions(self, factory: TransactionFactory) -> None:
        """Entries keyed in and deleted in the last weeks, so CDC has deletions to report."""
        for make in (factory.purchase, factory.estimate):
            record = make(self.today - timedelta(days=6))
            entity = "Purchase" if make == factory.purchase else "Estimate"
            del self.company.store[entity][record["Id"]]
            self.company.deletions.append(
                Deletion(entity, record["Id"], self._at(self.today - timedelta(days=2), 16))
            )


def generate_company(
    index: int, seed: int = 1, size: str = "small", clock: EmulatorClock | None = None
) -> Company:
    """Build the company at `index` of COMPANY_SPECS."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
    return CompanyBuilder(COMPANY_SPECS[index], index, seed, size, clock or EmulatorClock()).build()


def generate_load_test_company(
    index: int, seed: int = 1, clock: EmulatorClock | None = None
) -> Company:
    """Load-test company `index` (0-based) for `seed`, of LOAD_TEST_PROFILE whatever the
    emulator's size. It depends on `seed`, `index` and the clock's today only."""
    spec = load_test_spec(seed, index)
    builder = CompanyBuilder(
        spec, 0, seed, "small", clock or EmulatorClock(), load_test_index=index
    )
    return builder.build()


def generate_backend(
    seed: int = 1,
    size: str = "small",
    today: date | None = None,
    load_test_companies: int = 0,
) -> EmulatorBackend:
    """Every company of the emulator; the first is the demo company.

    After the named companies come `load_test_companies` load-test companies, index 0 first.
    """
    check_load_test_count(load_test_companies)
    clock = EmulatorClock(today)
    companies = {}
    for index in range(len(COMPANY_SPECS)):
        company = generate_company(index, seed, size, clock)
        companies[company.realm_id] = company
    for index in range(load_test_companies):
        company = generate_load_test_company(index, seed, clock)
        companies[company.realm_id] = company
    return EmulatorBackend(companies=companies, clock=clock, seed=seed, size=size)
