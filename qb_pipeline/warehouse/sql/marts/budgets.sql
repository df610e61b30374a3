-- model: marts.budgets
-- description: The company's QuickBooks budgets by month, for BI tools and goals whose target
--   is a budget: one row per budget line and month (quarterly and annual entries spread
--   over their months), with the budget's name and fiscal year. Companies without a budget
--   have no such view until their import holds one. One row per (org_id, realm_id,
--   budget_id, line_index, month).
-- depends_on: qbo.budgets
-- optional: true
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column budget_id: QuickBooks Budget.Id.
-- column budget_name: Budget.Name, e.g. 'FY2026 Budget'.
-- column fiscal_year: The fiscal year the budget covers, named after the year it ends in
--   (FY2026), as goal periods are.
-- column start_date: First day of the budget's fiscal year.
-- column end_date: Last day of the budget's fiscal year.
-- column budget_type: ProfitAndLoss or BalanceSheet.
-- column entry_type: Monthly, Quarterly or Annually, as entered in QuickBooks.
-- column active: False for a budget made inactive in QuickBooks.
-- column line_index: Position of the line in the budget's BudgetDetail.
-- column month: First day of the month.
-- column account_id: QuickBooks Account.Id.
-- column class_id: QuickBooks Class.Id of a budget subdivided by class; NULL otherwise.
-- column department_id: QuickBooks Department.Id of a budget subdivided by location; NULL
--   otherwise.
-- column customer_id: QuickBooks Customer.Id of a budget subdivided by customer; NULL
--   otherwise.
-- column amount: The budgeted amount for the month, home currency, with the sign QuickBooks'
--   ProfitAndLoss shows (income and expenses positive).
SELECT
    org_id,
    realm_id,
    budget_id,
    budget_name,
    fiscal_year,
    start_date,
    end_date,
    budget_type,
    entry_type,
    active,
    line_index,
    month,
    account_id,
    class_id,
    department_id,
    customer_id,
    amount
FROM qbo.budgets
