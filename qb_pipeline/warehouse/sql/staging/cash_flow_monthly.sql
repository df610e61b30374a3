-- model: qbo.cash_flow_monthly
-- description: Cash flow statement per account and month (indirect method, as QuickBooks'
--   CashFlow report gives it, accrual): the Net Income line (account_id NULL, report_group
--   NetIncome) and each account's adjustment under OperatingAdjustments,
--   InvestingActivities or FinancingActivities. Totals and the computed lines (CashIncrease,
--   BeginningCash, EndingCash) are in qbo.report_lines. One row per (org_id, realm_id,
--   basis, month, account_id, report_group).
-- depends_on: qbo.report_lines, qbo.accounts
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column basis: 'accrual' (QuickBooks' cash flow statement is pulled on one basis).
-- column month: First day of the month.
-- column account_id: QuickBooks Account.Id; NULL on the Net Income line.
-- column account_name: The account's current name (the report's label if the account is
--   unknown, and on the Net Income line).
-- column report_group: Cash flow section: NetIncome, OperatingAdjustments,
--   InvestingActivities or FinancingActivities.
-- column amount: The line's cash effect for the month in the home currency (positive
--   provides cash, negative uses it), as the report shows it.
-- column currency: Home currency code.
SELECT
    r.org_id,
    r.realm_id,
    r.basis,
    r.period_start AS month,
    r.account_id,
    COALESCE(MAX(a.name), MAX(r.account_name)) AS account_name,
    r.report_group,
    SUM(r.amount) AS amount,
    MAX(r.currency) AS currency
FROM qbo.report_lines AS r
LEFT JOIN qbo.accounts AS a
    ON a.org_id = r.org_id
    AND a.realm_id = r.realm_id
    AND a.account_id = r.account_id
WHERE r.report_name = 'CashFlow'
    AND NOT r.is_summary
    AND r.amount IS NOT NULL
GROUP BY r.org_id, r.realm_id, r.basis, r.period_start, r.account_id, r.report_group
