-- model: qbo.pnl_monthly
-- description: Profit and loss per account and month, accrual and cash: each account's own
--   amount (a parent account's own postings; its sub-accounts are rows of their own), so
--   amounts add up without double counting. Months in which an account had no postings have
--   no row. One row per (org_id, realm_id, basis, month, account_id).
-- depends_on: qbo.report_lines, qbo.accounts
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column basis: 'accrual' or 'cash'.
-- column month: First day of the month.
-- column account_id: QuickBooks Account.Id.
-- column account_name: The account's current name (the report's label if the account is
--   unknown).
-- column report_group: P&L section: Income, COGS, Expenses, OtherIncome or OtherExpenses.
-- column amount: The account's own amount for the month in the home currency (income and
--   expenses both positive in their natural direction, as QuickBooks reports them).
-- column currency: Home currency code.
SELECT
    r.org_id,
    r.realm_id,
    r.basis,
    r.period_start AS month,
    r.account_id,
    COALESCE(MAX(a.name), MAX(r.account_name)) AS account_name,
    MAX(r.report_group) AS report_group,
    SUM(r.amount) AS amount,
    MAX(r.currency) AS currency
FROM qbo.report_lines AS r
LEFT JOIN qbo.accounts AS a
    ON a.org_id = r.org_id
    AND a.realm_id = r.realm_id
    AND a.account_id = r.account_id
WHERE r.report_name = 'ProfitAndLoss'
    AND r.account_id IS NOT NULL
    AND NOT r.is_summary
    AND r.amount IS NOT NULL
GROUP BY r.org_id, r.realm_id, r.basis, r.period_start, r.account_id
