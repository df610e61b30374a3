"""Validate goals: the schema and rules (loader.py), then the connected company's data.

Against the imported data, a goal is checked for: its organization has imported data; its
dataset (and basis) has been imported; its account exists, belongs in that dataset, and is
still active (a deleted or inactive account is a warning: the goal keeps its history); its
line has rows; its class or department exists; its target dates start fiscal periods.
Every problem names the file, the goal, the field, the bad value and what is available.
A goal with errors is left out of the computation; the others are not affected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from qb_pipeline.goals.catalog import Catalog, load_catalog
from qb_pipeline.goals.definition import AccountRef, GoalDefinition
from qb_pipeline.goals.lines import CLASSIFICATIONS_BY_DATASET, available_lines, line_parts
from qb_pipeline.goals.loader import LoadResult, SourcedGoal, load_goals
from qb_pipeline.goals.problems import ERROR, WARNING, FieldIssue, Problem, listing, show
from qb_pipeline.goals.rules import period_issues


@dataclass
class ValidationReport:
    goals: list[SourcedGoal] = field(default_factory=list)  # computable: no errors
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    checked_data: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    def goals_of(self, org_id: str) -> list[GoalDefinition]:
        return [s.goal for s in self.goals if s.goal.organization == org_id]


CatalogOf = Callable[[str], Catalog | None]


def validate_paths(
    paths: Iterable[Path | str],
    con: duckdb.DuckDBPyConnection | None = None,
    realm_ids: Mapping[str, str | None] | None = None,
) -> ValidationReport:
    """Load the goal files in `paths` and check them (against `con`'s marts when given)."""
    return validate_loaded(load_goals(paths), con, realm_ids)


def catalogs_from(
    con: duckdb.DuckDBPyConnection, realm_ids: Mapping[str, str | None] | None = None
) -> CatalogOf:
    """Each organization's catalog read from one connection (memoized)."""
    catalogs: dict[str, Catalog] = {}

    def catalog_of(org: str) -> Catalog:
        if org not in catalogs:
            catalogs[org] = load_catalog(con, org, (realm_ids or {}).get(org))
        return catalogs[org]

    return catalog_of


def validate_loaded(
    loaded: LoadResult,
    con: duckdb.DuckDBPyConnection | None = None,
    realm_ids: Mapping[str, str | None] | None = None,
    *,
    catalog_of: CatalogOf | None = None,
) -> ValidationReport:
    """Check `loaded` against the imported data: each organization's catalog from
    `catalog_of` (None for an organization: its data is not checked), or from `con`."""
    if catalog_of is None and con is not None:
        catalog_of = catalogs_from(con, realm_ids)
    report = ValidationReport(problems=list(loaded.problems), files=list(loaded.files))
    for sourced in loaded.goals:
        goal = sourced.goal
        issues: list[FieldIssue] = []
        catalog = catalog_of(goal.organization) if catalog_of is not None else None
        if catalog is not None:
            report.checked_data = True
            issues = data_issues(goal, catalog)
        for issue in issues:
            report.problems.append(
                Problem(
                    sourced.file,
                    issue.message,
                    goal=repr(goal.id),
                    field=issue.field or None,
                    line=sourced.line_of(issue.field),
                    severity=issue.severity,
                )
            )
        if not any(i.severity == ERROR for i in issues):
            report.goals.append(sourced)
    report.problems.sort(key=_order)
    return report


def _order(problem: Problem) -> tuple:
    return (problem.file or "", problem.line or 0, problem.goal or "", problem.field or "")


def data_issues(goal: GoalDefinition, catalog: Catalog) -> list[FieldIssue]:
    """What in the goal does not match the organization's imported data."""
    org = catalog.org_id
    if not catalog.has_data:
        return [
            FieldIssue(
                "organization",
                f"{show(org)} has no imported QuickBooks data yet; run "
                f"`qb-pipeline sync --org {org}` first",
            )
        ]
    issues: list[FieldIssue] = []
    for dataset, where in _datasets_read(goal):
        issues += _dataset_issues(goal, dataset, where, catalog)
    if any(i.severity == ERROR for i in issues):
        return _unique(issues)  # nothing else can be checked without the dataset
    tracks = goal.tracks
    if tracks.account is not None:
        issues += _account_issues(tracks.account, goal.dataset, "tracks.account", catalog)
    if tracks.line is not None:
        issues += _line_issues(tracks.line.group, goal.dataset, "tracks.line.group", catalog)
    if tracks.formula is not None:
        for name, item in tracks.formula.items.items():
            dataset = item.dataset or goal.dataset
            where = f"tracks.formula.items.{name}"
            if item.account is not None:
                issues += _account_issues(item.account, dataset, f"{where}.account", catalog)
            if item.line is not None:
                issues += _line_issues(item.line.group, dataset, f"{where}.line.group", catalog)
    issues += _filter_issues(goal, catalog)
    issues += _budget_issues(goal, catalog)
    if catalog.fiscal_year_start_month is not None:
        issues += period_issues(goal, catalog.fiscal_year_start_month)
    return _unique(issues)


def _datasets_read(goal: GoalDefinition) -> list[tuple[str, str]]:
    """(dataset, field that chose it) for every dataset the goal reads."""
    found = {goal.dataset: "dataset"} if goal.tracks.formula is None else {}
    if goal.tracks.formula is not None:
        for name, item in goal.tracks.formula.items.items():
            where = f"tracks.formula.items.{name}.dataset" if item.dataset else "dataset"
            found.setdefault(item.dataset or goal.dataset, where)
    return list(found.items())


def _dataset_issues(
    goal: GoalDefinition, dataset: str, where: str, catalog: Catalog
) -> list[FieldIssue]:
    org = catalog.org_id
    bases = catalog.bases.get(dataset)
    if not bases:
        return [
            FieldIssue(
                where,
                f"{show(dataset)} has not been imported for {org} yet; imported: "
                f"{listing(catalog.datasets)}",
            )
        ]
    if goal.basis not in bases:
        return [
            FieldIssue(
                "basis",
                f"{show(goal.basis)} figures of {dataset} have not been imported for {org}; "
                f"imported: {listing(sorted(bases))}",
            )
        ]
    return []


def _account_issues(
    ref: AccountRef, dataset: str, where: str, catalog: Catalog
) -> list[FieldIssue]:
    allowed = CLASSIFICATIONS_BY_DATASET[dataset]
    account = catalog.accounts.get(ref.account_id)
    field_name = f"{where}.account_id"
    if account is None:
        choices = [
            a.label for a in catalog.accounts.values() if a.classification in allowed and a.active
        ]
        return [
            FieldIssue(
                field_name,
                f"{show(ref.account_id)} is not an account of {catalog.org_id}'s connected "
                f"company; active {dataset} accounts: {listing(choices)}",
            )
        ]
    if account.classification not in allowed:
        return [
            FieldIssue(
                field_name,
                f"{show(ref.account_id)} ({account.name}) is {_article(account.classification)} "
                f"account; {dataset} goals track {' or '.join(allowed)} accounts",
            )
        ]
    if account.is_deleted:
        return [
            FieldIssue(
                field_name,
                f"{show(ref.account_id)} ({account.name}) was deleted in QuickBooks; its "
                "history is kept and later periods read 0",
                severity=WARNING,
            )
        ]
    if not account.active:
        return [
            FieldIssue(
                field_name,
                f"{show(ref.account_id)} ({account.name}) is inactive in QuickBooks",
                severity=WARNING,
            )
        ]
    return []


def _line_issues(group: str, dataset: str, where: str, catalog: Catalog) -> list[FieldIssue]:
    present = catalog.groups.get(dataset, set())
    if present & set(line_parts(dataset, group)):
        return []
    return [
        FieldIssue(
            where,
            f"{show(group)} has no rows in {catalog.org_id}'s imported {dataset} data; "
            f"available: {listing(available_lines(dataset, present))}",
        )
    ]


def _filter_issues(goal: GoalDefinition, catalog: Catalog) -> list[FieldIssue]:
    filters = goal.filters
    if filters is None:
        return []
    issues = []
    for dimension, value, where in (
        ("class", filters.class_id, "filters.class_id"),
        ("department", filters.department_id, "filters.department_id"),
    ):
        if value is not None and (dimension, value) not in catalog.dimensions:
            plural = "classes" if dimension == "class" else "departments"
            issues.append(
                FieldIssue(
                    where,
                    f"{show(value)} is not a {dimension} in {catalog.org_id}'s imported data; "
                    f"{plural}: {listing(catalog.dimension_choices(dimension))}",
                )
            )
    return issues


def _budget_issues(goal: GoalDefinition, catalog: Catalog) -> list[FieldIssue]:
    budget = goal.target.budget if goal.target is not None else None
    if budget is None:
        return []
    if budget.budget_id is not None:
        known, where, value = budget.budget_id in catalog.budgets, "budget_id", budget.budget_id
    else:
        known, where, value = budget.name in catalog.budgets.values(), "name", budget.name
    if known:
        return []
    available = [f"{i} {n}" for i, n in catalog.budgets.items()]
    return [
        FieldIssue(
            f"target.budget.{where}",
            f"{show(value)} is not a budget of {catalog.org_id}'s connected company; "
            f"budgets: {listing(available)}",
            loc=("target", "budget", where),
        )
    ]


def _article(word: str | None) -> str:
    word = word or "unclassified"
    return f"{'an' if word[0].lower() in 'aeiou' else 'a'} {word}"


def _unique(issues: list[FieldIssue]) -> list[FieldIssue]:
    return list(dict.fromkeys(issues))


__all__ = ["ValidationReport", "data_issues", "validate_loaded", "validate_paths"]
