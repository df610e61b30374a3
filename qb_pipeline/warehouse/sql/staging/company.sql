-- model: qbo.company
-- description: Each connected company's settings that figures depend on: its name, fiscal
--   year and home currency (CompanyInfo and Preferences, read in full on every sync). One
--   row per (org_id, realm_id).
-- depends_on: qbo_raw.company_info, qbo_raw.preferences, qbo.report_lines
-- column org_id: Organization (tenant) slug.
-- column realm_id: QuickBooks company id (realmId).
-- column company_name: CompanyInfo.CompanyName.
-- column legal_name: CompanyInfo.LegalName.
-- column country: CompanyInfo.Country.
-- column fiscal_year_start_month: First month of the fiscal year, 1 (January) to 12
--   (CompanyInfo.FiscalYearStartMonth, which QuickBooks spells out).
-- column home_currency: Currency code every report amount is in
--   (Preferences.CurrencyPrefs.HomeCurrency).
-- column multi_currency_enabled: Whether the company uses several currencies.
-- column data_through: The last day the imported ProfitAndLoss reports cover: the company's
--   date at the last sync, as QuickBooks dated its reports (goals count their pace from it).
SELECT
    c.org_id,
    c.realm_id,
    c.company_name,
    c.legal_name,
    c.country,
    -- Standard SQL (no strptime, which Postgres lacks): NULL for a name QuickBooks never
    -- sends, as a failed parse was.
    CASE LOWER(c.fiscal_year_start_month)
        WHEN 'january' THEN 1 WHEN 'february' THEN 2 WHEN 'march' THEN 3
        WHEN 'april' THEN 4 WHEN 'may' THEN 5 WHEN 'june' THEN 6
        WHEN 'july' THEN 7 WHEN 'august' THEN 8 WHEN 'september' THEN 9
        WHEN 'october' THEN 10 WHEN 'november' THEN 11 WHEN 'december' THEN 12
    END AS fiscal_year_start_month,
    p.currency_prefs__home_currency__value AS home_currency,
    COALESCE(p.currency_prefs__multi_currency_enabled, FALSE) AS multi_currency_enabled,
    r.data_through
FROM qbo_raw.company_info AS c
LEFT JOIN qbo_raw.preferences AS p
    ON p.org_id = c.org_id AND p.realm_id = c.realm_id
LEFT JOIN (
    SELECT org_id, realm_id, MAX(period_end) AS data_through
    FROM qbo.report_lines
    WHERE report_name = 'ProfitAndLoss'
    GROUP BY org_id, realm_id
) AS r
    ON r.org_id = c.org_id AND r.realm_id = c.realm_id
