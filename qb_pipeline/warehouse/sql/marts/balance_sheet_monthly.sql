-- model: marts.balance_sheet_monthly
-- description: Month-end balance per balance sheet account, accrual and cash, for BI tools.
--   Each account's own balance; sub-accounts are rows of their own. Equity also holds the
--   fiscal year's net income to date, QuickBooks' computed "Net Income" line: the row with
--   account_id NULL and report_group NetIncome. So a month's asset rows sum to total assets
--   and its other rows to total liabilities and equity. One row per (org_id, realm_id,
--   basis, month_end, account_id).
-- depends_on: qbo.balance_sheet_monthly
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column basis: 'accrual' or 'cash'.
-- column month_end: Date of the balance: the month's last day, or the date of the last sync
--   for the current month.
-- column account_id: QuickBooks Account.Id; NULL on the Net Income line.
-- column account_name: The account's current name; the report's label on the Net Income
--   line.
-- column report_group: Balance sheet section: BankAccounts, AR, OtherCurrentAssets,
--   FixedAssets, OtherAssets, AP, CreditCards, OtherCurrentLiabilities, LongTermLiabilities
--   or Equity; NetIncome on the Net Income line (part of equity).
-- column balance: The account's own balance, home currency, natural sign (liabilities and
--   equity credit-positive), as QuickBooks' BalanceSheet report shows it; on the Net Income
--   line, the fiscal year's net income up to month_end.
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
