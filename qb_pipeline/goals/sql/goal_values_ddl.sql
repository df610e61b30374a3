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
    actual       DOUBLE PRECISION,
    target       DOUBLE PRECISION,
    status       VARCHAR     NOT NULL,  -- on_track, at_risk, off_track, no_target, no_data
    currency     VARCHAR,
    is_stale     BOOLEAN     NOT NULL,
    stale_reason VARCHAR,
    stale_since  TIMESTAMPTZ,
    computed_at  TIMESTAMPTZ NOT NULL,
    target_source VARCHAR,          -- fixed, per_period, growth, band, budget:<name>; NULL: no target
    projected    DOUBLE PRECISION,  -- pace: the period in progress only
    projection_method VARCHAR,      -- linear, seasonal or balance
    pace_status  VARCHAR,
    pace_as_of   DATE
);
-- Warehouses made before goals carried their company, currency, target source and pace.
ALTER TABLE goals.goal_values ADD COLUMN IF NOT EXISTS realm_id VARCHAR;
ALTER TABLE goals.goal_values ADD COLUMN IF NOT EXISTS currency VARCHAR;
ALTER TABLE goals.goal_values ADD COLUMN IF NOT EXISTS target_source VARCHAR;
ALTER TABLE goals.goal_values ADD COLUMN IF NOT EXISTS projected DOUBLE PRECISION;
ALTER TABLE goals.goal_values ADD COLUMN IF NOT EXISTS projection_method VARCHAR;
ALTER TABLE goals.goal_values ADD COLUMN IF NOT EXISTS pace_status VARCHAR;
ALTER TABLE goals.goal_values ADD COLUMN IF NOT EXISTS pace_as_of DATE;

