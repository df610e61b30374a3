"""Rules between the fields of one goal (the model checks each field on its own).

`rule_issues(goal)` needs nothing but the definition; `period_issues(goal, month)` also
needs the company's fiscal year start month, because a quarter of a company whose year
starts in April begins in January, April, July or October, not February.
"""

from __future__ import annotations

from datetime import date

from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.formula import FormulaError, compile_formula
from qb_pipeline.goals.lines import BALANCE_SHEET, PROFIT_AND_LOSS, line_groups
from qb_pipeline.goals.periods import is_period_start, period_starts_near
from qb_pipeline.goals.problems import FieldIssue, listing, show


def rule_issues(goal: GoalDefinition) -> list[FieldIssue]:
    """Everything wrong with how the goal's fields fit together."""
    return [
        *_tracks_issues(goal),
        *_filter_issues(goal),
        *_window_issues(goal),
        *_direction_issues(goal),
        *_target_date_issues(goal),
        *_budget_issues(goal),
    ]


def _budget_issues(goal: GoalDefinition) -> list[FieldIssue]:
    # A budget holds amounts per P&L account: it can be the target of an account or a line
    # of the profit and loss, not of a balance or of a ratio (a formula's budget would need
    # each item's budget recombined; not supported).
    if goal.target is None or goal.target.budget is None:
        return []
    loc: tuple[str | int, ...] = ("target", "budget")
    if goal.dataset != PROFIT_AND_LOSS:
        return [
            FieldIssue(
                "target.budget",
                f"applies to profit_and_loss goals only (a budget holds P&L amounts); this "
                f"goal's dataset is {show(goal.dataset)}",
                loc=loc,
            )
        ]
    if goal.tracks.formula is not None:
        return [
            FieldIssue(
                "target.budget",
                "applies to a goal on an account or a line, not to a formula",
                loc=loc,
            )
        ]
    return []


def _line_issue(group: str, dataset: str, loc: tuple[str | int, ...]) -> FieldIssue | None:
    allowed = line_groups(dataset)
    if group in allowed:
        return None
    return FieldIssue(
        ".".join(map(str, loc)),
        f"{show(group)} is not a {dataset} line (lines are named by QuickBooks' group "
        f"key, not by their label); allowed: {listing(allowed)}",
        loc=loc,
    )


def _tracks_issues(goal: GoalDefinition) -> list[FieldIssue]:
    tracks = goal.tracks
    issues: list[FieldIssue] = []
    if tracks.line is not None:
        issue = _line_issue(tracks.line.group, goal.dataset, ("tracks", "line", "group"))
        issues += [issue] if issue else []
    if tracks.formula is not None:
        for name, item in tracks.formula.items.items():
            if item.line is not None:
                loc = ("tracks", "formula", "items", name, "line", "group")
                issue = _line_issue(item.line.group, item.dataset or goal.dataset, loc)
                issues += [issue] if issue else []
        try:
            compile_formula(tracks.formula.expression, frozenset(tracks.formula.items))
        except FormulaError as error:
            loc = ("tracks", "formula", "expression")
            issues.append(
                FieldIssue(
                    "tracks.formula.expression",
                    f"{show(tracks.formula.expression)} {error}",
                    loc=loc,
                )
            )
    return issues


def _filter_issues(goal: GoalDefinition) -> list[FieldIssue]:
    filters = goal.filters
    if filters is None or (filters.class_id is None and filters.department_id is None):
        return []
    loc: tuple[str | int, ...] = ("filters",)
    if filters.class_id is not None and filters.department_id is not None:
        return [
            FieldIssue(
                "filters",
                "sets both class_id and department_id; set one of them (imported amounts "
                "are split by one dimension at a time)",
                loc=loc,
            )
        ]
    other = sorted(goal.item_datasets - {PROFIT_AND_LOSS})
    if other:
        return [
            FieldIssue(
                "filters",
                f"apply to profit_and_loss only; this goal reads {', '.join(other)}",
                loc=loc,
            )
        ]
    return []


