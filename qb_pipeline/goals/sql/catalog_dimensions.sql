-- The classes and departments imported amounts are split by.
SELECT dimension, dimension_id, any_value(dimension_name) AS dimension_name
FROM {pnl_monthly_by_dimension}
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
GROUP BY dimension, dimension_id
ORDER BY dimension, dimension_id
