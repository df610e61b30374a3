-- Control DB, first version. Standard SQL kept engine-neutral where it can be (the
-- control DB may move to Postgres): text timestamps in ISO-8601 UTC, CHECK constraints for
-- enumerations, ON DELETE rules spelled out. Surrogate keys are INTEGER PRIMARY KEY
-- (SQLite's rowid); a Postgres migration would declare them GENERATED AS IDENTITY.

CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY,
    slug        VARCHAR(40)  NOT NULL UNIQUE,
    name        VARCHAR(200) NOT NULL,
    created_at  VARCHAR(40)  NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          VARCHAR(320) NOT NULL UNIQUE,
    password_hash  VARCHAR(200) NOT NULL,
    created_at     VARCHAR(40)  NOT NULL
);

CREATE TABLE memberships (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id      INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    role        VARCHAR(10) NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_at  VARCHAR(40) NOT NULL,
    UNIQUE (user_id, org_id)
);

-- One QuickBooks company per organization: org_id is UNIQUE, so a second row for the same
-- organization is refused by the database itself. A disconnected connection keeps its row
-- (realm and company name, who disconnected and when) with the tokens erased.
CREATE TABLE quickbooks_connections (
    id                       INTEGER PRIMARY KEY,
    org_id                   INTEGER NOT NULL UNIQUE REFERENCES organizations (id) ON DELETE CASCADE,
    realm_id                 VARCHAR(32)  NOT NULL,
    company_name             VARCHAR(400),
    status                   VARCHAR(32)  NOT NULL CHECK (status IN
                                 ('connected', 'disconnected', 'reauthorization_required', 'error')),
    status_reason            VARCHAR(1000),
    access_token_encrypted   TEXT,
    refresh_token_encrypted  TEXT,
    access_expires_at        VARCHAR(40),
    refresh_expires_at       VARCHAR(40),
    refresh_hard_expires_at  VARCHAR(40),
    connected_at             VARCHAR(40),
    connected_by             INTEGER REFERENCES users (id) ON DELETE SET NULL,
    disconnected_at          VARCHAR(40),
    disconnected_by          INTEGER REFERENCES users (id) ON DELETE SET NULL,
    last_refreshed_at        VARCHAR(40),
    updated_at               VARCHAR(40)  NOT NULL,
    -- A connected company always has both tokens; a disconnected one has none.
    CHECK (status <> 'connected'
           OR (access_token_encrypted IS NOT NULL AND refresh_token_encrypted IS NOT NULL)),
    CHECK (status <> 'disconnected'
           OR (access_token_encrypted IS NULL AND refresh_token_encrypted IS NULL))
);

-- Pending OAuth authorizations. Only a SHA-256 of the state is kept, so a copy of the DB
-- cannot complete someone's pending connect. Single use (used_at), 10 minutes of life.
CREATE TABLE oauth_states (
    id            INTEGER PRIMARY KEY,
    state_hash    CHAR(64)     NOT NULL UNIQUE,
    org_id        INTEGER      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id       INTEGER      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri  VARCHAR(2000) NOT NULL,
    created_at    VARCHAR(40)  NOT NULL,
    used_at       VARCHAR(40)
);

-- The pipeline's sync log (issue 4 writes it); rows_json maps dataset -> rows loaded.
CREATE TABLE sync_runs (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER     NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    realm_id     VARCHAR(32),
    started_at   VARCHAR(40) NOT NULL,
    finished_at  VARCHAR(40),
    status       VARCHAR(20) NOT NULL CHECK (status IN
                     ('running', 'succeeded', 'failed', 'partial', 'cancelled')),
    message      VARCHAR(2000),
    rows_json    TEXT,
    requests     INTEGER
);
CREATE INDEX sync_runs_by_org ON sync_runs (org_id, started_at);

-- What has been imported for each company of an organization (issue 4 fills it); keyed by
-- realm so that data of a previously connected company is never shown as the current one's.
CREATE TABLE datasets (
    org_id      INTEGER      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    realm_id    VARCHAR(32)  NOT NULL,
    name        VARCHAR(100) NOT NULL,
    row_count   INTEGER,
    updated_at  VARCHAR(40)  NOT NULL,
    PRIMARY KEY (org_id, realm_id, name)
);

CREATE TABLE integration_settings (
    org_id         INTEGER     NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    auto_sync      BOOLEAN     NOT NULL DEFAULT TRUE CHECK (auto_sync IN (TRUE, FALSE)),
    frequency      VARCHAR(10) NOT NULL DEFAULT 'nightly'
                       CHECK (frequency IN ('nightly', 'hourly', 'manual')),
    local_time     CHAR(5)     NOT NULL DEFAULT '02:00',
    timezone       VARCHAR(64) NOT NULL DEFAULT 'UTC',
    history_years  INTEGER     NOT NULL DEFAULT 3 CHECK (history_years BETWEEN 1 AND 20),
    updated_at     VARCHAR(40),
    updated_by     INTEGER REFERENCES users (id) ON DELETE SET NULL
);

-- Every integration action, allowed or not. actor is an email (or 'system' for the token
-- refresher); detail is a JSON object that never holds a secret.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        VARCHAR(40)  NOT NULL,
    org_id    INTEGER REFERENCES organizations (id) ON DELETE SET NULL,
    actor     VARCHAR(320),
    action    VARCHAR(60)  NOT NULL,
    detail    TEXT         NOT NULL,
    outcome   VARCHAR(20)  NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed', 'forbidden'))
);
CREATE INDEX audit_log_by_org ON audit_log (org_id, id);
