-- Every goal of one organization, for every period, in one statement: the rows of
-- goals.goal_values (compute.py stores them, the web's preview only reads them).
--
-- Inputs registered by compute.py (see plan.py): _goal_defs (one row per goal),
-- _goal_series (each distinct monthly series the goals read), _goal_items (goal x item
-- with its ratio coefficients), _goal_targets (per-period targets), _goal_line_parts
-- (report lines as signed sums of leaf groups), _goal_calendar (fiscal periods and their
-- windows, from periods.py). The placeholders in braces are the contract's marts, or empty
-- relations with their columns when a mart does not exist yet.
WITH RECURSIVE

accounts AS (
    SELECT account_id, parent_account_id
    FROM {accounts}
    WHERE org_id = $org_id AND ($realm_id IS NULL OR realm_id = $realm_id)
),

-- Every account paired with itself and each of its ancestors: an account "with
-- sub-accounts" covers every account that has it as ancestor-or-self, at any depth.
-- UNION (not UNION ALL) ends the recursion even if bad data holds a parent cycle.
lineage (account_id, ancestor_id) AS (
    SELECT account_id, account_id FROM accounts
    UNION
    SELECT l.account_id, a.parent_account_id
    FROM lineage AS l
    JOIN accounts AS a ON a.account_id = l.ancestor_id
    WHERE a.parent_account_id IS NOT NULL
),

-- The company's home currency: every amount of the marts is in it.
home_currency AS (
    SELECT any_value(currency) AS currency
    FROM (
        SELECT currency FROM {pnl_monthly}
        WHERE org_id = $org_id AND ($realm_id IS NULL OR realm_id = $realm_id)
        UNION ALL
        SELECT currency FROM {balance_sheet_monthly}
        WHERE org_id = $org_id AND ($realm_id IS NULL OR realm_id = $realm_id)
    )
),

pnl AS (
    SELECT basis, CAST(date_trunc('month', month) AS DATE) AS month,
           account_id, report_group, amount
    FROM {pnl_monthly}
    WHERE org_id = $org_id AND ($realm_id IS NULL OR realm_id = $realm_id)
),

-- marts.pnl_monthly_by_dimension carries no report group: each account keeps the group
-- the P&L gives it (its latest, should the account have changed type).
pnl_group_of AS (
    SELECT account_id, arg_max(report_group, month) AS report_group
    FROM pnl
    WHERE account_id IS NOT NULL
    GROUP BY account_id
),

-- One shape for every monthly figure: flows by month, balances by the month they end.
-- Unfiltered rows have dimension = '' so that series join on plain equality.
facts AS (
    SELECT 'profit_and_loss' AS dataset, basis, month, account_id, report_group,
           '' AS dimension, '' AS dimension_id, amount
    FROM pnl
    UNION ALL
    SELECT 'profit_and_loss', d.basis, CAST(date_trunc('month', d.month) AS DATE),
           d.account_id, g.report_group, d.dimension, d.dimension_id, d.amount
    FROM {pnl_monthly_by_dimension} AS d
    LEFT JOIN pnl_group_of AS g ON g.account_id = d.account_id
    WHERE d.org_id = $org_id AND ($realm_id IS NULL OR d.realm_id = $realm_id)
    UNION ALL
    SELECT 'balance_sheet', basis, CAST(date_trunc('month', month_end) AS DATE),
           account_id, report_group, '', '', balance
    FROM {balance_sheet_monthly}
    WHERE org_id = $org_id AND ($realm_id IS NULL OR realm_id = $realm_id)
    UNION ALL
    SELECT 'cash_flow', basis, CAST(date_trunc('month', month) AS DATE),
           account_id, report_group, '', '', amount
    FROM {cash_flow_monthly}
    WHERE org_id = $org_id AND ($realm_id IS NULL OR realm_id = $realm_id)
),

-- The months each dataset and basis holds imported data for. Inside them a series with
-- no row is 0 (nothing was posted); outside them it has no data.
coverage AS (
    SELECT DISTINCT dataset, basis, month
    FROM facts
    WHERE dimension = ''
),

series_accounts AS (
    SELECT series_id, account_id
    FROM _goal_series
    WHERE kind = 'account'
    UNION
    SELECT s.series_id, l.account_id
    FROM _goal_series AS s
    JOIN lineage AS l ON l.ancestor_id = s.account_id
    WHERE s.kind = 'account' AND s.include_subaccounts
),

series_facts AS (
    SELECT s.series_id, f.month, f.amount
    FROM _goal_series AS s
    JOIN series_accounts AS sa ON sa.series_id = s.series_id
    JOIN facts AS f
      ON f.dataset = s.dataset AND f.basis = s.basis AND f.account_id = sa.account_id
     AND f.dimension = s.dimension AND f.dimension_id = s.dimension_id
    UNION ALL
    SELECT s.series_id, f.month, f.amount * p.sign
    FROM _goal_series AS s
    JOIN _goal_line_parts AS p ON p.dataset = s.dataset AND p.line_group = s.line_group
    JOIN facts AS f
      ON f.dataset = s.dataset AND f.basis = s.basis AND f.report_group = p.report_group
     AND f.dimension = s.dimension AND f.dimension_id = s.dimension_id
    WHERE s.kind = 'line'
),

series_months AS (
    SELECT s.series_id, c.month, coalesce(sum(sf.amount), 0) AS value
    FROM _goal_series AS s
    JOIN coverage AS c ON c.dataset = s.dataset AND c.basis = s.basis
    LEFT JOIN series_facts AS sf ON sf.series_id = s.series_id AND sf.month = c.month
    GROUP BY s.series_id, c.month
),

series_windows AS (
    SELECT DISTINCT i.series_id, d.grain, d."window"
    FROM _goal_items AS i
    JOIN _goal_defs AS d ON d.goal_key = i.goal_key
),

-- Each series over each period's window: flows summed over the window, balances read at
-- the last month holding data inside the period. A period without data of its own has
-- no data, whatever its window holds.
series_periods AS (
    SELECT
        w.series_id, c.grain, c."window", c.period_start,
        CASE
            WHEN any_value(s.aggregation) = 'period_end'
                THEN arg_max(m.value, m.month) FILTER (WHERE m.month >= c.period_start)
            ELSE sum(m.value)
        END AS value,
        count(*) FILTER (WHERE m.month >= c.period_start) > 0 AS has_data
    FROM series_windows AS w
    JOIN _goal_series AS s ON s.series_id = w.series_id
    JOIN _goal_calendar AS c ON c.grain = w.grain AND c."window" = w."window"
    JOIN series_months AS m
      ON m.series_id = w.series_id AND m.month BETWEEN c.window_start AND c.period_end
    GROUP BY w.series_id, c.grain, c."window", c.period_start
),

-- The periods each goal reports: those overlapping the imported data, and any later one
-- that has a per-period target (shown as no_data until its data arrives).
goal_periods AS (
    SELECT d.goal_key, d.grain, d."window", c.period_start, c.period_end, c.months,
           c.previous_start, c.year_ago_start, t.target AS period_target
    FROM _goal_defs AS d
    JOIN _goal_calendar AS c ON c.grain = d.grain AND c."window" = d."window"
    LEFT JOIN _goal_targets AS t
      ON t.goal_key = d.goal_key AND t.period_start = c.period_start
    WHERE c.in_span OR t.goal_key IS NOT NULL
),

-- Ratios are recomputed from their parts: numerator and denominator are sums of the
-- items' period values, never averages of monthly ratios.
goal_parts AS (
    SELECT
        p.goal_key, p.period_start,
        count(sp.series_id) = count(*) AS has_data,
        sum(i.num_coef * sp.value) AS numerator,
        sum(i.den_coef * sp.value) AS denominator
    FROM goal_periods AS p
    JOIN _goal_items AS i ON i.goal_key = p.goal_key
    LEFT JOIN series_periods AS sp
      ON sp.series_id = i.series_id AND sp.grain = p.grain AND sp."window" = p."window"
     AND sp.period_start = p.period_start AND sp.has_data
    GROUP BY p.goal_key, p.period_start
),

-- No data, or a zero denominator, gives no actual (status no_data).
goal_actuals AS (
    SELECT
        p.*,
        CASE
            WHEN g.has_data AND g.denominator + d.den_const <> 0
                THEN (g.numerator + d.num_const) / (g.denominator + d.den_const)
        END AS actual
    FROM goal_periods AS p
    JOIN goal_parts AS g ON g.goal_key = p.goal_key AND g.period_start = p.period_start
    JOIN _goal_defs AS d ON d.goal_key = p.goal_key
),

-- The actuals growth targets start from, for the goals that have such targets only.
growth_bases AS (
    SELECT goal_key, period_start, actual
    FROM goal_actuals
    WHERE goal_key IN (
        SELECT goal_key FROM _goal_defs
        WHERE growth_base IN ('previous_period', 'same_period_last_year')
    )
),

-- Budget targets: the named budget's lines (by id, else by name) of the accounts the goal
-- tracks (a line's accounts by the group the P&L gives them, with the line's signs), of
-- the goal's class or department when it has a filter, summed over each period's window
-- like the actuals. A window reaching outside the budget's fiscal year(s), or without a
-- line of those accounts, has no target.
budget_goal_accounts AS (
    SELECT d.goal_key, sa.account_id, 1 AS sign, s.dimension, s.dimension_id
    FROM _goal_defs AS d
    JOIN _goal_items AS i ON i.goal_key = d.goal_key
    JOIN _goal_series AS s ON s.series_id = i.series_id
    JOIN series_accounts AS sa ON sa.series_id = s.series_id
    WHERE d.target_kind = 'budget' AND s.kind = 'account'
    UNION ALL
    SELECT d.goal_key, g.account_id, p.sign, s.dimension, s.dimension_id
    FROM _goal_defs AS d
    JOIN _goal_items AS i ON i.goal_key = d.goal_key
    JOIN _goal_series AS s ON s.series_id = i.series_id
    JOIN _goal_line_parts AS p ON p.dataset = s.dataset AND p.line_group = s.line_group
    JOIN pnl_group_of AS g ON g.report_group = p.report_group
    WHERE d.target_kind = 'budget' AND s.kind = 'line'
),

budget_chosen AS (
    SELECT d.goal_key, b.budget_name, b.start_date, b.end_date, b.month, b.account_id,
           b.class_id, b.department_id, b.amount
    FROM _goal_defs AS d
    JOIN {budgets} AS b
      ON b.org_id = $org_id AND ($realm_id IS NULL OR b.realm_id = $realm_id)
     AND ((d.budget_id IS NOT NULL AND b.budget_id = d.budget_id)
          OR (d.budget_id IS NULL AND b.budget_name = d.budget_name))
    WHERE d.target_kind = 'budget'
),

budget_span AS (
    SELECT goal_key, min(start_date) AS first_day, max(end_date) AS last_day,
           any_value(budget_name) AS budget_name
    FROM budget_chosen
    GROUP BY goal_key
),

budget_months AS (
    SELECT b.goal_key, b.month, sum(b.amount * a.sign) AS amount
    FROM budget_chosen AS b
    JOIN budget_goal_accounts AS a
      ON a.goal_key = b.goal_key AND a.account_id = b.account_id
     AND (a.dimension = ''
          OR (a.dimension = 'class' AND b.class_id = a.dimension_id)
          OR (a.dimension = 'department' AND b.department_id = a.dimension_id))
    GROUP BY b.goal_key, b.month
),

budget_targets AS (
    SELECT p.goal_key, p.period_start, CAST(sum(m.amount) AS DOUBLE) AS target
    FROM goal_periods AS p
    JOIN _goal_calendar AS c
      ON c.grain = p.grain AND c."window" = p."window" AND c.period_start = p.period_start
    JOIN budget_span AS s
      ON s.goal_key = p.goal_key AND c.window_start >= s.first_day AND c.period_end <= s.last_day
    JOIN budget_months AS m
      ON m.goal_key = p.goal_key AND m.month BETWEEN c.window_start AND c.period_end
    GROUP BY p.goal_key, p.period_start
),

-- Growth adds rate_pct of |base| per period, so a negative base also moves up.
computed_targets AS (
    SELECT
        a.goal_key, a.period_start, a.period_end, a.actual,
        CASE d.target_kind
            WHEN 'value' THEN d.target_value
            WHEN 'per_period' THEN a.period_target
            WHEN 'budget' THEN bt.target
            WHEN 'growth' THEN
                CASE d.growth_base
                    WHEN 'previous_period'
                        THEN prev.actual + abs(prev.actual) * d.growth_rate_pct / 100
                    WHEN 'same_period_last_year'
                        THEN ago.actual + abs(ago.actual) * d.growth_rate_pct / 100
                    WHEN 'value' THEN
                        CASE WHEN a.period_start >= d.growth_base_period THEN
                            d.growth_base_value + abs(d.growth_base_value) * (
                                power(
                                    1 + d.growth_rate_pct / 100,
                                    datediff('month', d.growth_base_period, a.period_start)
                                        // a.months
                                ) - 1
                            )
                        END
                END
        END AS target
    FROM goal_actuals AS a
    JOIN _goal_defs AS d ON d.goal_key = a.goal_key
    LEFT JOIN growth_bases AS prev
      ON prev.goal_key = a.goal_key AND prev.period_start = a.previous_start
    LEFT JOIN growth_bases AS ago
      ON ago.goal_key = a.goal_key AND ago.period_start = a.year_ago_start
    LEFT JOIN budget_targets AS bt
      ON bt.goal_key = a.goal_key AND bt.period_start = a.period_start
),

-- A target beyond 1e15 either way, the largest amount a goal may name (MAX_AMOUNT in
-- goals/model.py), is no target. Only growth gets there, compounded over many periods,
-- and then on to an overflow (power() answers inf) that must never be stored.
goal_targets AS (
    SELECT
        goal_key, period_start, period_end, actual,
        CASE WHEN abs(target) <= 1e15 THEN target END AS target
    FROM computed_targets
),

-- A maintain goal's band: given, or target ± tolerance_pct of |target|. Its reported
-- target is the band's middle.
goal_bounds AS (
    SELECT
        t.*, d.goal_id, d.goal_name, d.direction, d.at_risk_pct, d.is_ratio,
        CASE WHEN d.band_low IS NOT NULL THEN (d.band_low + d.band_high) / 2 ELSE t.target END
            AS shown_target,
        -- Where the goal's targets come from (docs/decisions.md): the same for all its
        -- periods, also those without a target, so BI can tell "no budget line this month"
        -- from "no target set". A budget named by id shows its imported name.
        CASE
            WHEN d.target_kind = 'value' THEN 'fixed'
            WHEN d.target_kind = 'budget'
                THEN 'budget:' || coalesce(s.budget_name, d.budget_name, d.budget_id)
            WHEN d.target_kind IS NOT NULL THEN d.target_kind
            WHEN d.band_low IS NOT NULL THEN 'band'
        END AS target_source,
        coalesce(d.band_low, t.target - abs(t.target) * d.tolerance_pct / 100) AS low,
        coalesce(d.band_high, t.target + abs(t.target) * d.tolerance_pct / 100) AS high
    FROM goal_targets AS t
    JOIN _goal_defs AS d ON d.goal_key = t.goal_key
    LEFT JOIN budget_span AS s ON s.goal_key = t.goal_key
)

-- Status rules (goal_models/README.md): the at-risk margin is at_risk_pct of |target|
-- (or of |band edge|), so negative targets work the same way as positive ones. A ratio
-- (a formula dividing by an item) has no currency; every other value is an amount.
SELECT
    $org_id AS org_id,
    $realm_id AS realm_id,
    b.goal_id,
    b.goal_name,
    b.period_start,
    b.period_end,
    b.actual,
    b.shown_target AS target,
    b.target_source,
    CASE
        WHEN b.actual IS NULL THEN 'no_data'
        WHEN b.shown_target IS NULL THEN 'no_target'
        WHEN b.direction = 'increase' THEN
            CASE
                WHEN b.actual >= b.target THEN 'on_track'
                WHEN b.actual >= b.target - abs(b.target) * b.at_risk_pct / 100 THEN 'at_risk'
                ELSE 'off_track'
            END
        WHEN b.direction = 'decrease' THEN
            CASE
                WHEN b.actual <= b.target THEN 'on_track'
                WHEN b.actual <= b.target + abs(b.target) * b.at_risk_pct / 100 THEN 'at_risk'
                ELSE 'off_track'
            END
        ELSE  -- maintain
            CASE
                WHEN b.actual BETWEEN b.low AND b.high THEN 'on_track'
                WHEN b.actual < b.low AND b.actual >= b.low - abs(b.low) * b.at_risk_pct / 100
                    THEN 'at_risk'
                WHEN b.actual > b.high AND b.actual <= b.high + abs(b.high) * b.at_risk_pct / 100
                    THEN 'at_risk'
                ELSE 'off_track'
            END
    END AS status,
    CASE WHEN b.is_ratio THEN NULL ELSE (SELECT currency FROM home_currency) END AS currency,
    false AS is_stale,
    CAST(NULL AS VARCHAR) AS stale_reason,
    CAST(NULL AS TIMESTAMPTZ) AS stale_since,
    CAST($computed_at AS TIMESTAMPTZ) AS computed_at
FROM goal_bounds AS b
