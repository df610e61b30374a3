"""What `qb-pipeline goals validate|create` do, without click (commands.py wraps them).

Both read the imported data from the serving copy of the warehouse when there is one (the
read-only snapshot BI tools use), else from the warehouse itself opened read-only: a
validation must never hold the file a running sync writes to for longer than it needs.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import yaml

from qb_pipeline.config import Settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.connections.models import DISCONNECTED, NOT_CONNECTED
from qb_pipeline.goals.catalog import load_catalog
from qb_pipeline.goals.loader import load_goals, parse_goal
from qb_pipeline.goals.model import GoalDefinition
from qb_pipeline.goals.problems import ERROR
from qb_pipeline.goals.validate import ValidationReport, data_issues, validate_loaded

CREATE_ACTION = "create goals"
EDITOR = "editor"

# The `goals create` option behind each field, so refusals speak the command's language.
OPTION_OF_FIELD = {
    "id": "--id",
    "name": "--name",
    "organization": "--org",
    "description": "--description",
    "dataset": "--dataset",
    "tracks.account.account_id": "--account",
    "tracks.account.include_subaccounts": "--with-subaccounts",
    "tracks.line.group": "--line",
    "tracks": "--account/--line",
    "basis": "--basis",
    "filters": "--class/--department",
    "filters.class_id": "--class",
    "filters.department_id": "--department",
    "grain": "--grain",
    "window": "--window",
    "target": "--target",
    "target.value": "--target",
    "direction": "--direction",
    "band": "--band-low/--band-high",
    "band.low": "--band-low",
    "band.high": "--band-high",
    "tolerance_pct": "--tolerance-pct",
    "at_risk_threshold_pct": "--at-risk-pct",
}


class GoalRefused(Exception):
    """`goals create` refused; nothing was written. `problems` are one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class ImportedData:
    """A read-only connection to the imported data, or why there is none."""

    con: duckdb.DuckDBPyConnection | None
    note: str  # where the data was read from, or why it could not be
    busy: bool = False  # the file exists but another process holds it


@contextmanager
def imported_data(settings: Settings) -> Iterator[ImportedData]:
    """The serving copy (else the warehouse), opened read-only for as short as possible."""
    for path in (settings.serving_path, settings.warehouse_path):
        if not path.exists():
            continue
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as error:
            reason = " ".join(str(error).split())[:200]
            yield ImportedData(None, f"{path} cannot be opened now ({reason})", busy=True)
            return
        try:
            yield ImportedData(con, str(path))
        finally:
            con.close()
        return
    where = f"no {settings.warehouse_path.name} in {settings.home}"
    yield ImportedData(None, f"nothing has been imported yet ({where})")


# -- goals validate ---------------------------------------------------------------------------


def validate_command(
    paths: Sequence[Path | str], settings: Settings | None
) -> tuple[ValidationReport, list[str]]:
    """Validate goal files; returns the report and the lines to print."""
    loaded = load_goals(paths)
    if settings is None:
        report, note = validate_loaded(loaded, None), "no configuration"
    else:
        with imported_data(settings) as data:
            report, note = validate_loaded(loaded, data.con), data.note
    lines = [str(p) for p in report.problems]
    goals = len(report.goals) + _rejected_goal_count(report)
    summary = (
        f"{len(report.files)} file(s), {goals} goal(s): {len(report.goals)} valid, "
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    )
    if report.checked_data:
        summary += f"; checked against the imported data in {note}"
    else:
        summary += f"; checked against the schema only: {note}"
    return report, [*lines, summary]


def _rejected_goal_count(report: ValidationReport) -> int:
    return len({(p.file, p.goal) for p in report.errors if p.goal is not None})


# -- goals create -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateRequest:
    org: str
    actor: str
    name: str
    dataset: str
    grain: str
    account: str | None = None
    with_subaccounts: bool = False
    line: str | None = None
    goal_id: str | None = None
    description: str | None = None
    window: str = "period"
    basis: str = "accrual"
    target: float | None = None
    direction: str = "increase"
    band_low: float | None = None
    band_high: float | None = None
    tolerance_pct: float | None = None
    at_risk_pct: float = 10.0
    class_id: str | None = None
    department_id: str | None = None


@dataclass(frozen=True)
class CreatedGoal:
    goal: GoalDefinition
    path: Path


