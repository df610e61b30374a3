-- Where goal values live (goals.goal_values) and the BI view over it (marts.goal_values).
-- One row per organization, goal and period; written only by compute.py.
CREATE SCHEMA IF NOT EXISTS goals;

CREATE TABLE IF NOT EXISTS goals.goal_values (
    org_id       VARCHAR     NOT NULL,
    goal_id      VARCHAR     NOT NULL,
    goal_name    VARCHAR     NOT NULL,
    period_start DATE        NOT NULL,
    period_end   DATE        NOT NULL,
    actual       DOUBLE,
    target       DOUBLE,
    status       VARCHAR     NOT NULL,  -- on_track, at_risk, off_track, no_target, no_data
    is_stale     BOOLEAN     NOT NULL,
    stale_reason VARCHAR,
    stale_since  TIMESTAMPTZ,
    computed_at  TIMESTAMPTZ NOT NULL
);

CREATE SCHEMA IF NOT EXISTS marts;

CREATE OR REPLACE VIEW marts.goal_values AS
SELECT
    org_id,
    goal_id,
    goal_name,
    period_start,
    period_end,
    actual,
    target,
    status,
    is_stale,
    stale_reason,
    stale_since,
    computed_at
FROM goals.goal_values;
