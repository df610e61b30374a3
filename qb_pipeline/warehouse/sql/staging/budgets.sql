-- model: qbo.budgets
-- description: QuickBooks budgets, one row per budget line and month: the Budget entity's
--   BudgetDetail lines (an amount per account and date, optionally per class, location or
--   customer), with their budget's name and fiscal year. Quarterly and annual entries are
--   spread evenly over their months (to the cent, the last month taking the rest), so that
--   every budget reads by month. Only companies that have a budget have rows (the model is
--   built once the import holds one). One row per (org_id, realm_id, budget_id, line_index,
--   month).
-- depends_on: qbo_raw.budget, qbo_raw.budget__budget_detail
-- optional: true
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column budget_id: QuickBooks Budget.Id.
-- column budget_name: Budget.Name, e.g. 'FY2026 Budget'.
-- column budget_type: BudgetType: ProfitAndLoss or BalanceSheet.
-- column entry_type: BudgetEntryType: Monthly, Quarterly or Annually.
-- column start_date: Budget.StartDate, the first day of the fiscal year it covers.
-- column end_date: Budget.EndDate, its last day.
-- column fiscal_year: The fiscal year it covers, named after the year it ends in (FY2026).
-- column active: False for a budget made inactive in QuickBooks.
-- column line_index: Position of the line in the budget's BudgetDetail.
-- column month: First day of the month.
-- column account_id: QuickBooks Account.Id (AccountRef).
-- column class_id: QuickBooks Class.Id of a budget subdivided by class; NULL otherwise.
-- column department_id: QuickBooks Department.Id of a budget subdivided by location.
-- column customer_id: QuickBooks Customer.Id of a budget subdivided by customer.
-- column amount: The budgeted amount for the month, home currency, with the sign
--   QuickBooks' ProfitAndLoss shows (income and expenses positive).
WITH lines AS (
    SELECT
        b.org_id,
        b.realm_id,
        b.id AS budget_id,
        b.name AS budget_name,
        b.budget_type,
        b.budget_entry_type AS entry_type,
        CAST(b.start_date AS DATE) AS start_date,
        CAST(b.end_date AS DATE) AS end_date,
        COALESCE(b.active, TRUE) AS active,
        d._dlt_list_idx AS line_index,
        CAST(d.budget_date AS DATE) AS budget_date,
        d.account_ref__value AS account_id,
        d.class_ref__value AS class_id,
        d.department_ref__value AS department_id,
        d.customer_ref__value AS customer_id,
        CAST(d.amount AS DECIMAL(18, 2)) AS amount,
        CASE b.budget_entry_type WHEN 'Quarterly' THEN 3 WHEN 'Annually' THEN 12 ELSE 1 END
            AS months
    FROM qbo_raw.budget AS b
    JOIN qbo_raw.budget__budget_detail AS d ON d._dlt_parent_id = b._dlt_id
    WHERE d.account_ref__value IS NOT NULL AND d.amount IS NOT NULL
),

-- Month offsets within a quarterly or annual entry, as interval literals: both engines add
-- an interval to a date the same way.
offsets (step, shift) AS (
    VALUES
        (0, INTERVAL '0' MONTH), (1, INTERVAL '1' MONTH), (2, INTERVAL '2' MONTH),
        (3, INTERVAL '3' MONTH), (4, INTERVAL '4' MONTH), (5, INTERVAL '5' MONTH),
        (6, INTERVAL '6' MONTH), (7, INTERVAL '7' MONTH), (8, INTERVAL '8' MONTH),
        (9, INTERVAL '9' MONTH), (10, INTERVAL '10' MONTH), (11, INTERVAL '11' MONTH)
)

SELECT
    l.org_id,
    l.realm_id,
    l.budget_id,
    l.budget_name,
    l.budget_type,
    l.entry_type,
    l.start_date,
    l.end_date,
    -- Here, not in the mart: marts stay in the SQL every engine runs (SQLite has no EXTRACT).
    CAST(EXTRACT(YEAR FROM l.end_date) AS INTEGER) AS fiscal_year,
    l.active,
    l.line_index,
    CAST(l.budget_date + o.shift AS DATE) AS month,
    l.account_id,
    l.class_id,
    l.department_id,
    l.customer_id,
    CASE
        WHEN o.step < l.months - 1
            THEN CAST(FLOOR(l.amount * 100 / l.months) / 100 AS DECIMAL(18, 2))
        ELSE l.amount - (l.months - 1) * CAST(FLOOR(l.amount * 100 / l.months) / 100 AS DECIMAL(18, 2))
    END AS amount
FROM lines AS l
JOIN offsets AS o ON o.step < l.months
