"""Known properties per entity, for "Property X not found for Entity Y" (4001)."""

from __future__ import annotations

from qb_pipeline.sandbox.accounting.entities import (
    TRANSACTION_ENTITIES,
)
from qb_pipeline.sandbox.accounting.query.parser import words

HEADER = "Id SyncToken MetaData domain sparse"
METADATA_FIELDS = ("CreateTime", "LastUpdatedTime")
_NAME_LIST = "Name Active FullyQualifiedName ParentRef Description"
_PARTY = (
    "DisplayName CompanyName GivenName MiddleName FamilyName Title Suffix PrintOnCheckName "
    "Active PrimaryPhone Mobile Fax PrimaryEmailAddr WebAddr BillAddr ShipAddr Balance "
    "CurrencyRef TermRef Notes AcctNum"
)
_TXN = (
    "TxnDate DocNumber CurrencyRef ExchangeRate PrivateNote Line TotalAmt HomeTotalAmt "
    "TxnTaxDetail LinkedTxn CustomField DepartmentRef ClassRef TxnSource GlobalTaxCalculation"
)

# Properties Intuit documents per entity, known even when no record carries them.
# Anything a stored record carries is known too.
DOCUMENTED: dict[str, frozenset[str]] = {
    "Account": words(
        _NAME_LIST,
        "SubAccount Classification AccountType AccountSubType AcctNum CurrentBalance "
        "CurrentBalanceWithSubAccounts CurrencyRef",
    ),
    "Class": words(_NAME_LIST, "SubClass"),
    "Department": words(_NAME_LIST, "SubDepartment"),
    "Item": words(
        _NAME_LIST,
        "SubItem Level Taxable UnitPrice Type IncomeAccountRef PurchaseCost ExpenseAccountRef "
        "AssetAccountRef TrackQtyOnHand QtyOnHand InvStartDate Sku",
    ),
    "Customer": words(
        _PARTY,
        "Taxable Job BillWithParent ParentRef Level FullyQualifiedName BalanceWithJobs "
        "PreferredDeliveryMethod SalesTermRef PaymentMethodRef",
    ),
    "Vendor": words(_PARTY, "Vendor1099"),
    "Employee": words(_PARTY, "EmployeeNumber HiredDate ReleasedDate BillableTime"),
    "Term": words("Name Active Type DueDays DiscountDays DiscountPercent"),
    "PaymentMethod": words("Name Active Type"),
    "TaxCode": words(
        "Name Active Description Taxable TaxGroup SalesTaxRateList PurchaseTaxRateList"
    ),
    "TaxRate": words("Name Active Description RateValue AgencyRef SpecialTaxType DisplayType"),
    "Budget": words("Name Active StartDate EndDate BudgetType BudgetEntryType BudgetDetail"),
    "CompanyInfo": words(
        "CompanyName LegalName CompanyAddr CustomerCommunicationAddr LegalAddr PrimaryPhone "
        "CompanyStartDate FiscalYearStartMonth Country Email WebAddr SupportedLanguages NameValue"
    ),
    "Preferences": words(
        "AccountingInfoPrefs ProductAndServicesPrefs SalesFormsPrefs VendorAndPurchasesPrefs "
        "TimeTrackingPrefs TaxPrefs CurrencyPrefs ReportPrefs OtherPrefs EmailMessagesPrefs"
    ),
    "Invoice": words(
        _TXN,
        "CustomerRef DueDate Balance HomeBalance SalesTermRef BillAddr ShipAddr BillEmail "
        "ApplyTaxAfterDiscount PrintStatus EmailStatus Deposit ARAccountRef",
    ),
    "Bill": words(_TXN, "VendorRef APAccountRef DueDate Balance HomeBalance SalesTermRef"),
    "Purchase": words(_TXN, "AccountRef PaymentType EntityRef Credit PaymentMethodRef"),
    "JournalEntry": words(_TXN, "Adjustment"),
    "Deposit": words(_TXN, "DepositToAccountRef CashBack"),
    "SalesReceipt": words(
        _TXN,
        "CustomerRef Balance PaymentMethodRef DepositToAccountRef BillAddr ShipAddr PaymentRefNum",
    ),
    "Payment": words(
        _TXN,
        "CustomerRef DepositToAccountRef ARAccountRef UnappliedAmt ProcessPayment "
        "PaymentMethodRef PaymentRefNum",
    ),
    "BillPayment": words(_TXN, "VendorRef PayType CheckPayment CreditCardPayment"),
    "CreditMemo": words(_TXN, "CustomerRef Balance RemainingCredit BillAddr"),
    "RefundReceipt": words(_TXN, "CustomerRef Balance DepositToAccountRef PaymentMethodRef"),
    "VendorCredit": words(_TXN, "VendorRef APAccountRef Balance"),
    "Transfer": words(_TXN, "FromAccountRef ToAccountRef Amount"),
    "Estimate": words(
        _TXN, "CustomerRef ExpirationDate TxnStatus AcceptedBy AcceptedDate BillAddr ShipAddr"
    ),
    "PurchaseOrder": words(_TXN, "VendorRef APAccountRef POStatus DueDate ShipAddr"),
}
for _entity in TRANSACTION_ENTITIES:
    DOCUMENTED.setdefault(_entity, words(_TXN))
