-- The goal store: QuickBooks Goals are data of an organization, created and changed at run
-- time by its editors (web app, CLI, JSON API) or applied from reviewed goal files
-- (`qb-pipeline goals apply`). One row per (organization, goal id) holds the current
-- version; every change adds a row to goal_versions (who, when, from where, what changed).
-- Goals are archived, never deleted, so their values and history stay.

CREATE TABLE goals (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    goal_id       VARCHAR(64)  NOT NULL,
    -- The QuickBooks company (realmId) whose accounts, classes and departments the
    -- definition's ids name; NULL for a goal stored before the organization connected.
    realm_id      VARCHAR(32),
    state         VARCHAR(20)  NOT NULL CHECK (state IN ('active', 'archived', 'needs_review')),
    state_reason  VARCHAR(2000),
    version       INTEGER      NOT NULL CHECK (version >= 1),
    -- The definition as JSON, in the shape of goal_models/schema/goal.schema.json.
    definition    TEXT         NOT NULL,
    -- The goal file that manages the goal (`goals apply`), relative to the goals folder's
    -- parent, e.g. 'goal_models/acme/revenue.yaml'; NULL for goals managed in the app.
    managed_by    VARCHAR(1000),
    created_at    VARCHAR(40)  NOT NULL,
    created_by    VARCHAR(320),
    updated_at    VARCHAR(40)  NOT NULL,
    updated_by    VARCHAR(320),
    UNIQUE (org_id, goal_id)
);
CREATE INDEX goals_by_state ON goals (org_id, state);

CREATE TABLE goal_versions (
    goal_row_id  INTEGER      NOT NULL REFERENCES goals (id) ON DELETE CASCADE,
    version      INTEGER      NOT NULL,
    at           VARCHAR(40)  NOT NULL,
    -- An email, or 'system' for changes the pipeline makes (a reconnect to another company).
    actor        VARCHAR(320) NOT NULL,
    source       VARCHAR(10)  NOT NULL CHECK (source IN ('web', 'api', 'cli', 'file', 'system')),
    change       VARCHAR(20)  NOT NULL CHECK (change IN (
                     'created', 'updated', 'archived', 'restored', 'needs_review',
                     'confirmed', 'realm_changed')),
    state        VARCHAR(20)  NOT NULL,
    realm_id     VARCHAR(32),
    definition   TEXT         NOT NULL,
    -- JSON list of {"field": dotted path, "before": value, "after": value}.
    changes      TEXT         NOT NULL,
    note         VARCHAR(2000),
    PRIMARY KEY (goal_row_id, version)
);
