-- model: marts.transaction_lines
-- description: The transactions behind every profit-and-loss figure, for BI tools and the
--   drill-down from a goal's period: one row per posting of a transaction to an income,
--   cost or expense account, accrual and cash. Summed by account and month they give
--   marts.pnl_monthly exactly; filter by class_id or department_id for a class's or a
--   location's figures, and by txn_date for days and weeks. One row per (org_id, realm_id,
--   basis, month, line_key).
-- depends_on: qbo.transaction_lines
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column basis: 'accrual' or 'cash'.
-- column month: First day of the line's month.
-- column txn_date: Transaction date.
-- column line_key: Key of the line within its month; stable across syncs.
-- column txn_type: Transaction type as QuickBooks prints it, e.g. 'Invoice', 'Credit Memo'.
-- column txn_id: Id of the transaction record.
-- column doc_number: Document number (Num), if any.
-- column name: Customer, vendor or employee on the transaction, if any.
-- column name_id: Id of that customer, vendor or employee.
-- column class_id: QuickBooks Class Id of the line; NULL without a class.
-- column class_name: Class name.
-- column department_id: QuickBooks Department (location) Id; NULL without one.
-- column department_name: Department name.
-- column memo: Memo or description of the line.
-- column account_id: QuickBooks Account.Id the line posts to.
-- column account_name: The account's current name.
-- column report_group: P&L section: Income, COGS, Expenses, OtherIncome or OtherExpenses.
-- column amount: Amount in the home currency, in the account's natural sign.
-- column currency: Home currency code.
SELECT
    org_id,
    realm_id,
    basis,
    month,
    txn_date,
    line_key,
    txn_type,
    txn_id,
    doc_number,
    name,
    name_id,
    class_id,
    class_name,
    department_id,
    department_name,
    memo,
    account_id,
    account_name,
    report_group,
    amount,
    currency
FROM qbo.transaction_lines
