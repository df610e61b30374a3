-- model: qbo.balance_sheet_monthly
-- description: Balance sheet per account at each month end, accrual and cash: each account's
--   own balance (sub-accounts are rows of their own), plus the computed "Net Income" line
--   of equity (the fiscal year's income to date; account_id NULL, report_group NetIncome),
--   so that a month's balances sum to total assets on one side and total liabilities and
--   equity on the other. The current month shows the balance at the last sync. One row per
--   (org_id, realm_id, basis, month_end, account_id).
-- depends_on: qbo.report_lines, qbo.accounts
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column basis: 'accrual' or 'cash'.
-- column month_end: Date of the balance: the last day of the month, or the date of the
--   last sync for the current month.
-- column account_id: QuickBooks Account.Id; NULL on the Net Income line.
-- column account_name: The account's current name (the report's label if the account is
--   unknown, and on the Net Income line).
-- column report_group: Balance sheet section: BankAccounts, AR, OtherCurrentAssets,
--   FixedAssets, OtherAssets, AP, CreditCards, OtherCurrentLiabilities, LongTermLiabilities
--   or Equity; NetIncome on the Net Income line (which QuickBooks prints inside Equity).
-- column balance: The account's own balance in the home currency, natural sign (liabilities
--   and equity credit-positive), as the report shows it; on the Net Income line, the fiscal
--   year's net income up to month_end.
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
    -- Account lines, and the computed line without which equity does not add up: Net
    -- Income (a Data row without an id, group NetIncome, inside Equity).
    AND (r.account_id IS NOT NULL OR r.report_group = 'NetIncome')
    AND NOT r.is_summary
    AND r.amount IS NOT NULL
GROUP BY r.org_id, r.realm_id, r.basis, r.period_end, r.account_id
