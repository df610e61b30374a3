-- Personal access tokens for the JSON API (scripts; browsers use the session), and the
-- "Sync now" requests of the integration page.
--
-- A token belongs to one user in one organization and acts with that user's current role
-- there. Only its SHA-256 is stored (the token itself is shown once, when it is created);
-- `prefix` is its first characters, enough to tell tokens apart in a list, useless to sign
-- in with. A revoked or expired token is refused; rows are kept for the audit trail.
CREATE TABLE access_tokens (
    id            INTEGER PRIMARY KEY,
    token_hash    CHAR(64)     NOT NULL UNIQUE,
    prefix        VARCHAR(16)  NOT NULL,
    user_id       INTEGER      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id        INTEGER      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name          VARCHAR(200) NOT NULL,
    created_at    VARCHAR(40)  NOT NULL,
    expires_at    VARCHAR(40),
    last_used_at  VARCHAR(40),
    revoked_at    VARCHAR(40),
    revoked_by    VARCHAR(320)
);
CREATE INDEX access_tokens_by_org ON access_tokens (org_id, user_id);

-- "Sync now": who asked when, and the Dagster run it queued (run_id), or why none was
-- queued (problem). The integration page shows a request as queued until the sync log has
-- an entry that started after it.
CREATE TABLE sync_requests (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    realm_id      VARCHAR(32),
    requested_at  VARCHAR(40)  NOT NULL,
    requested_by  VARCHAR(320) NOT NULL,
    run_id        VARCHAR(64),
    problem       VARCHAR(1000)
);
CREATE INDEX sync_requests_by_org ON sync_requests (org_id, id);