CREATE TABLE IF NOT EXISTS goals.goal_value_history (
    org_id       VARCHAR     NOT NULL,
    realm_id     VARCHAR,
    goal_id      VARCHAR     NOT NULL,
    as_of        TIMESTAMPTZ NOT NULL,
    goal_name    VARCHAR     NOT NULL,
    period_start DATE        NOT NULL,
    period_end   DATE        NOT NULL,
    actual       DOUBLE PRECISION,
    target       DOUBLE PRECISION,
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
    computed_at,
    -- Added columns go last, so that Postgres can replace a view made before them (it adds
    -- view columns only at the end).
    target_source,
    projected,
    projection_method,
    pace_status,
    pace_as_of
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

-- What BI tools (and docs/warehouse.md, generated from these comments) say of each column.
COMMENT ON VIEW marts.goal_values IS 'Every QuickBooks Goal value of each organization''s connected company, one row per goal and period, replaced by each goal computation (archived goals and goals waiting for a review keep their last values). One row per (org_id, realm_id, goal_id, period_start).';
COMMENT ON COLUMN marts.goal_values.org_id IS 'Organization (tenant) slug.';
COMMENT ON COLUMN marts.goal_values.realm_id IS 'QuickBooks company (realmId) the values were computed from.';
COMMENT ON COLUMN marts.goal_values.goal_id IS 'The goal''s id, unique within the organization.';
COMMENT ON COLUMN marts.goal_values.goal_name IS 'The goal''s name.';
COMMENT ON COLUMN marts.goal_values.period_start IS 'First day of the period (fiscal for quarters and years).';
COMMENT ON COLUMN marts.goal_values.period_end IS 'Last day of the period.';
COMMENT ON COLUMN marts.goal_values.actual IS 'The goal''s value over the period''s window; NULL when there is no data.';
COMMENT ON COLUMN marts.goal_values.target IS 'The period''s target (a maintain band''s middle); NULL when the goal has none.';
COMMENT ON COLUMN marts.goal_values.status IS 'on_track, at_risk, off_track, no_target or no_data.';
COMMENT ON COLUMN marts.goal_values.currency IS 'Home currency of the company for amounts; NULL for ratios (a formula dividing by an item).';
COMMENT ON COLUMN marts.goal_values.is_stale IS 'True when the organization cannot refresh its data (disconnected, reauthorization required): the values are kept as they were.';
COMMENT ON COLUMN marts.goal_values.stale_reason IS 'Why the values are stale: disconnected or reauthorization_required.';
COMMENT ON COLUMN marts.goal_values.stale_since IS 'When the values went stale (the first time), UTC.';
COMMENT ON COLUMN marts.goal_values.computed_at IS 'When the values were computed, UTC.';
COMMENT ON COLUMN marts.goal_values.target_source IS 'Where the goal''s targets come from, the same in every period of the goal: fixed (one value), per_period, growth, band (a maintain band), or budget:<name> (a QuickBooks budget, by its imported name); NULL when the goal has no target.';
COMMENT ON COLUMN marts.goal_values.projected IS 'For the period in progress on pace_as_of: the projected value at the period''s end (projection_method says how); NULL for other periods.';
COMMENT ON COLUMN marts.goal_values.projection_method IS 'seasonal (what the rest of the period did a year earlier is added), linear (the rate per elapsed day continues) or balance (a balance is not projected: it stands as it is); NULL outside the period in progress.';
COMMENT ON COLUMN marts.goal_values.pace_status IS 'For the period in progress: the status of the projection against the whole target, which is the status of the actual so far against the target pro-rated to the elapsed part (on_track, at_risk, off_track, no_target or no_data); NULL for other periods.';
COMMENT ON COLUMN marts.goal_values.pace_as_of IS 'The last day the imported data covers, from which the pace counts (the day of the last sync, as QuickBooks dated its reports); NULL outside the period in progress.';

COMMENT ON VIEW marts.goal_value_history IS 'What each goal period''s figures were as of each computation that changed them, appended and never rewritten: the latest row of a period at or before a moment is its value then. One row per (org_id, realm_id, goal_id, period_start, as_of).';
COMMENT ON COLUMN marts.goal_value_history.org_id IS 'Organization (tenant) slug.';
COMMENT ON COLUMN marts.goal_value_history.realm_id IS 'QuickBooks company (realmId) the values were computed from.';
COMMENT ON COLUMN marts.goal_value_history.goal_id IS 'The goal''s id.';
COMMENT ON COLUMN marts.goal_value_history.as_of IS 'When the computation that saw these figures ran (or when the values went stale), UTC.';
COMMENT ON COLUMN marts.goal_value_history.goal_name IS 'The goal''s name then.';
COMMENT ON COLUMN marts.goal_value_history.period_start IS 'First day of the period.';
COMMENT ON COLUMN marts.goal_value_history.period_end IS 'Last day of the period.';
COMMENT ON COLUMN marts.goal_value_history.actual IS 'The period''s actual as of then.';
COMMENT ON COLUMN marts.goal_value_history.target IS 'The period''s target as of then.';
COMMENT ON COLUMN marts.goal_value_history.status IS 'The period''s status as of then.';
COMMENT ON COLUMN marts.goal_value_history.currency IS 'Home currency for amounts; NULL for ratios.';
COMMENT ON COLUMN marts.goal_value_history.is_stale IS 'Whether the values were stale then.';
COMMENT ON COLUMN marts.goal_value_history.stale_reason IS 'Why they were stale, if so.';

COMMENT ON VIEW marts.goals IS 'Every goal of each organization as the goal store held it at the last goal computation: what it tracks, its state and version. One row per (org_id, goal_id).';
COMMENT ON COLUMN marts.goals.org_id IS 'Organization (tenant) slug.';
COMMENT ON COLUMN marts.goals.realm_id IS 'QuickBooks company (realmId) whose ids the goal''s definition names.';
COMMENT ON COLUMN marts.goals.goal_id IS 'The goal''s id, unique within the organization.';
COMMENT ON COLUMN marts.goals.goal_name IS 'The goal''s name.';
COMMENT ON COLUMN marts.goals.state IS 'active, archived, or needs_review (after a reconnect to another company).';
COMMENT ON COLUMN marts.goals.state_reason IS 'Why the goal needs a review, if it does.';
COMMENT ON COLUMN marts.goals.version IS 'The definition''s version (1 when created, one more at each change).';
COMMENT ON COLUMN marts.goals.dataset IS 'profit_and_loss, balance_sheet or cash_flow.';
COMMENT ON COLUMN marts.goals.tracks IS 'What the goal tracks: account, line or formula.';
COMMENT ON COLUMN marts.goals.basis IS 'accrual or cash.';
COMMENT ON COLUMN marts.goals.grain IS 'month, quarter or year (fiscal).';
COMMENT ON COLUMN marts.goals."window" IS 'period, fiscal_ytd or trailing_12_months.';
COMMENT ON COLUMN marts.goals.direction IS 'increase, decrease or maintain.';
COMMENT ON COLUMN marts.goals.managed_by IS 'The goal file that manages it (goals apply); NULL for goals managed in the app.';
COMMENT ON COLUMN marts.goals.updated_at IS 'When the goal was last changed, UTC.';
COMMENT ON COLUMN marts.goals.updated_by IS 'Who changed it last (an email, or system).';
COMMENT ON COLUMN marts.goals.definition IS 'The whole definition, as JSON in the shape of a goal file.';
