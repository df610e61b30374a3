-- model: marts.company
-- description: Each connected company's name, fiscal year and home currency, for BI tools
--   and the goals (which follow its fiscal year). One row per (org_id, realm_id).
-- depends_on: qbo.company
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column company_name: QuickBooks company name.
-- column country: Country of the company.
-- column fiscal_year_start_month: First month of the fiscal year, 1 (January) to 12.
-- column home_currency: Currency code every report amount is in.
-- column multi_currency_enabled: Whether the company uses several currencies.
-- column data_through: The last day the imported reports cover (the company's date at the
--   last sync); goals count the pace of the period in progress from it.
SELECT
    org_id,
    realm_id,
    company_name,
    country,
    fiscal_year_start_month,
    home_currency,
    multi_currency_enabled,
    data_through
FROM qbo.company
