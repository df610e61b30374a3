-- model: qbo.report_lines
-- description: Every line of the monthly ProfitAndLoss, BalanceSheet and CashFlow reports,
--   summaries and computed lines (Gross Profit, Net Income, ...) included: the place to find a
--   report line by its group. One row per (org_id, realm_id, report_name, basis, month,
--   line_key).
-- depends_on: qbo_raw.report_lines
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column report_name: ProfitAndLoss, BalanceSheet or CashFlow.
-- column basis: Accounting basis, 'accrual' or 'cash' (CashFlow: accrual only).
-- column period_start: First day of the month.
-- column period_end: Last day of the month; for the current month, the date of the last sync.
-- column line_key: Key of the line within its report month (enclosing sections, then
--   account:<id>, total, or line:<group>); stable across syncs.
-- column account_id: Account id of an account line; NULL on summaries and computed lines.
-- column account_name: Label QuickBooks printed (localized; for display only).
-- column report_group: Group of the nearest enclosing section: Income, COGS, GrossProfit,
--   Expenses, NetOperatingIncome, OtherIncome, OtherExpenses, NetOtherIncome, NetIncome;
--   BankAccounts, AR, ..., Equity; OperatingActivities, ... on the cash flow.
-- column section_path: Keys of the enclosing sections, outermost first, joined by '/'.
-- column is_summary: True on a section's total line ("Total Income", "Gross Profit", ...).
-- column summary_of_account_id: On the total line of a parent account, that account's id.
-- column has_sub_accounts: True on a parent account's own line; its sub-accounts have their
--   own lines and its total line sums them.
-- column amount: Amount in the company's home currency; NULL for a blank cell.
-- column currency: Home currency code of the report.
SELECT
    r.org_id,
    r.realm_id,
    r.report_name,
    LOWER(r.basis) AS basis,
    r.period_start,
    r.period_end,
    r.line_key,
    r.account_id,
    r.account_name,
    r.report_group,
    r.section_path,
    r.is_summary,
    r.summary_of_account_id,
    r.has_sub_accounts,
    CAST(r.amount AS DECIMAL(18, 2)) AS amount,
    r.currency
FROM qbo_raw.report_lines AS r
WHERE r.row_kind = 'line'
