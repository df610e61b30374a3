-- A fresh computation replaces every value of the organization (goals removed from
-- goal_models/ disappear with it).
DELETE FROM goals.goal_values
WHERE org_id = $org_id
