-- model: marts.pnl_monthly_by_dimension
-- description: Monthly profit and loss per account by class and by department, accrual and
--   cash, for BI tools and goals filtered by class or department. Each account's own amount;
--   for each dimension, an account's rows of a month (the "not specified" row included) sum
--   to its marts.pnl_monthly amount. Companies that track neither have no rows. One row per
--   (org_id, realm_id, basis, month, account_id, dimension, dimension_id).
-- depends_on: qbo.pnl_monthly_by_dimension
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column basis: 'accrual' or 'cash'.
-- column month: First day of the month.
-- column account_id: QuickBooks Account.Id.
-- column dimension: 'class' or 'department' (QuickBooks calls departments "locations").
-- column dimension_id: QuickBooks Class.Id or Department.Id; NULL for amounts posted without
--   a class (department).
-- column dimension_name: Fully qualified name of the class or department; 'Not specified'
--   for amounts without one.
-- column amount: The account's own amount for the month and member, home currency, as
--   QuickBooks' ProfitAndLoss by Classes (Departments) shows it.
-- column account_name: The account's current name.
-- column report_group: P&L section: Income, COGS, Expenses, OtherIncome or OtherExpenses.
-- column currency: Home currency code.
SELECT
    org_id,
    realm_id,
    basis,
    month,
    account_id,
    dimension,
    dimension_id,
    dimension_name,
    amount,
    account_name,
    report_group,
    currency
FROM qbo.pnl_monthly_by_dimension
