-- model: marts.balance_sheet_monthly
-- description: Month-end balance per balance sheet account, accrual and cash, for BI tools.
--   Each account's own balance; sub-accounts are rows of their own. One row per (org_id,
--   realm_id, basis, month_end, account_id).
-- depends_on: qbo.balance_sheet_monthly
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column basis: 'accrual' or 'cash'.
-- column month_end: Date of the balance: the month's last day, or the date of the last sync
--   for the current month.
-- column account_id: QuickBooks Account.Id.
-- column account_name: The account's current name.
-- column report_group: Balance sheet section: BankAccounts, AR, OtherCurrentAssets,
--   FixedAssets, OtherAssets, AP, CreditCards, OtherCurrentLiabilities, LongTermLiabilities
--   or Equity.
-- column balance: The account's own balance, home currency, natural sign (liabilities and
--   equity credit-positive), as QuickBooks' BalanceSheet report shows it.
-- column currency: Home currency code.
SELECT
    org_id,
    realm_id,
    basis,
    month_end,
    account_id,
    account_name,
    report_group,
    balance,
    currency
FROM qbo.balance_sheet_monthly
