-- model: qbo.transaction_lines
-- description: Every profit-and-loss transaction line, accrual and cash, from QuickBooks'
--   ProfitAndLossDetail report: one row per posting of a transaction to an income, cost or
--   expense account, in the account's natural sign. The lines of a month add up, account by
--   account, to that month's qbo.pnl_monthly amount on the same basis. One row per (org_id,
--   realm_id, basis, month, line_key).
-- depends_on: qbo_raw.pnl_detail_lines, qbo.accounts
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column basis: 'accrual' or 'cash'.
-- column month: First day of the line's month.
-- column txn_date: Transaction date.
-- column line_key: Key of the line within its month: transaction type, id and account,
--   with '~n' for a transaction's n-th posting to the same account; stable across syncs.
-- column txn_type: Transaction type as QuickBooks prints it, e.g. 'Invoice', 'Credit Memo'.
-- column txn_id: Id of the transaction record (with its type, it names the record).
-- column doc_number: Document number (Num), if any.
-- column name: Customer, vendor or employee on the transaction, if any.
-- column name_id: Id of that customer, vendor or employee.
-- column class_id: QuickBooks Class Id of the line; NULL without a class.
-- column class_name: Class name (fully qualified).
-- column department_id: QuickBooks Department (location) Id; NULL without one.
-- column department_name: Department name (fully qualified).
-- column memo: Memo or description of the line.
-- column account_id: QuickBooks Account.Id the line posts to.
-- column account_name: The account's current name (the report's label if it is unknown).
-- column report_group: P&L section of the account: Income, COGS, Expenses, OtherIncome or
--   OtherExpenses (NULL when the account is unknown).
-- column amount: Amount in the home currency, in the account's natural sign (income and
--   expenses both positive in their natural direction), as the ProfitAndLoss adds it up.
-- column currency: Home currency code.
SELECT
    d.org_id,
    d.realm_id,
    LOWER(d.basis) AS basis,
    d.period_start AS month,
    d.txn_date,
    d.line_key,
    d.txn_type,
    d.txn_id,
    d.doc_number,
    d.name,
    d.name_id,
    d.class_id,
    d.class_name,
    d.department_id,
    d.department_name,
    d.memo,
    d.account_id,
    COALESCE(a.name, d.account_name) AS account_name,
    CASE a.account_type
        WHEN 'Income' THEN 'Income'
        WHEN 'Cost of Goods Sold' THEN 'COGS'
        WHEN 'Expense' THEN 'Expenses'
        WHEN 'Other Income' THEN 'OtherIncome'
        WHEN 'Other Expense' THEN 'OtherExpenses'
    END AS report_group,
    CAST(d.amount AS DECIMAL(18, 2)) AS amount,
    d.currency
FROM qbo_raw.pnl_detail_lines AS d
LEFT JOIN qbo.accounts AS a
    ON a.org_id = d.org_id
    AND a.realm_id = d.realm_id
    AND a.account_id = d.account_id
WHERE d.row_kind = 'line'
