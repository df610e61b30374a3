-- model: qbo.balance_sheet_monthly
-- description: Balance sheet per account at each month end, accrual and cash: each account's
--   own balance (sub-accounts are rows of their own). The current month shows the balance
--   at the last sync. The computed "Net Income" line of equity has no account and is in
--   qbo.report_lines (report_group 'NetIncome'). One row per (org_id, realm_id, basis,
--   month_end, account_id).
-- depends_on: qbo.report_lines, qbo.accounts
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column basis: 'accrual' or 'cash'.
-- column month_end: Date of the balance: the last day of the month, or the date of the
--   last sync for the current month.
-- column account_id: QuickBooks Account.Id.
-- column account_name: The account's current name (the report's label if the account is
--   unknown).
-- column report_group: Balance sheet section: BankAccounts, AR, OtherCurrentAssets,
--   FixedAssets, OtherAssets, AP, CreditCards, OtherCurrentLiabilities, LongTermLiabilities
--   or Equity.
-- column balance: The account's own balance in the home currency, natural sign (liabilities
--   and equity credit-positive), as the report shows it.
-- column currency: Home currency code.
SELECT
    r.org_id,
    r.realm_id,
    r.basis,
    r.period_end AS month_end,
    r.account_id,
    COALESCE(MAX(a.name), MAX(r.account_name)) AS account_name,
    MAX(r.report_group) AS report_group,
    SUM(r.amount) AS balance,
    MAX(r.currency) AS currency
FROM qbo.report_lines AS r
LEFT JOIN qbo.accounts AS a
    ON a.org_id = r.org_id
    AND a.realm_id = r.realm_id
    AND a.account_id = r.account_id
WHERE r.report_name = 'BalanceSheet'
    AND r.account_id IS NOT NULL
    AND NOT r.is_summary
    AND r.amount IS NOT NULL
GROUP BY r.org_id, r.realm_id, r.basis, r.period_end, r.account_id
