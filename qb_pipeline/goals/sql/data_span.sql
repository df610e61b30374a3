-- The first and last month holding imported data for the organization, any dataset.
SELECT min(month) AS first_month, max(month) AS last_month
FROM (
    SELECT CAST(date_trunc('month', month) AS DATE) AS month, org_id, realm_id
    FROM {pnl_monthly}
    UNION ALL
    SELECT CAST(date_trunc('month', month_end) AS DATE), org_id, realm_id
    FROM {balance_sheet_monthly}
    UNION ALL
    SELECT CAST(date_trunc('month', month) AS DATE), org_id, realm_id
    FROM {cash_flow_monthly}
)
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
