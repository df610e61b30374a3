-- Alerts (issue 14): who is told when a goal's status changes or it goes stale, where
-- webhooks go, what each sync's computation found, and every delivery and attempt.
-- Standard SQL for SQLite and Postgres (as 0001). No secret is stored in clear: a webhook
-- endpoint's signing secret is encrypted with QBP_SECRET_KEY like the QuickBooks tokens.

-- Webhook endpoints of an organization, added by its admins. `secret_encrypted` signs each
-- POST (HMAC-SHA256); it is shown once, when the endpoint is added, and never again.
-- Removing an endpoint keeps its row (disabled_at) so the delivery log can still name it.
CREATE TABLE webhook_endpoints (
    id                INTEGER PRIMARY KEY,
    org_id            INTEGER       NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name              VARCHAR(80)   NOT NULL,
    url               VARCHAR(2000) NOT NULL,
    secret_encrypted  TEXT          NOT NULL,
    created_at        VARCHAR(40)   NOT NULL,
    created_by        VARCHAR(320)  NOT NULL,
    disabled_at       VARCHAR(40),
    UNIQUE (org_id, name)
);

-- What a member wants to hear about: one goal (goal_id) or every goal of the organization
-- ('*', which no goal id can be), by email (to the member's address) or by webhook (to one
-- of the organization's endpoints). A removed member's subscriptions stop with the
-- membership (the digest joins memberships).
CREATE TABLE alert_subscriptions (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id      INTEGER      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    goal_id      VARCHAR(64)  NOT NULL,
    channel      VARCHAR(10)  NOT NULL CHECK (channel IN ('email', 'webhook')),
    endpoint_id  INTEGER      REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    created_at   VARCHAR(40)  NOT NULL,
    CHECK ((channel = 'email' AND endpoint_id IS NULL)
           OR (channel = 'webhook' AND endpoint_id IS NOT NULL))
);
CREATE INDEX alert_subscriptions_by_org ON alert_subscriptions (org_id, user_id);

-- The watched fields of each goal as the last alert step saw them, per company: the change
-- detector compares the published values with these. `state` is a JSON object of the
-- watched fields ({"status": ..., "is_stale": ..., ...}), so a field watched later (the
-- pace status) joins without a migration.
CREATE TABLE alert_goal_states (
    org_id       INTEGER      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    realm_id     VARCHAR(32)  NOT NULL,
    goal_id      VARCHAR(64)  NOT NULL,
    state        TEXT         NOT NULL,
    observed_at  VARCHAR(40)  NOT NULL,
    run_id       VARCHAR(64)  NOT NULL,
    PRIMARY KEY (org_id, realm_id, goal_id)
);

-- One digest per (organization, run) that found changes: `changes` is a JSON list of
-- {goal_id, goal_name, field, before, after, period_start, period_end}, never a secret.
CREATE TABLE alert_digests (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    realm_id    VARCHAR(32)  NOT NULL,
    run_id      VARCHAR(64)  NOT NULL,
    created_at  VARCHAR(40)  NOT NULL,
    changes     TEXT         NOT NULL,
    UNIQUE (org_id, run_id)
);

-- One delivery per digest and recipient (a member's email address, or an endpoint).
-- delivery_key (run, channel, recipient) is UNIQUE: a re-run or a retried step finds the
-- delivery there and never sends it again. status: pending (not tried yet), sending
-- (claimed by one step), sent, failed (attempts exhausted, refused, or interrupted).
CREATE TABLE alert_deliveries (
    id            INTEGER PRIMARY KEY,
    digest_id     INTEGER       NOT NULL REFERENCES alert_digests (id) ON DELETE CASCADE,
    org_id        INTEGER       NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    delivery_key  VARCHAR(200)  NOT NULL UNIQUE,
    channel       VARCHAR(10)   NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipient     VARCHAR(2000) NOT NULL,
    user_id       INTEGER       REFERENCES users (id) ON DELETE SET NULL,
    endpoint_id   INTEGER       REFERENCES webhook_endpoints (id) ON DELETE SET NULL,
    goal_ids      TEXT          NOT NULL,
    status        VARCHAR(10)   NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts      INTEGER       NOT NULL DEFAULT 0,
    created_at    VARCHAR(40)   NOT NULL,
    claimed_at    VARCHAR(40),
    finished_at   VARCHAR(40),
    last_error    VARCHAR(1000)
);
CREATE INDEX alert_deliveries_by_org ON alert_deliveries (org_id, id);

-- Every attempt of every delivery (the delivery log admins read): when, how it ended, the
-- HTTP status or SMTP reply code, and the error in words (never a secret or a body).
CREATE TABLE alert_attempts (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER       NOT NULL REFERENCES alert_deliveries (id) ON DELETE CASCADE,
    attempt      INTEGER       NOT NULL,
    at           VARCHAR(40)   NOT NULL,
    outcome      VARCHAR(10)   NOT NULL CHECK (outcome IN ('ok', 'retry', 'failed')),
    code         INTEGER,
    error        VARCHAR(1000),
    duration_ms  INTEGER       NOT NULL
);
CREATE INDEX alert_attempts_by_delivery ON alert_attempts (delivery_id, attempt);
