-- model: marts.pnl_monthly
-- description: Monthly profit and loss per account, accrual and cash, for BI tools. Each
--   account's own amount; sub-accounts are rows of their own, so summing rows never counts
--   an amount twice. One row per (org_id, realm_id, basis, month, account_id); months
--   without postings have no row.
-- depends_on: qbo.pnl_monthly
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column basis: 'accrual' or 'cash'.
-- column month: First day of the month.
-- column account_id: QuickBooks Account.Id.
-- column account_name: The account's current name.
-- column report_group: P&L section: Income, COGS, Expenses, OtherIncome or OtherExpenses.
-- column amount: The account's own amount for the month, home currency, as QuickBooks'
--   ProfitAndLoss report shows it.
-- column currency: Home currency code.
SELECT
    org_id,
    realm_id,
    basis,
    month,
    account_id,
    account_name,
    report_group,
    amount,
    currency
FROM qbo.pnl_monthly