def create_goal(
    request: CreateRequest,
    service: IntegrationService,
    goals_dir: Path,
    now: datetime | None = None,
) -> CreatedGoal:
    """Check everything, then write goals_dir/<org>/<id>.yaml; GoalRefused otherwise.

    Raises the service's PermissionDenied / NotFound for a user who may not create goals
    in the organization (audited by the service), GoalRefused for everything else.
    """
    service.require_role(request.actor, request.org, EDITOR, CREATE_ACTION)
    status = service.status(request.org)
    if status.status in (NOT_CONNECTED, DISCONNECTED):
        raise GoalRefused(
            [
                f"{request.org} has no QuickBooks connection ({status.status.replace('_', ' ')}); "
                f"an admin connects it with `qb-pipeline connect --org {request.org} --as EMAIL`"
            ]
        )
    existing = {
        s.goal.id for s in load_goals([goals_dir]).goals if s.goal.organization == request.org
    }
    org_dir = goals_dir / request.org
    goal_id = request.goal_id or _free_id(_slug(request.name), existing, org_dir)
    if request.goal_id in RESERVED_IDS:
        raise GoalRefused(
            [
                f"--id: {goal_id!r} is reserved (it names the web app's new-goal page); "
                "choose another id"
            ]
        )
    if request.goal_id is not None and (
        goal_id in existing or (org_dir / f"{goal_id}.yaml").exists()
    ):
        raise GoalRefused(
            [f"--id: {goal_id!r} is already a goal of {request.org}; choose another id"]
        )
    raw = _raw_goal(request, goal_id, now or datetime.now(UTC))
    goal, issues = parse_goal(raw)
    problems = [_as_option(i.field, i.message) for i in issues if i.severity == ERROR]
    if goal is None or problems:
        raise GoalRefused(problems or ["the goal is not valid"])
    settings = service.config
    with imported_data(settings) as data:
        if data.con is None and data.busy:
            raise GoalRefused([f"{data.note}; try again when the running sync has finished"])
        if data.con is None:
            raise GoalRefused([f"{data.note}: run `qb-pipeline sync --org {request.org}` first"])
        catalog = load_catalog(data.con, request.org, status.realm_id)
    # A new goal on a deleted or inactive account is refused too: it could never move.
    problems = [_as_option(i.field, i.message) for i in data_issues(goal, catalog)]
    if problems:
        raise GoalRefused(problems)
    path = _write_new(org_dir / f"{goal.id}.yaml", _file_text(goal))
    return CreatedGoal(goal, path)


def _raw_goal(request: CreateRequest, goal_id: str, now: datetime) -> dict:
    tracks: dict = {}
    if request.account is not None:
        tracks["account"] = {
            "account_id": request.account,
            "include_subaccounts": request.with_subaccounts,
        }
    if request.line is not None:
        tracks["line"] = {"group": request.line}
    raw: dict = {
        "id": goal_id,
        "name": request.name,
        "organization": request.org,
        "description": request.description,
        "dataset": request.dataset,
        "tracks": tracks,
        "basis": request.basis,
        "grain": request.grain,
        "window": request.window,
        "direction": request.direction,
        "at_risk_threshold_pct": request.at_risk_pct,
        "created_by": request.actor,
        "created_at": now.replace(microsecond=0).isoformat(),
    }
    if request.class_id is not None or request.department_id is not None:
        raw["filters"] = {"class_id": request.class_id, "department_id": request.department_id}
    if request.target is not None:
        raw["target"] = {"value": request.target}
    if request.band_low is not None or request.band_high is not None:
        raw["band"] = {"low": request.band_low, "high": request.band_high}
    if request.tolerance_pct is not None:
        raw["tolerance_pct"] = request.tolerance_pct
    return {k: v for k, v in raw.items() if v is not None}


def _as_option(field: str, message: str) -> str:
    option = OPTION_OF_FIELD.get(field)
    if option is None and field.startswith("tracks."):
        option = "--account/--line"
    return f"{option or field}: {message}" if (option or field) else message


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-")
    return slug or "goal"


# Ids that name a page of the web app rather than a goal (/orgs/<slug>/goals/new).
RESERVED_IDS = frozenset({"new"})


def _free_id(base: str, existing: set[str], org_dir: Path) -> str:
    candidate, n = base, 1
    if base in RESERVED_IDS:
        candidate, n = f"{base}-2", 2
    while candidate in existing or (org_dir / f"{candidate}.yaml").exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _file_text(goal: GoalDefinition) -> str:
    header = (
        "# yaml-language-server: $schema=../schema/goal.schema.json\n"
        f"# Created with `qb-pipeline goals create` by {goal.created_by}.\n"
    )
    body = yaml.safe_dump(goal.to_yaml_data(), sort_keys=False, allow_unicode=True)
    return header + body


def _write_new(path: Path, text: str) -> Path:
    """Write `text` to `path` atomically, never replacing an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".new-goal-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            os.link(temporary, path)  # fails if the path exists: never overwrite
        except FileExistsError:
            raise GoalRefused([f"{path} exists already; choose another --id"]) from None
    finally:
        os.unlink(temporary)
    return path


__all__ = [
    "CreateRequest",
    "CreatedGoal",
    "GoalRefused",
    "ImportedData",
    "create_goal",
    "imported_data",
    "validate_command",
]
