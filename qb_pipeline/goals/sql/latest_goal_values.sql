-- Each goal's latest period with an actual (or its latest period when none has one).
-- arg_max over a numeric key is much cheaper than ranking every row with a window.
SELECT
    goal_id,
    unnest(
        arg_max(
            struct_pack(
                period_start, period_end, actual, target, status, currency, is_stale, stale_reason,
                target_source, projected, pace_status
            ),
            (actual IS NOT NULL)::BIGINT * 10000000
                + date_diff('day', DATE '1970-01-01', period_start)
        )
    )
FROM {goal_values}
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
GROUP BY goal_id
ORDER BY goal_id
