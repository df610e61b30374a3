-- model: marts.cash_flow_monthly
-- description: Monthly cash flow per account, for BI tools and cash-flow goals (an addition
--   to the design's contract, shaped like marts.pnl_monthly): the Net Income line (no
--   account) and each account's adjustment, by cash flow section. Summing a month's rows
--   gives QuickBooks' "Net cash increase for period". One row per (org_id, realm_id, basis,
--   month, account_id, report_group).
-- depends_on: qbo.cash_flow_monthly
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column basis: 'accrual'.
-- column month: First day of the month.
-- column account_id: QuickBooks Account.Id; NULL on the Net Income line.
-- column account_name: The account's current name; the report's label on the Net Income line.
-- column report_group: Cash flow section: NetIncome, OperatingAdjustments,
--   InvestingActivities or FinancingActivities.
-- column amount: The line's cash effect for the month, home currency (positive provides
--   cash), as QuickBooks' CashFlow report shows it.
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
FROM qbo.cash_flow_monthly
