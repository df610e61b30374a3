-- The budgets the company's import holds (for budget targets), newest fiscal year first.
SELECT budget_id, any_value(budget_name) AS budget_name, min(start_date) AS start_date
FROM {budgets}
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
GROUP BY budget_id
ORDER BY start_date DESC, budget_id
