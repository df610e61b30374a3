-- model: qbo.connection_status
-- materialized: table
-- description: The QuickBooks connection of each organization, copied from the control DB
--   by the pipeline (write_connection_status); organizations that never connected are left
--   out. One row per org_id.
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId) of the connection.
-- column company_name: QuickBooks company name (CompanyInfo.CompanyName).
-- column status: connected, disconnected, reauthorization_required or error.
-- column connected_at: When the company was (last) connected, UTC.
-- column last_sync_at: When the last sync finished (or started, if it did not finish), UTC.
-- column last_sync_status: Outcome of the last sync (as the sync log records it), NULL
--   before the first sync.
-- column datasets_available: Datasets imported for the company, names joined by ', '.
CREATE TABLE IF NOT EXISTS qbo.connection_status (
    org_id VARCHAR NOT NULL PRIMARY KEY,
    realm_id VARCHAR,
    company_name VARCHAR,
    status VARCHAR NOT NULL,
    connected_at TIMESTAMP WITH TIME ZONE,
    last_sync_at TIMESTAMP WITH TIME ZONE,
    last_sync_status VARCHAR,
    datasets_available VARCHAR
)
