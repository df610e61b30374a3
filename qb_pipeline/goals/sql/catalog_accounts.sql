-- The organization's chart of accounts (inactive and deleted accounts included).
SELECT
    account_id,
    name,
    fully_qualified_name,
    account_type,
    classification,
    parent_account_id,
    active
FROM {accounts}
WHERE org_id = $org_id
  AND ($realm_id IS NULL OR realm_id = $realm_id)
ORDER BY account_id
