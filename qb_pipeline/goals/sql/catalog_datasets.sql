-- Which datasets, bases and report groups hold imported rows for the organization.
SELECT DISTINCT dataset, basis, report_group
FROM (
    SELECT 'profit_and_loss' AS dataset, basis, report_group, org_id, realm_id
    FROM {pnl_monthly}
    UNION ALL
    SELECT 'balance_sheet', basis, report_group, org_id, realm_id
    FROM {balance_sheet_monthly}
    UNION ALL
    SELECT 'cash_flow', basis, report_group, org_id, realm_id
    FROM {cash_flow_monthly}
)
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
ORDER BY ALL
