-- model: marts.connection_status
-- description: The QuickBooks connection of each organization and its last sync, for BI
--   tools. Organizations that never connected are left out. One row per org_id.
-- depends_on: qbo.connection_status
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId) of the connection.
-- column company_name: QuickBooks company name.
-- column status: connected, disconnected, reauthorization_required or error.
-- column connected_at: When the company was (last) connected, UTC.
-- column last_sync_at: When the last sync finished (or started, if it did not finish), UTC.
-- column last_sync_status: Outcome of the last sync, NULL before the first sync.
-- column datasets_available: Datasets imported for the company, names joined by ', '.
SELECT
    org_id,
    realm_id,
    company_name,
    status,
    connected_at,
    last_sync_at,
    last_sync_status,
    datasets_available
FROM qbo.connection_status
