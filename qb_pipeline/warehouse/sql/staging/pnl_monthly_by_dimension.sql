-- model: qbo.pnl_monthly_by_dimension
-- description: Profit and loss per account, month and class or department, accrual and cash,
--   from QuickBooks' ProfitAndLoss summarized by Classes and by Departments (one request per
--   month; only for companies whose Preferences track them). Each account's own amount, as
--   in qbo.pnl_monthly; postings without a class (department) are the row whose
--   dimension_id is NULL, so for each dimension the rows of an account and month sum to its
--   qbo.pnl_monthly amount. One row per (org_id, realm_id, basis, month, account_id,
--   dimension, dimension_id).
-- depends_on: qbo_raw.report_dimension_lines, qbo.accounts
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column basis: 'accrual' or 'cash'.
-- column month: First day of the month.
-- column account_id: QuickBooks Account.Id.
-- column dimension: 'class' or 'department'.
-- column dimension_id: QuickBooks Class.Id or Department.Id; NULL for the amounts posted
--   without a class (department), QuickBooks' "Not Specified" column.
-- column dimension_name: The class's (department's) fully qualified name as the latest
--   report printed it; 'Not specified' for amounts without one.
-- column amount: The account's own amount for the month and member, home currency, natural
--   sign, as QuickBooks' report shows it.
-- column account_name: The account's current name (the report's label if the account is
--   unknown).
-- column report_group: P&L section: Income, COGS, Expenses, OtherIncome or OtherExpenses.
-- column currency: Home currency code.
WITH lines AS (
    SELECT
        d.org_id,
        d.realm_id,
        LOWER(d.basis) AS basis,
        d.period_start AS month,
        d.account_id,
        d.dimension,
        d.member_id,
        COALESCE(d.is_not_specified, FALSE) AS is_not_specified,
        d.member_name,
        d.account_name,
        d.report_group,
        CAST(d.amount AS DECIMAL(18, 2)) AS amount,
        d.currency
    FROM qbo_raw.report_dimension_lines AS d
    WHERE d.row_kind = 'line'
        AND d.account_id IS NOT NULL
        AND NOT d.is_summary
        AND d.amount IS NOT NULL
),

-- A renamed class keeps one name in every month: the one its latest month printed (a
-- window function rather than DuckDB's arg_max, so that Postgres runs it too).
named_months AS (
    SELECT
        org_id,
        realm_id,
        dimension,
        member_id,
        member_name,
        ROW_NUMBER() OVER (
            PARTITION BY org_id, realm_id, dimension, member_id ORDER BY month DESC
        ) AS newest_first
    FROM lines
    WHERE member_id IS NOT NULL
),

latest_names AS (
    SELECT org_id, realm_id, dimension, member_id, member_name
    FROM named_months
    WHERE newest_first = 1
)

SELECT
    l.org_id,
    l.realm_id,
    l.basis,
    l.month,
    l.account_id,
    l.dimension,
    l.member_id AS dimension_id,
    CASE
        WHEN l.is_not_specified THEN 'Not specified'
        ELSE COALESCE(MAX(n.member_name), MAX(l.member_name))
    END AS dimension_name,
    SUM(l.amount) AS amount,
    COALESCE(MAX(a.name), MAX(l.account_name)) AS account_name,
    MAX(l.report_group) AS report_group,
    MAX(l.currency) AS currency
FROM lines AS l
LEFT JOIN latest_names AS n
    ON n.org_id = l.org_id
    AND n.realm_id = l.realm_id
    AND n.dimension = l.dimension
    AND n.member_id = l.member_id
LEFT JOIN qbo.accounts AS a
    ON a.org_id = l.org_id
    AND a.realm_id = l.realm_id
    AND a.account_id = l.account_id
GROUP BY
    l.org_id, l.realm_id, l.basis, l.month, l.account_id, l.dimension, l.member_id,
    l.is_not_specified,
    -- columns without an id that QuickBooks' lists did not name either stay apart
    CASE WHEN l.member_id IS NULL AND NOT l.is_not_specified THEN l.member_name END
