-- The organization's data can no longer be refreshed: keep the last known values and say
-- why and since when (the first time it went stale, not the latest check).
UPDATE goals.goal_values
SET is_stale     = true,
    stale_reason = $stale_reason,
    stale_since  = coalesce(stale_since, $since)
WHERE org_id = $org_id
