"""Budgets a bookkeeper would have typed in: near the company's actuals, by account and month.

A budget covers one fiscal year of profit-and-loss accounts, month by month, as QuickBooks'
Budget entity holds it (BudgetDetail lines of BudgetDate, Amount, AccountRef and optionally
ClassRef or DepartmentRef). Amounts are the accrual actuals of the account and month, moved
by a small deterministic noise (a few percent per account, a few per month), in whole
dollars, with the sign QuickBooks' ProfitAndLoss shows (income and expenses positive). A
month not over yet is budgeted from the same month a year earlier, a little up, as a budget
written at the start of the year would be. An account and month that round to 0 have no line.

The noise is drawn from its own seeded streams (the realm, account and month name them), so
budgets never move the generator's main random stream or any other record.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from qb_pipeline.sandbox.accounting.ledger import Posting

ACCOUNT_BIAS_PCT = 3.0  # how far an account's whole year may sit from its actuals
MONTH_NOISE_PCT = 6.0  # and each month around that
UNSEEN_MONTH_GROWTH = 1.05  # a month not over yet: last year's actual, 5% up
DIMENSION_REFS = {"class": "ClassRef", "department": "DepartmentRef"}

Key = tuple[str, str, date]  # account id, dimension member id ('' for none), month


def monthly_actuals(
    postings: Iterable[Posting], signs: dict[str, int], dimension: str | None = None
) -> dict[Key, int]:
    """Cents per (account, member, month) of the P&L accounts of `signs` (account id ->
    +1 for expenses, -1 for income, so that both read positive as the report shows them)."""
    sums: dict[Key, int] = defaultdict(int)
    for posting in postings:
        sign = signs.get(posting.account_id)
        if sign is None:
            continue
        member = ""
        if dimension == "class":
            member = posting.class_id or ""
        elif dimension == "department":
            member = posting.department_id or ""
        if dimension is not None and not member:
            continue
        sums[(posting.account_id, member, posting.txn_date.replace(day=1))] += sign * posting.amount
    return sums


def budget_details(
    actuals: dict[Key, int],
    accounts: dict[str, str],
    months: list[date],
    today: date,
    bias_pct: dict[str, float],
    realm_id: str,
    dimension: str | None = None,
    member_names: dict[str, str] | None = None,
) -> list[dict]:
    """BudgetDetail lines of one fiscal year (`months`) from `actuals`, in account order."""
    members = sorted({member for (_, member, _) in actuals})
    current_month = today.replace(day=1)
    details = []
    for account_id, name in accounts.items():
        for member in members:
            for month in months:
                if month < current_month:
                    cents = actuals.get((account_id, member, month), 0)
                    growth = 1.0
                else:
                    year_ago = month.replace(year=month.year - 1)
                    cents = actuals.get((account_id, member, year_ago), 0)
                    growth = UNSEEN_MONTH_GROWTH
                noise = random.Random(f"budget:{realm_id}:{account_id}:{member}:{month}")
                factor = 1 + (bias_pct[account_id] + noise.uniform(-1, 1) * MONTH_NOISE_PCT) / 100
                dollars = round(cents / 100 * growth * factor)
                if dollars == 0:
                    continue
                line = {
                    "BudgetDate": month.isoformat(),
                    "Amount": dollars,
                    "AccountRef": {"value": account_id, "name": name},
                }
                if dimension is not None:
                    names = member_names or {}
                    line[DIMENSION_REFS[dimension]] = {
                        "value": member,
                        "name": names.get(member, ""),
                    }
                details.append(line)
    return details


def fiscal_months(year_start: date) -> list[date]:
    """The first days of the twelve months of the fiscal year starting `year_start`."""
    return [
        date(
            year_start.year + (year_start.month + m - 1) // 12,
            (year_start.month + m - 1) % 12 + 1,
            1,
        )
        for m in range(12)
    ]


__all__ = ["budget_details", "fiscal_months", "monthly_actuals"]
