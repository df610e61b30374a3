"""Names and classes of the QuickBooks Online entities the emulator serves.

Kept as plain constants so the query engine, the CDC endpoint and the HTTP layer agree on
spelling without importing each other.
"""

# Name-list entities: queries hide inactive rows unless the WHERE clause asks for them.
LIST_ENTITIES: tuple[str, ...] = (
    "Account",
    "Class",
    "Department",
    "Item",
    "Customer",
    "Vendor",
    "Employee",
    "Term",
    "PaymentMethod",
    "TaxCode",
    "TaxRate",
    "Budget",
)

# Transactions are hard-deleted; only CDC reveals deletions.
TRANSACTION_ENTITIES: tuple[str, ...] = (
    "Invoice",
    "Bill",
    "Purchase",
    "JournalEntry",
    "Deposit",
    "SalesReceipt",
    "Payment",
    "BillPayment",
    "CreditMemo",
    "RefundReceipt",
    "VendorCredit",
    "Transfer",
    "Estimate",
    "PurchaseOrder",
)

# Singletons: one record, Id "1".
SINGLETON_ENTITIES: tuple[str, ...] = ("CompanyInfo", "Preferences")

# Every entity Intuit lists as queryable. Those the emulator does not
# generate answer with an empty result, as they would for a company that has none.
QUERYABLE_ENTITIES: tuple[str, ...] = (
    "Account",
    "Attachable",
    "Bill",
    "BillPayment",
    "Budget",
    "Class",
    "CompanyCurrency",
    "CompanyInfo",
    "CreditCardPayment",
    "CreditMemo",
    "Customer",
    "CustomerType",
    "Department",
    "Deposit",
    "Employee",
    "Estimate",
    "ExchangeRate",
    "Invoice",
    "Item",
    "JournalCode",
    "JournalEntry",
    "Payment",
    "PaymentMethod",
    "Preferences",
    "Purchase",
    "PurchaseOrder",
    "RecurringTransaction",
    "RefundReceipt",
    "ReimburseCharge",
    "SalesReceipt",
    "TaxAgency",
    "TaxCode",
    "TaxPayment",
    "TaxRate",
    "Term",
    "TimeActivity",
    "Transfer",
    "Vendor",
    "VendorCredit",
)

# Entities CDC refuses.
CDC_UNSUPPORTED: frozenset[str] = frozenset(
    {"JournalCode", "TaxAgency", "TimeActivity", "TaxCode", "TaxRate"}
)

CANONICAL_BY_LOWER: dict[str, str] = {name.lower(): name for name in QUERYABLE_ENTITIES}


def canonical_entity(name: str) -> str | None:
    """The canonical spelling of an entity name given in any case, or None if unknown."""
    return CANONICAL_BY_LOWER.get(name.lower())
