"""marts.balance_sheet_monthly balances: each account's row plus QuickBooks' computed Net
Income line in equity, so a month's rows add up to the report's totals, which are equal."""

from __future__ import annotations

import pytest

# Written out here, not taken from qb_pipeline.goals.lines: the sections QuickBooks prints
# under TOTAL ASSETS, and the rest (under TOTAL LIABILITIES AND EQUITY).
ASSET_GROUPS = ("BankAccounts", "AR", "OtherCurrentAssets", "FixedAssets", "OtherAssets")

# Per (basis, month_end): the mart's asset rows, its other rows, and the two totals the
# imported BalanceSheet printed for that month.
SIDES_AND_TOTALS_SQL = """
WITH sides AS (
    SELECT
        basis,
        month_end,
        sum(balance) FILTER (WHERE list_contains($assets, report_group)) AS assets,
        sum(balance) FILTER (WHERE NOT list_contains($assets, report_group))
            AS liabilities_and_equity
    FROM marts.balance_sheet_monthly
    WHERE org_id = $org_id
    GROUP BY basis, month_end
),
totals AS (
    SELECT
        basis,
        period_end AS month_end,
        max(amount) FILTER (WHERE line_key = 'TotalAssets#total') AS total_assets,
        max(amount) FILTER (WHERE line_key = 'TotalLiabilitiesAndEquity#total')
            AS total_liabilities_and_equity
    FROM qbo.report_lines
    WHERE org_id = $org_id AND report_name = 'BalanceSheet'
    GROUP BY basis, period_end
)
SELECT
    t.basis,
    t.month_end,
    coalesce(s.assets, 0),
    coalesce(s.liabilities_and_equity, 0),
    coalesce(t.total_assets, 0),
    coalesce(t.total_liabilities_and_equity, 0)
FROM totals AS t
LEFT JOIN sides AS s ON s.basis = t.basis AND s.month_end = t.month_end
ORDER BY t.basis, t.month_end
"""


@pytest.mark.parametrize("org", ["acme", "alder"])
def test_each_month_end_sums_to_the_reports_totals_and_balances(built, org):
    with built.warehouse.connect() as con:
        params = {"assets": list(ASSET_GROUPS), "org_id": org}
        rows = con.execute(SIDES_AND_TOTALS_SQL, params).fetchall()

    assert {basis for basis, *_ in rows} == {"accrual", "cash"}
    unbalanced = [
        (basis, month_end, assets, others, total_assets, total_others)
        for basis, month_end, assets, others, total_assets, total_others in rows
        if not (assets == total_assets and others == total_others and assets == others)
    ]
    assert unbalanced == []
    assert any(assets != 0 for _, _, assets, *_ in rows), "not a comparison of zeros"


@pytest.mark.parametrize("org", ["acme", "alder"])
def test_the_net_income_line_is_a_row_without_an_account(built, org):
    rows = built.warehouse.query(
        "SELECT basis, month_end, account_id, account_name, balance"
        " FROM marts.balance_sheet_monthly WHERE org_id = ? AND report_group = 'NetIncome'",
        org,
    )
    printed = built.warehouse.query(
        "SELECT basis, period_end, amount FROM qbo.report_lines"
        " WHERE org_id = ? AND report_name = 'BalanceSheet'"
        " AND line_key = 'TotalLiabilitiesAndEquity/Equity#line:NetIncome'"
        " AND amount IS NOT NULL",
        org,
    )

    assert {(b, m, None, "Net Income", a) for b, m, a in printed} == set(rows)
    assert len(rows) == len(printed)
    assert any(balance != 0 for *_, balance in rows)
