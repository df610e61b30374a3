-- The event log: one row per change that something downstream reacts to (a connection
-- made, lost or ended; a goal created, changed, archived or restored). Each row is written
-- in the same transaction as the change it records, so a change and its event are never
-- seen apart. Sensors keep the id of the last event they handled as their cursor: ids only
-- grow (AUTOINCREMENT never reuses one) and SQLite commits writers one at a time, so the
-- ids are in commit order and a cursor never skips an event, whatever the clocks say.
-- `detail` is a JSON object that never holds a secret.
CREATE TABLE events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        VARCHAR(40)  NOT NULL,
    org_id    INTEGER      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    realm_id  VARCHAR(32),
    kind      VARCHAR(40)  NOT NULL CHECK (kind IN (
                  'connected', 'reauthorized', 'disconnected', 'reauthorization_required',
                  'goal_changed')),
    detail    TEXT         NOT NULL
);
CREATE INDEX events_by_org ON events (org_id, id);
