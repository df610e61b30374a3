-- Every goal of one organization, for every period, in one statement: the rows of
-- goals.goal_values (compute.py stores them, the web's preview only reads them).
--
-- Inputs registered by compute.py (see plan.py): _goal_defs (one row per goal),
-- _goal_series (each distinct monthly series the goals read), _goal_items (goal x item
-- with its ratio coefficients), _goal_targets (per-period targets), _goal_line_parts
-- (report lines as signed sums of leaf groups), _goal_calendar (fiscal periods and their
-- windows, from periods.py). The placeholders in braces are the contract's marts, or empty
-- relations with their columns when a mart does not exist yet. $data_through is the last day
-- the imported reports cover (NULL when unknown): the period containing it is in progress,
-- and gets a pace (goal_models/README.md, "Pace").
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
-- no data, whatever its window holds. `own_value` is the period's own part of a flow (the
-- whole of it for the window `period`), what a period in progress has done so far.
series_periods AS (
    SELECT
        w.series_id, c.grain, c."window", c.period_start,
        any_value(s.aggregation) AS aggregation,
        CASE
            WHEN any_value(s.aggregation) = 'period_end'
                THEN arg_max(m.value, m.month) FILTER (WHERE m.month >= c.period_start)
            ELSE sum(m.value)
        END AS value,
        sum(m.value) FILTER (WHERE m.month >= c.period_start) AS own_value,
        count(*) FILTER (WHERE m.month >= c.period_start) > 0 AS has_data
    FROM series_windows AS w
    JOIN _goal_series AS s ON s.series_id = w.series_id
    JOIN _goal_calendar AS c ON c.grain = w.grain AND c."window" = w."window"
    JOIN series_months AS m
      ON m.series_id = w.series_id AND m.month BETWEEN c.window_start AND c.period_end
    GROUP BY w.series_id, c.grain, c."window", c.period_start
),

-- Pace. The periods in progress on $data_through (it falls inside them, before their last
-- day), with how many of their days have passed and are still to come. Every window ends
-- with its period, so what is still to come is the same days for every window.
pace_calendar AS (
    SELECT
        c.grain, c."window", c.period_start, c.period_end,
        CAST(date_trunc('month', t.day) AS DATE) AS current_month,
        datediff('day', c.period_start, t.day) + 1 AS elapsed_days,
        datediff('day', t.day, c.period_end) AS remaining_days,
        -- The share of the current month still to come.
        datediff('day', t.day, last_day(t.day)) / day(last_day(t.day)) AS month_left,
        datediff('month', CAST(date_trunc('month', t.day) AS DATE), c.period_end) + 1
            AS rest_months
    FROM _goal_calendar AS c
    JOIN (SELECT CAST($data_through AS DATE) AS day) AS t
      ON t.day >= c.period_start AND t.day < c.period_end
),

-- What the same days did a year earlier: the months after the current one in full, the
-- current month for the share of it still to come. Only when every one of those months
-- was imported (a month inside the imported span with no postings is 0, not missing).
series_year_ago_rest AS (
    SELECT
        w.series_id, p.grain, p."window", p.period_start,
        sum(
            CASE
                WHEN m.month = p.current_month - INTERVAL 12 MONTH THEN m.value * p.month_left
                ELSE m.value
            END
        ) AS rest,
        count(*) = any_value(p.rest_months) AS complete
    FROM series_windows AS w
    JOIN pace_calendar AS p ON p.grain = w.grain AND p."window" = w."window"
    JOIN series_months AS m
      ON m.series_id = w.series_id
     AND m.month BETWEEN p.current_month - INTERVAL 12 MONTH
                     AND p.period_end - INTERVAL 12 MONTH
    GROUP BY w.series_id, p.grain, p."window", p.period_start
),

-- Each series' projected period-end value: a flow adds, to what it has so far, its rate per
-- elapsed day of the period over the days to come (linear), or what last year's same days
-- did (seasonal, when last year has them); a balance stands as it is.
series_pace AS (
    SELECT
        sp.series_id, sp.grain, sp."window", sp.period_start,
        sp.aggregation = 'period_end' AS is_balance,
        CASE
            WHEN sp.aggregation = 'period_end' THEN sp.value
            ELSE sp.value + coalesce(sp.own_value, 0) * p.remaining_days / p.elapsed_days
        END AS linear,
        CASE
            WHEN sp.aggregation = 'period_end' THEN sp.value
            WHEN ya.complete THEN sp.value + ya.rest
        END AS seasonal
    FROM series_periods AS sp
    JOIN pace_calendar AS p
      ON p.grain = sp.grain AND p."window" = sp."window" AND p.period_start = sp.period_start
    LEFT JOIN series_year_ago_rest AS ya
      ON ya.series_id = sp.series_id AND ya.grain = sp.grain AND ya."window" = sp."window"
     AND ya.period_start = sp.period_start
    WHERE sp.has_data
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
        sum(i.den_coef * sp.value) AS denominator,
        -- Pace: projected like the actual, from the items' projections. Seasonal only when
        -- every item has last year's days; a goal of balances only is not projected.
        count(pc.series_id) = count(*) AS has_pace,
        count(pc.seasonal) = count(*) AS has_seasonal,
        bool_and(pc.is_balance) AS balances_only,
        sum(i.num_coef * pc.linear) AS linear_numerator,
        sum(i.den_coef * pc.linear) AS linear_denominator,
        sum(i.num_coef * pc.seasonal) AS seasonal_numerator,
        sum(i.den_coef * pc.seasonal) AS seasonal_denominator
    FROM goal_periods AS p
    JOIN _goal_items AS i ON i.goal_key = p.goal_key
    LEFT JOIN series_periods AS sp
      ON sp.series_id = i.series_id AND sp.grain = p.grain AND sp."window" = p."window"
     AND sp.period_start = p.period_start AND sp.has_data
    LEFT JOIN series_pace AS pc
      ON pc.series_id = i.series_id AND pc.grain = p.grain AND pc."window" = p."window"
     AND pc.period_start = p.period_start
    GROUP BY p.goal_key, p.period_start
),

