-- The per-realm request budget when the control DB is on Postgres (quickbooks/
-- limiter_postgres.py): one row per recent request start, in seconds since the epoch by the
-- database's clock, so processes on machines whose clocks differ share one timeline. Rows
-- older than the longest window are deleted as permits are taken. A SQLite control DB keeps
-- this table empty: one machine's budget lives in QBP_HOME/limits instead.
CREATE TABLE request_starts (
    realm_id  VARCHAR(64)       NOT NULL,
    at        DOUBLE PRECISION  NOT NULL
);
CREATE INDEX request_starts_by_realm ON request_starts (realm_id, at);
