"""Report lines a goal can track, keyed by QuickBooks' `group`, never by display label.

The marts hold one row per account (plus uncategorised rows such as the balance sheet's
"Net Income"), each tagged with the `report_group` of its nearest enclosing report section.
A line is a signed sum of such leaf groups: Gross Profit is Income minus COGS, exactly as
QuickBooks computes its summary rows. Keeping the definition here, as data, lets the SQL
compute every line of every goal with one join instead of one query per line.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

PROFIT_AND_LOSS: Final = "profit_and_loss"
BALANCE_SHEET: Final = "balance_sheet"
CASH_FLOW: Final = "cash_flow"
DATASETS: Final = (PROFIT_AND_LOSS, BALANCE_SHEET, CASH_FLOW)

# How a dataset's values add up over time: flows are summed over the window, balances are
# read at the end of the period (summing month-end balances would be meaningless).
SUM: Final = "sum"
PERIOD_END: Final = "period_end"
AGGREGATION_BY_DATASET: Final = MappingProxyType(
    {PROFIT_AND_LOSS: SUM, BALANCE_SHEET: PERIOD_END, CASH_FLOW: SUM}
)

# Account classifications (marts.accounts.classification) whose accounts appear in a dataset.
CLASSIFICATIONS_BY_DATASET: Final = MappingProxyType(
    {
        PROFIT_AND_LOSS: ("Revenue", "Expense"),
        BALANCE_SHEET: ("Asset", "Liability", "Equity"),
        CASH_FLOW: ("Asset", "Liability", "Equity"),
    }
)

_PNL_INCOME = {"Income": 1}
_PNL_GROSS = {"Income": 1, "COGS": -1}
_PNL_OPERATING = {**_PNL_GROSS, "Expenses": -1}
_PNL_OTHER = {"OtherIncome": 1, "OtherExpenses": -1}

_BS_CURRENT_ASSETS = {"BankAccounts": 1, "AR": 1, "OtherCurrentAssets": 1}
_BS_ASSETS = {**_BS_CURRENT_ASSETS, "FixedAssets": 1, "OtherAssets": 1}
_BS_CURRENT_LIABILITIES = {"AP": 1, "CreditCards": 1, "OtherCurrentLiabilities": 1}
_BS_LIABILITIES = {**_BS_CURRENT_LIABILITIES, "LongTermLiabilities": 1}
# The balance sheet shows the fiscal year's income as a "Net Income" row inside Equity;
# whether the import tags that row `Equity` or `NetIncome`, it belongs to Equity.
_BS_EQUITY = {"Equity": 1, "NetIncome": 1}

_CF_OPERATING = {"OperatingActivities": 1, "OperatingAdjustments": 1, "NetIncome": 1}

# dataset -> line group -> {leaf report_group: sign}, in the order reports show them.
LINES: Final = MappingProxyType(
    {
        PROFIT_AND_LOSS: MappingProxyType(
            {
                "Income": _PNL_INCOME,
                "COGS": {"COGS": 1},
                "GrossProfit": _PNL_GROSS,
                "Expenses": {"Expenses": 1},
                "NetOperatingIncome": _PNL_OPERATING,
                "OtherIncome": {"OtherIncome": 1},
                "OtherExpenses": {"OtherExpenses": 1},
                "NetOtherIncome": _PNL_OTHER,
                "NetIncome": {**_PNL_OPERATING, **_PNL_OTHER},
            }
        ),
        BALANCE_SHEET: MappingProxyType(
            {
                "TotalAssets": _BS_ASSETS,
                "CurrentAssets": _BS_CURRENT_ASSETS,
                "BankAccounts": {"BankAccounts": 1},
                "AR": {"AR": 1},
                "OtherCurrentAssets": {"OtherCurrentAssets": 1},
                "FixedAssets": {"FixedAssets": 1},
                "OtherAssets": {"OtherAssets": 1},
                "TotalLiabilitiesAndEquity": {**_BS_LIABILITIES, **_BS_EQUITY},
                "Liabilities": _BS_LIABILITIES,
                "CurrentLiabilities": _BS_CURRENT_LIABILITIES,
                "AP": {"AP": 1},
                "CreditCards": {"CreditCards": 1},
                "OtherCurrentLiabilities": {"OtherCurrentLiabilities": 1},
                "LongTermLiabilities": {"LongTermLiabilities": 1},
                "Equity": _BS_EQUITY,
            }
        ),
        # Provisional: computed only once a `marts.cash_flow_monthly` (shaped like
        # marts.pnl_monthly) exists; the contract does not define it yet.
        CASH_FLOW: MappingProxyType(
            {
                "OperatingActivities": _CF_OPERATING,
                "InvestingActivities": {"InvestingActivities": 1},
                "FinancingActivities": {"FinancingActivities": 1},
                "CashIncrease": {
                    **_CF_OPERATING,
                    "InvestingActivities": 1,
                    "FinancingActivities": 1,
                },
            }
        ),
    }
)


def line_groups(dataset: str) -> tuple[str, ...]:
    """The line groups a goal on `dataset` may track, in report order."""
    return tuple(LINES.get(dataset, {}))


def line_parts(dataset: str, group: str) -> dict[str, int]:
    """The leaf report groups (with their signs) that make up a line."""
    return dict(LINES[dataset][group])


def all_line_parts() -> list[tuple[str, str, str, int]]:
    """(dataset, line group, leaf report group, sign) for every line: the SQL's lookup table."""
    return [
        (dataset, group, leaf, sign)
        for dataset, lines in LINES.items()
        for group, parts in lines.items()
        for leaf, sign in parts.items()
    ]


def available_lines(dataset: str, present_groups: set[str]) -> tuple[str, ...]:
    """The lines with at least one leaf group present in the imported data."""
    return tuple(
        group for group, parts in LINES.get(dataset, {}).items() if present_groups & set(parts)
    )
