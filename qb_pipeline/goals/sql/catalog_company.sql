-- The company's fiscal year start month, when the warehouse provides it.
SELECT fiscal_year_start_month
FROM {company}
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
  AND fiscal_year_start_month IS NOT NULL
LIMIT 1
