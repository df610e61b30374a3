-- model: marts.accounts
-- description: The chart of accounts of every connected company, for BI tools. One row per
--   (org_id, realm_id, account_id); inactive and deleted accounts included (active = false).
-- depends_on: qbo.accounts
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column account_id: QuickBooks Account.Id.
-- column name: Account name (deleted accounts end in " (deleted)").
-- column fully_qualified_name: Name with its parent accounts, joined by ':'.
-- column account_type: AccountType, e.g. 'Bank', 'Accounts Receivable', 'Income', 'Expense'.
-- column account_sub_type: AccountSubType, e.g. 'Checking', 'SalesOfProductIncome'.
-- column classification: Asset, Liability, Equity, Revenue or Expense.
-- column parent_account_id: Parent account id of a sub-account; NULL for top-level accounts.
-- column active: False for inactive and deleted accounts.
-- column current_balance: The account's own balance (without sub-accounts) at the last sync,
--   as QuickBooks reports it in Account.CurrentBalance (statements: use the balance sheet).
-- column currency: Currency code of the account.
-- column updated_at: When QuickBooks last changed the account (UTC).
SELECT
    org_id,
    realm_id,
    account_id,
    name,
    fully_qualified_name,
    account_type,
    account_sub_type,
    classification,
    parent_account_id,
    active,
    current_balance,
    currency,
    updated_at
FROM qbo.accounts