-- No data, or a zero denominator, gives no actual (status no_data), and no projection.
goal_actuals AS (
    SELECT
        p.*,
        CASE
            WHEN g.has_data AND g.denominator + d.den_const <> 0
                THEN (g.numerator + d.num_const) / (g.denominator + d.den_const)
        END AS actual,
        pc.period_start IS NOT NULL AS in_progress,
        CASE
            WHEN pc.period_start IS NULL OR NOT g.has_pace THEN NULL
            WHEN g.balances_only THEN 'balance'
            WHEN g.has_seasonal THEN 'seasonal'
            ELSE 'linear'
        END AS projection_method,
        CASE
            WHEN pc.period_start IS NULL OR NOT g.has_pace OR NOT g.has_data THEN NULL
            WHEN g.has_seasonal AND g.seasonal_denominator + d.den_const <> 0
                THEN (g.seasonal_numerator + d.num_const) / (g.seasonal_denominator + d.den_const)
            WHEN NOT g.has_seasonal AND g.linear_denominator + d.den_const <> 0
                THEN (g.linear_numerator + d.num_const) / (g.linear_denominator + d.den_const)
        END AS projected
    FROM goal_periods AS p
    JOIN goal_parts AS g ON g.goal_key = p.goal_key AND g.period_start = p.period_start
    JOIN _goal_defs AS d ON d.goal_key = p.goal_key
    LEFT JOIN pace_calendar AS pc
      ON pc.grain = p.grain AND pc."window" = p."window" AND pc.period_start = p.period_start
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
        a.goal_key, a.period_start, a.period_end, a.actual, a.in_progress, a.projected,
        a.projection_method,
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
        goal_key, period_start, period_end, actual, in_progress, projected, projection_method,
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
),

-- Status rules (goal_models/README.md): the at-risk margin is at_risk_pct of |target|
-- (or of |band edge|), so negative targets work the same way as positive ones. The same
-- rules judge the actual (status) and, for a period in progress, the projected period-end
-- value (pace_status): judging the projection against the whole target is judging what was
-- done so far against the target pro-rated to the elapsed part, in the projection's shape.
judged AS (
    SELECT
        b.goal_key, b.period_start, j.kind,
        CASE
            WHEN j.value IS NULL THEN 'no_data'
            WHEN b.shown_target IS NULL THEN 'no_target'
            WHEN b.direction = 'increase' THEN
                CASE
                    WHEN j.value >= b.target THEN 'on_track'
                    WHEN j.value >= b.target - abs(b.target) * b.at_risk_pct / 100 THEN 'at_risk'
                    ELSE 'off_track'
                END
            WHEN b.direction = 'decrease' THEN
                CASE
                    WHEN j.value <= b.target THEN 'on_track'
                    WHEN j.value <= b.target + abs(b.target) * b.at_risk_pct / 100 THEN 'at_risk'
                    ELSE 'off_track'
                END
            ELSE  -- maintain
                CASE
                    WHEN j.value BETWEEN b.low AND b.high THEN 'on_track'
                    WHEN j.value < b.low AND j.value >= b.low - abs(b.low) * b.at_risk_pct / 100
                        THEN 'at_risk'
                    WHEN j.value > b.high AND j.value <= b.high + abs(b.high) * b.at_risk_pct / 100
                        THEN 'at_risk'
                    ELSE 'off_track'
                END
        END AS status
    FROM goal_bounds AS b
    CROSS JOIN LATERAL (
        SELECT 'actual' AS kind, b.actual AS value
        UNION ALL
        SELECT 'pace', b.projected WHERE b.in_progress
    ) AS j
)

-- A ratio (a formula dividing by an item) has no currency; every other value is an amount.
SELECT
    $org_id AS org_id,
    $realm_id AS realm_id,
    b.goal_id,
    b.goal_name,
    b.period_start,
    b.period_end,
    b.actual,
    b.shown_target AS target,
    s.status,
    b.target_source,
    CASE WHEN b.is_ratio THEN NULL ELSE (SELECT currency FROM home_currency) END AS currency,
    false AS is_stale,
    CAST(NULL AS VARCHAR) AS stale_reason,
    CAST(NULL AS TIMESTAMPTZ) AS stale_since,
    CAST($computed_at AS TIMESTAMPTZ) AS computed_at,
    CAST(b.projected AS DOUBLE) AS projected,
    b.projection_method,
    ps.status AS pace_status,
    CASE WHEN b.in_progress THEN CAST($data_through AS DATE) END AS pace_as_of
FROM goal_bounds AS b
JOIN judged AS s ON s.goal_key = b.goal_key AND s.period_start = b.period_start
 AND s.kind = 'actual'
LEFT JOIN judged AS ps ON ps.goal_key = b.goal_key AND ps.period_start = b.period_start
 AND ps.kind = 'pace'
