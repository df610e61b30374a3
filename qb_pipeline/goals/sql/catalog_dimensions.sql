-- The classes and departments imported amounts are split by, each with its latest name.
-- Amounts without a class (department) have no id and cannot be a filter.
SELECT dimension, dimension_id, arg_max(dimension_name, month) AS dimension_name
FROM {pnl_monthly_by_dimension}
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
  AND dimension_id IS NOT NULL
GROUP BY dimension, dimension_id
ORDER BY dimension, dimension_id