def _window_issues(goal: GoalDefinition) -> list[FieldIssue]:
    if goal.dataset == BALANCE_SHEET and goal.tracks.formula is None and goal.window != "period":
        return [
            FieldIssue(
                "window",
                f"{show(goal.window)} does not apply to balance_sheet goals: a balance is "
                "read at the end of each period; use 'period'",
                loc=("window",),
            )
        ]
    return []


def _direction_issues(goal: GoalDefinition) -> list[FieldIssue]:
    has_band, has_tolerance = goal.band is not None, goal.tolerance_pct is not None
    if goal.direction != "maintain":
        return [
            FieldIssue(
                name,
                f"only applies to direction 'maintain' (this goal's direction is "
                f"{show(goal.direction)})",
                loc=(name,),
            )
            for name, given in (("band", has_band), ("tolerance_pct", has_tolerance))
            if given
        ]
    if has_band and has_tolerance:
        return [
            FieldIssue(
                "tolerance_pct",
                "cannot be combined with band; give band {low, high} or tolerance_pct",
                loc=("tolerance_pct",),
            )
        ]
    if not has_band and not has_tolerance:
        return [
            FieldIssue(
                "direction",
                "'maintain' needs band {low, high} or tolerance_pct (around the target)",
                loc=("direction",),
            )
        ]
    if has_band and goal.target is not None:
        return [
            FieldIssue(
                "target",
                "is not used with band: a maintain goal with a band is on track inside "
                "the band; remove target or replace band with tolerance_pct",
                loc=("target",),
            )
        ]
    if has_tolerance and goal.target is None:
        return [
            FieldIssue(
                "target",
                "is required with tolerance_pct (the band is target ± tolerance)",
                loc=("target",),
            )
        ]
    return []


def _target_date_issues(goal: GoalDefinition) -> list[FieldIssue]:
    target = goal.target
    if target is None:
        return []
    issues: list[FieldIssue] = []
    for day in target.per_period or {}:
        if day.day != 1:
            loc = ("target", "per_period", day.isoformat())
            issues.append(
                FieldIssue(
                    f"target.per_period.{day.isoformat()}",
                    f"{show(day.isoformat())} is not the first day of a {goal.grain}",
                    loc=loc,
                )
            )
    growth = target.growth
    if growth is not None:
        loc = ("target", "growth", "base_period")
        numeric = isinstance(growth.base, float | int)
        if numeric and growth.base_period is None:
            issues.append(
                FieldIssue(
                    "target.growth.base_period",
                    "is required when base is a number (the period whose target it is)",
                    loc=("target", "growth"),
                )
            )
        elif not numeric and growth.base_period is not None:
            issues.append(
                FieldIssue(
                    "target.growth.base_period",
                    f"is only used with a numeric base, not with {show(growth.base)}",
                    loc=loc,
                )
            )
        elif growth.base_period is not None and growth.base_period.day != 1:
            issues.append(
                FieldIssue(
                    "target.growth.base_period",
                    f"{show(growth.base_period.isoformat())} is not the first day of a "
                    f"{goal.grain}",
                    loc=loc,
                )
            )
    return issues


def period_issues(goal: GoalDefinition, fiscal_year_start_month: int) -> list[FieldIssue]:
    """Target dates that are not the first day of a fiscal quarter or year of the company."""
    target = goal.target
    if target is None or goal.grain == "month":
        return []
    dated: list[tuple[date, tuple[str | int, ...]]] = [
        (day, ("target", "per_period", day.isoformat())) for day in target.per_period or {}
    ]
    if target.growth is not None and target.growth.base_period is not None:
        dated.append((target.growth.base_period, ("target", "growth", "base_period")))
    issues = []
    for day, loc in dated:
        if day.day == 1 and not is_period_start(day, goal.grain, fiscal_year_start_month):
            near = ", ".join(
                d.isoformat() for d in period_starts_near(day, goal.grain, fiscal_year_start_month)
            )
            issues.append(
                FieldIssue(
                    ".".join(map(str, loc)),
                    f"{show(day.isoformat())} is not the first day of a fiscal {goal.grain} "
                    f"(the fiscal year starts in month {fiscal_year_start_month}; "
                    f"{goal.grain}s start on {near}, ...)",
                    loc=loc,
                )
            )
    return issues


__all__ = ["period_issues", "rule_issues"]
