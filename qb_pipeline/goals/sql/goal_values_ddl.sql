-- Where goal values live (schema goals) and the BI views over them (schema marts); written
-- only by compute.py. One row per organization, company, goal and period in goal_values;
-- goal_value_history appends a row whenever a period's figures change; goal_definitions
-- mirrors the goal store (the control DB) as of the last computation.
CREATE SCHEMA IF NOT EXISTS goals;

CREATE TABLE IF NOT EXISTS goals.goal_values (
    org_id       VARCHAR     NOT NULL,
    realm_id     VARCHAR,
    goal_id      VARCHAR     NOT NULL,
    goal_name    VARCHAR     NOT NULL,
    period_start DATE        NOT NULL,
    period_end   DATE        NOT NULL,
    actual       DOUBLE,
    target       DOUBLE,
    status       VARCHAR     NOT NULL,  -- on_track, at_risk, off_track, no_target, no_data
    currency     VARCHAR,
    is_stale     BOOLEAN     NOT NULL,
    stale_reason VARCHAR,
    stale_since  TIMESTAMPTZ,
    computed_at  TIMESTAMPTZ NOT NULL
);
-- Warehouses made before goals carried their company and currency.
ALTER TABLE goals.goal_values ADD COLUMN IF NOT EXISTS realm_id VARCHAR;
ALTER TABLE goals.goal_values ADD COLUMN IF NOT EXISTS currency VARCHAR;

CREATE TABLE IF NOT EXISTS goals.goal_value_history (
    org_id       VARCHAR     NOT NULL,
    realm_id     VARCHAR,
    goal_id      VARCHAR     NOT NULL,
    as_of        TIMESTAMPTZ NOT NULL,
    goal_name    VARCHAR     NOT NULL,
    period_start DATE        NOT NULL,
    period_end   DATE        NOT NULL,
    actual       DOUBLE,
    target       DOUBLE,
    status       VARCHAR     NOT NULL,
    currency     VARCHAR,
    is_stale     BOOLEAN     NOT NULL,
    stale_reason VARCHAR
);

CREATE TABLE IF NOT EXISTS goals.goal_definitions (
    org_id       VARCHAR     NOT NULL,
    realm_id     VARCHAR,
    goal_id      VARCHAR     NOT NULL,
    goal_name    VARCHAR     NOT NULL,
    state        VARCHAR     NOT NULL,
    state_reason VARCHAR,
    version      INTEGER     NOT NULL,
    dataset      VARCHAR     NOT NULL,
    tracks       VARCHAR     NOT NULL,
    basis        VARCHAR     NOT NULL,
    grain        VARCHAR     NOT NULL,
    "window"     VARCHAR     NOT NULL,
    direction    VARCHAR     NOT NULL,
    managed_by   VARCHAR,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   VARCHAR,
    definition   JSON        NOT NULL
);

CREATE SCHEMA IF NOT EXISTS marts;

CREATE OR REPLACE VIEW marts.goal_values AS
SELECT
    org_id,
    realm_id,
    goal_id,
    goal_name,
    period_start,
    period_end,
    actual,
    target,
    status,
    currency,
    is_stale,
    stale_reason,
    stale_since,
    computed_at
FROM goals.goal_values;

CREATE OR REPLACE VIEW marts.goal_value_history AS
SELECT
    org_id,
    realm_id,
    goal_id,
    as_of,
    goal_name,
    period_start,
    period_end,
    actual,
    target,
    status,
    currency,
    is_stale,
    stale_reason
FROM goals.goal_value_history;

CREATE OR REPLACE VIEW marts.goals AS
SELECT
    org_id,
    realm_id,
    goal_id,
    goal_name,
    state,
    state_reason,
    version,
    dataset,
    tracks,
    basis,
    grain,
    "window",
    direction,
    managed_by,
    updated_at,
    updated_by,
    definition
FROM goals.goal_definitions;
