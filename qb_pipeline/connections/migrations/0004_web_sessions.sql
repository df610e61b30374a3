-- Server-side web sessions and the sign-in throttle (standard SQL, as 0001).

-- One row per signed-in browser. The cookie carries only a random session id; this table
-- keeps its SHA-256, so a copy of the DB cannot be turned into a working cookie. A session
-- ends when it is idle past expires_at or when revoked_at is set (sign-out, password change,
-- membership removed or role changed), which the web app sees on the very next request.
CREATE TABLE web_sessions (
    id              INTEGER PRIMARY KEY,
    token_hash      CHAR(64)    NOT NULL UNIQUE,
    user_id         INTEGER     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      VARCHAR(40) NOT NULL,
    last_seen_at    VARCHAR(40) NOT NULL,
    expires_at      VARCHAR(40) NOT NULL,
    revoked_at      VARCHAR(40),
    revoked_reason  VARCHAR(40) CHECK (revoked_reason IN
                        ('signed_out', 'password_changed', 'membership_removed', 'role_changed')),
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX web_sessions_by_user ON web_sessions (user_id, revoked_at);

-- Sign-in attempts that have not (yet) succeeded, kept for the throttle's sliding window and
-- then purged. `account` is the normalized email as typed (NULL when it is not an email
-- address, so a password typed into the email field is never stored); it need not belong to
-- a user, so the throttle answers the same whether the account exists or not. `client` is the
-- client's address as the web app saw it (NULL when the caller gave none). A row is written before the password is checked and
-- removed when it matches, so parallel guesses are counted too.
CREATE TABLE sign_in_failures (
    id       INTEGER PRIMARY KEY,
    at       VARCHAR(40)  NOT NULL,
    account  VARCHAR(320),
    client   VARCHAR(100)
);
CREATE INDEX sign_in_failures_by_account ON sign_in_failures (account, at);
CREATE INDEX sign_in_failures_by_client ON sign_in_failures (client, at);
