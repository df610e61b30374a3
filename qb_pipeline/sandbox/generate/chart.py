"""The chart of accounts every generated company starts from.

Covers all five classifications, sub-accounts three levels deep, an inactive account and
one deleted account (renamed "(deleted)" as QBO does). `role` names how the transaction
factory uses an account, so generated business never depends on ids.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from qb_pipeline.sandbox.accounting.account_types import CLASSIFICATION_BY_TYPE


@dataclass(frozen=True)
class AccountSpec:
    key: str
    name: str
    account_type: str
    sub_type: str
    number: int
    parent: str | None = None
    role: str | None = None
    active: bool = True
    deleted: bool = False
    currency: str | None = None
    description: str | None = None

    @property
    def classification(self) -> str:
        return CLASSIFICATION_BY_TYPE[self.account_type]

    def for_currency(self, currency: str) -> AccountSpec:
        """The same account held in a foreign currency (multi-currency companies)."""
        return replace(
            self,
            key=f"{self.key}_{currency}",
            name=f"{self.name} - {currency}",
            role=f"{self.role}_{currency}" if self.role else None,
            number=self.number + (10 if currency == "EUR" else 20),
            currency=currency,
        )


A = AccountSpec
CHART: tuple[AccountSpec, ...] = (
    A("checking", "Business Checking", "Bank", "Checking", 1010, role="checking"),
    A("savings", "Savings", "Bank", "Savings", 1020, role="savings"),
    A("petty_cash", "Petty Cash", "Bank", "CashOnHand", 1030, active=False),
    A("ar", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", 1100,
      role="ar"),
    A("undeposited", "Undeposited Funds", "Other Current Asset", "UndepositedFunds", 1200,
      role="undeposited"),
    A("inventory", "Inventory Asset", "Other Current Asset", "Inventory", 1210, role="inventory"),
    A("prepaid", "Prepaid Expenses", "Other Current Asset", "PrepaidExpenses", 1220,
      role="prepaid"),
    A("vehicles", "Vehicles", "Fixed Asset", "Vehicles", 1500, role="vehicles"),
    A("vehicles_cost", "Original Cost", "Fixed Asset", "Vehicles", 1510, parent="vehicles",
      role="fixed_cost"),
    A("vehicles_depr", "Accumulated Depreciation", "Fixed Asset", "AccumulatedDepreciation", 1520,
      parent="vehicles", role="accumulated_depreciation"),
    A("equipment", "Equipment", "Fixed Asset", "MachineryAndEquipment", 1550, role="equipment"),
    A("deposits", "Security Deposits", "Other Asset", "SecurityDeposits", 1800,
      role="security_deposit"),
    A("ap", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", 2000, role="ap"),
    A("card", "Mastercard", "Credit Card", "CreditCard", 2100, role="card"),
    A("sales_tax", "Sales Tax Payable", "Other Current Liability", "SalesTaxPayable", 2200,
      role="sales_tax"),
    A("payroll_liab", "Payroll Liabilities", "Other Current Liability", "PayrollTaxPayable", 2210,
      role="payroll_liabilities"),
    A("loan", "Notes Payable", "Long Term Liability", "NotesPayable", 2700, role="loan"),
    A("obe", "Opening Balance Equity", "Equity", "OpeningBalanceEquity", 3000,
      role="opening_equity"),
    A("retained", "Retained Earnings", "Equity", "RetainedEarnings", 3100,
      role="retained_earnings"),
    A("owner_inv", "Owner's Investment", "Equity", "OwnersEquity", 3200, role="owner_investment"),
    A("owner_draw", "Owner's Draw", "Equity", "PartnerDistributions", 3300, role="owner_draw"),
    A("services", "Services", "Income", "ServiceFeeIncome", 4000, role="income_services"),
    A("consulting", "Consulting", "Income", "ServiceFeeIncome", 4010, parent="services",
      role="income_consulting"),
    A("senior", "Senior Consulting", "Income", "ServiceFeeIncome", 4011, parent="consulting",
      role="income_senior_consulting"),
    A("design", "Design income", "Income", "ServiceFeeIncome", 4100, role="income_design"),
    A("products", "Product Sales", "Income", "SalesOfProductIncome", 4200, role="income_products"),
    A("discounts", "Discounts given", "Income", "DiscountsRefundsGiven", 4300, role="discounts"),
    A("sponsorship", "Event Sponsorships", "Income", "OtherPrimaryIncome", 4400, deleted=True,
      active=False),
    A("interest", "Interest Earned", "Other Income", "InterestEarned", 4900,
      role="interest_income"),
    A("cogs", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", 5000,
      role="cogs"),
    A("materials", "Job Materials", "Cost of Goods Sold", "SuppliesMaterialsCogs", 5100,
      role="cogs_materials"),
    A("plants", "Plants and Soil", "Cost of Goods Sold", "SuppliesMaterialsCogs", 5110,
      parent="materials", role="cogs_plants"),
    A("advertising", "Advertising", "Expense", "AdvertisingPromotional", 6000, role="advertising"),
    A("rent", "Rent or Lease", "Expense", "RentOrLeaseOfBuildings", 6100, role="rent"),
    A("utilities", "Utilities", "Expense", "Utilities", 6200, role="utilities"),
    A("power", "Gas and Electric", "Expense", "Utilities", 6210, parent="utilities",
      role="utilities_power"),
    A("phone", "Telephone", "Expense", "Utilities", 6220, parent="utilities",
      role="utilities_phone"),
    A("insurance", "Insurance", "Expense", "Insurance", 6300, role="insurance"),
    A("office", "Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses", 6400,
      role="office"),
    A("legal", "Legal & Professional Fees", "Expense", "LegalProfessionalFees", 6500,
      role="legal"),
    A("accounting", "Accounting", "Expense", "LegalProfessionalFees", 6510, parent="legal",
      role="legal_accounting"),
    A("meals", "Meals and Entertainment", "Expense", "EntertainmentMeals", 6600, role="meals"),
    A("travel", "Travel", "Expense", "Travel", 6700, role="travel"),
    A("auto", "Automobile", "Expense", "Auto", 6800, role="auto"),
    A("fuel", "Fuel", "Expense", "Auto", 6810, parent="auto", role="auto_fuel"),
    A("wages", "Payroll Expenses", "Expense", "PayrollExpenses", 6900, role="wages"),
    A("software_old", "Software Subscriptions", "Expense", "OfficeGeneralAdministrativeExpenses",
      6950, active=False),
    A("depreciation", "Depreciation", "Other Expense", "Depreciation", 7000, role="depreciation"),
    A("penalties", "Penalties & Settlements", "Other Expense", "PenaltiesSettlements", 7100,
      role="penalties"),
)  # fmt: skip

# Held once per foreign currency in multi-currency companies.
MULTI_CURRENCY_ACCOUNTS: tuple[AccountSpec, ...] = tuple(
    spec for spec in CHART if spec.key in ("checking", "ar", "ap")
)
