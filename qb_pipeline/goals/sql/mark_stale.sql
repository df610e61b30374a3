-- The organization's data can no longer be refreshed: keep the last known values and say
-- why and since when (the first time it went stale, not the latest check). The history
-- records the moment each value went stale.
INSERT INTO goals.goal_value_history
SELECT
    org_id, realm_id, goal_id, $since, goal_name, period_start, period_end, actual, target,
    status, currency, true, $stale_reason
FROM goals.goal_values
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
  AND (NOT is_stale OR stale_reason IS DISTINCT FROM $stale_reason);

UPDATE goals.goal_values
SET is_stale     = true,
    stale_reason = $stale_reason,
    stale_since  = coalesce(stale_since, $since)
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id);
