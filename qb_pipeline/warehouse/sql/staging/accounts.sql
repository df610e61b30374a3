-- model: qbo.accounts
-- description: Every account of every connected company, typed and renamed; inactive and
--   deleted accounts (QuickBooks renames those "<name> (deleted)") included. One row per
--   (org_id, realm_id, account_id).
-- depends_on: qbo_raw.account
-- column org_id: Organization (tenant) slug that owns the QuickBooks connection.
-- column realm_id: QuickBooks company id (realmId); data of different companies never mixes.
-- column account_id: QuickBooks Account.Id.
-- column name: Account name.
-- column fully_qualified_name: Name with its parent accounts, joined by ':'.
-- column account_type: AccountType, e.g. 'Bank', 'Accounts Receivable', 'Income', 'Expense'.
-- column account_sub_type: AccountSubType, e.g. 'Checking', 'SalesOfProductIncome'.
-- column classification: Asset, Liability, Equity, Revenue or Expense.
-- column parent_account_id: Parent account id of a sub-account; NULL for top-level accounts.
-- column is_sub_account: True for a sub-account.
-- column active: False for inactive and deleted accounts.
-- column account_number: Account number (AcctNum), when the company uses them.
-- column current_balance: The account's own balance (without sub-accounts) at the last sync,
--   as QuickBooks reports it in Account.CurrentBalance.
-- column current_balance_with_sub_accounts: Balance including all sub-accounts.
-- column currency: Currency code of the account (CurrencyRef).
-- column updated_at: When QuickBooks last changed the account (MetaData.LastUpdatedTime, UTC).
SELECT
    a.org_id,
    a.realm_id,
    a.id AS account_id,
    a.name,
    a.fully_qualified_name,
    a.account_type,
    a.account_sub_type,
    a.classification,
    a.parent_ref__value AS parent_account_id,
    COALESCE(a.sub_account, FALSE) AS is_sub_account,
    a.active,
    a.acct_num AS account_number,
    CAST(a.current_balance AS DECIMAL(18, 2)) AS current_balance,
    CAST(a.current_balance_with_sub_accounts AS DECIMAL(18, 2))
        AS current_balance_with_sub_accounts,
    a.currency_ref__value AS currency,
    a.updated_at
FROM qbo_raw.account AS a
