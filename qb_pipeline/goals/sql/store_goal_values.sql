-- Store one computation (the rows in _new_goal_values) for an organization and company.
--
-- 1. History: a row for every goal period whose figures differ from what goal_values held
--    (or that is new), stamped with the computation's moment. Unchanged periods add nothing,
--    so the history grows with change, not with the number of runs.
INSERT INTO goals.goal_value_history
SELECT
    n.org_id, n.realm_id, n.goal_id, n.computed_at, n.goal_name, n.period_start,
    n.period_end, n.actual, n.target, n.status, n.currency, n.is_stale, n.stale_reason
FROM _new_goal_values AS n
LEFT JOIN goals.goal_values AS o
  ON o.org_id = n.org_id AND o.realm_id IS NOT DISTINCT FROM n.realm_id
 AND o.goal_id = n.goal_id AND o.period_start = n.period_start
WHERE o.goal_id IS NULL
   OR o.actual IS DISTINCT FROM n.actual
   OR o.target IS DISTINCT FROM n.target
   OR o.status IS DISTINCT FROM n.status
   OR o.is_stale IS DISTINCT FROM n.is_stale
   OR o.period_end IS DISTINCT FROM n.period_end
   OR o.goal_name IS DISTINCT FROM n.goal_name;

-- 2. Replace the company's values, except those of the goals that keep their last values
--    (archived goals, goals waiting for a review): a goal no longer computed leaves.
DELETE FROM goals.goal_values
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
  AND goal_id NOT IN (SELECT unnest($kept_goal_ids::VARCHAR[]));

INSERT INTO goals.goal_values BY NAME
SELECT * FROM _new_goal_values;
