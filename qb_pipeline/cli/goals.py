"""`qb-pipeline goals ...`: QuickBooks Goals from the command line.

    goals validate [PATHS]                       check goal files (schema, rules, imported data)
    goals apply [PATHS] --as EMAIL [--dry-run]   upsert goal files into the store (plan first)
    goals create --org ORG --as EMAIL ...        a new goal, in the store
    goals update ID --org ORG --as EMAIL ...     change a goal (only the options given)
    goals archive|restore|confirm ID --org ORG --as EMAIL
    goals list --org ORG [--state S] [--json]    the organization's goals and latest values
    goals show ID --org ORG [--json]             one goal: definition, values, versions
    goals schema                                 write goal_models/schema/goal.schema.json

Every change goes through the same gate as the web app (IntegrationService.goal_editor: an
editor or admin, a connected company), is checked against the imported data
(goals/editing.py), stored with its version and event (goals/store.py), and then asks
Dagster for a goals run (sync/launcher.py); the values follow without anyone launching anything.
The group is registered in cli/__init__.py with `main.add_command(goals)`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import duckdb

    from qb_pipeline.config import Settings
    from qb_pipeline.connections import IntegrationService
    from qb_pipeline.goals import apply
    from qb_pipeline.goals.catalog import Catalog
    from qb_pipeline.goals.store import GoalChange

GOALS_DIR_HELP = "Folder of goal definitions (default: ./goal_models, or $QBP_GOALS_DIR)."
AS_HELP = (
    "Act as this user (an editor or admin of the organization). No password is asked: the "
    "CLI trusts the local operator, but the user's role is enforced."
)
CREATE_ACTION = "create goals"
CHANGE_ACTION = "change goals"

# The option behind each field, so refusals speak the command's language.
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
    "target.budget": "--budget",
    "target.budget.name": "--budget",
    "direction": "--direction",
    "band": "--band-low/--band-high",
    "band.low": "--band-low",
    "band.high": "--band-high",
    "tolerance_pct": "--tolerance-pct",
    "at_risk_threshold_pct": "--at-risk-pct",
}


def _goals_dir_option(func):  # noqa: ANN001 - click decorator plumbing
    return click.option(
        "--goals-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="QBP_GOALS_DIR",
        default=Path("goal_models"),
        show_default=False,
        help=GOALS_DIR_HELP,
    )(func)


class _Refused(Exception):
    """A goal change refused; `lines` are the problems, one per line, in option words."""

    def __init__(self, verb: str, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.verb = verb
        self.lines = list(lines)


def _user_errors(func):  # noqa: ANN001 - click decorator plumbing
    """Errors a user can cause: their message on stderr, exit status 1, no traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import duckdb

        from qb_pipeline.config import ConfigError
        from qb_pipeline.connections.db import DATABASE_ERRORS
        from qb_pipeline.connections.errors import IntegrationError
        from qb_pipeline.goals.store import GoalStoreError

        try:
            return func(*args, **kwargs)
        except _Refused as refused:
            if len(refused.lines) == 1:
                raise click.ClickException(f"goal not {refused.verb}: {refused.lines[0]}") from None
            listed = "\n".join(f"  {line}" for line in refused.lines)
            raise click.ClickException(f"goal not {refused.verb}:\n{listed}") from None
        except (ConfigError, IntegrationError, GoalStoreError) as error:
            raise click.ClickException(" ".join(str(error).split())) from None
        except DATABASE_ERRORS as error:
            raise click.ClickException(f"control DB: {error}") from None
        except duckdb.Error as error:
            raise click.ClickException(f"warehouse: {' '.join(str(error).split())}") from None
        except OSError as error:
            raise click.ClickException(" ".join(str(error).split())) from None

    return wrapper


@click.group()
def goals() -> None:
    """QuickBooks Goals: create and change goals, apply and validate goal files."""


# -- reading what has been imported --------------------------------------------------------


@dataclass(frozen=True)
class ImportedData:
    """A read-only connection to the imported data, or why there is none."""

    con: duckdb.DuckDBPyConnection | None
    note: str  # where the data was read from, or why it could not be
    busy: bool = False  # the file exists but another process holds it


@contextmanager
def imported_data(settings: Settings, org: str) -> Iterator[ImportedData]:
    """`org`'s serving copy (else its warehouse, before the first publish), opened read-only
    for as short as possible: a command must never hold the file a sync writes. On a
    Postgres warehouse: a copy of the organization's marts schema (warehouse/serving.py)."""
    import duckdb

    if settings.warehouse_url is not None:
        yield from _imported_from_postgres(settings, org)
        return

    for path in (settings.serving_path(org), settings.warehouse_path(org)):
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
    yield ImportedData(
        None,
        f"nothing has been imported yet (no warehouse.duckdb in {settings.org_dir(org)})",
    )


def _imported_from_postgres(settings: Settings, org: str) -> Iterator[ImportedData]:
    from qb_pipeline.config import redacted_url
    from qb_pipeline.warehouse.dialect import postgres_schemas
    from qb_pipeline.warehouse.serving import serving_copy

    assert settings.warehouse_url is not None
    with serving_copy(settings, org) as serving:
        if serving.con is None:
            yield ImportedData(None, serving.note or "")
            return
        schema = postgres_schemas(org)["marts"]
        yield ImportedData(
            serving.con, f"schema {schema} of {redacted_url(settings.warehouse_url)}"
        )


class ImportedCatalogs:
    """Each organization's catalog, read from its own imported data (one file at a time);
    `notes` says, per organization asked for, where it was read from or why it was not."""

    def __init__(self, settings: Settings, realm_ids: dict[str, str | None]) -> None:
        self.settings = settings
        self.realm_ids = realm_ids
        self.notes: dict[str, str] = {}
        self._catalogs: dict[str, Catalog | None] = {}

    def __call__(self, org: str) -> Catalog | None:
        from qb_pipeline.goals.catalog import load_catalog

        if org not in self._catalogs:
            with imported_data(self.settings, org) as data:
                self.notes[org] = data.note
                self._catalogs[org] = (
                    load_catalog(data.con, org, self.realm_ids.get(org))
                    if data.con is not None
                    else None
                )
        return self._catalogs[org]


def _catalog(settings: Settings, org: str, realm_id: str | None, verb: str) -> Catalog:
    from qb_pipeline.goals.catalog import load_catalog

    with imported_data(settings, org) as data:
        if data.con is None and data.busy:
            raise _Refused(verb, [f"{data.note}; try again when the running sync has finished"])
        if data.con is None:
            raise _Refused(verb, [f"{data.note}: run `qb-pipeline sync --org {org}` first"])
        return load_catalog(data.con, org, realm_id)


# -- goals validate -------------------------------------------------------------------------


@goals.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_goals_dir_option
@_user_errors
def validate(paths: tuple[Path, ...], goals_dir: Path) -> None:
    """Check goal files (default: the goals folder) against the schema and the imported data.

    Every problem names the file and line, the goal, the field, the bad value and what is
    allowed or available. Exits with status 1 when any goal has an error (warnings, such as
    a goal on an account deleted in QuickBooks, do not fail).
    """
    from qb_pipeline.config import load_settings
    from qb_pipeline.goals.loader import load_goals
    from qb_pipeline.goals.validate import validate_loaded

    loaded = load_goals(list(paths) or [goals_dir])
    catalogs = ImportedCatalogs(load_settings(), {})
    report = validate_loaded(loaded, catalog_of=catalogs)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    rejected = len({(p.file, p.goal) for p in report.errors if p.goal is not None})
    summary = (
        f"{len(report.files)} file(s), {len(report.goals) + rejected} goal(s): "
        f"{len(report.goals)} valid, {len(report.errors)} error(s), "
        f"{len(report.warnings)} warning(s)"
    )
    checked = sorted(org for org in catalogs.notes if catalogs(org) is not None)
    unchecked = sorted(org for org in catalogs.notes if org not in checked)
    if checked:
        summary += "; checked against the imported data in " + ", ".join(
            catalogs.notes[org] for org in checked
        )
    if unchecked:
        summary += "; checked against the schema only: " + "; ".join(
            f"{org}: {catalogs.notes[org]}" for org in unchecked
        )
    elif not checked:
        summary += "; checked against the schema only (no goal to check against data)"
    click.echo(summary)
    if report.errors:
        raise SystemExit(1)


# -- goals apply ----------------------------------------------------------------------------


@goals.command("apply")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--as", "actor", required=True, metavar="EMAIL", help=AS_HELP)
@click.option("--dry-run", is_flag=True, help="Show the plan and change nothing.")
@_goals_dir_option
@_user_errors
def apply_command(paths: tuple[Path, ...], actor: str, dry_run: bool, goals_dir: Path) -> None:
    """Make the store match goal files (default: the whole goals folder), per organization.

    Prints the plan first (+ create, ~ update with the fields that change, - archive,
    ^ restore, = unchanged). Goals applied from files are file-managed (read-only in the
    app); a file-managed goal whose file no longer defines it is archived. An organization
    with any problem is left unchanged; the others are applied. Exits with status 1 when
    anything was blocked.
    """
    from qb_pipeline.config import load_settings
    from qb_pipeline.connections import IntegrationService

    service = IntegrationService(load_settings())
    planned, changes = apply_goal_files(
        service, actor, list(paths) or [goals_dir], goals_dir, dry_run=dry_run
    )
    if changes is not None:
        click.echo(f"Applied {sum(1 for c in changes if c.changed)} change(s).")
    if planned.blocked or planned.problems:
        raise SystemExit(1)


def apply_goal_files(
    service: IntegrationService,
    actor: str,
    paths: Sequence[Path],
    goals_dir: Path,
    *,
    dry_run: bool = False,
) -> tuple[apply.ApplyPlan, list[GoalChange] | None]:
    """`goals apply` without click: print the plan (and problems, on stderr), apply it
    unless `dry_run`, and ask for the values of each organization that changed. Returns the
    plan and the changes made (None for a dry run). The demo applies its goals with it."""
    from qb_pipeline.connections.errors import IntegrationError
    from qb_pipeline.goals import apply
    from qb_pipeline.goals.store import GoalStore

    settings = service.config
    store = GoalStore(service.db)
    realms: dict[str, str | None] = {}

    def blocked_reason(org: str) -> str | None:
        try:
            _member, status = service.goal_editor(actor, org, action=CHANGE_ACTION)
        except IntegrationError as error:
            return " ".join(str(error).split())
        realms[org] = status.realm_id
        for change in store.reconcile_realm(org, status.realm_id):
            click.echo(f"{org}/{change.goal.goal_id}: {change.change.replace('_', ' ')}", err=True)
        return None

    planned = apply.plan(
        paths,
        goals_dir,
        store,
        catalog_of=ImportedCatalogs(settings, realms),
        blocked_reason=blocked_reason,
    )
    for problem in planned.problems:
        click.echo(str(problem), err=True)
    for line in planned.lines():
        click.echo(line)
    if dry_run:
        return planned, None
    changes = apply.execute(planned, store, actor=actor, realm_of=realms.get)
    for org in sorted({c.goal.org_slug for c in changes if c.changed}):
        latest = max(c.event_id or 0 for c in changes if c.goal.org_slug == org)
        _ask_for_values(settings, org, latest, actor)
    return planned, changes


# -- create, update, archive, restore, confirm ----------------------------------------------


def _definition_options(required: bool):
    """The options that describe a goal; `required` for create, all optional for update."""
    from qb_pipeline.goals.definition import Basis, Dataset, Direction, Grain, Window

    def choice(literal: Any) -> click.Choice:
        return click.Choice(list(literal.__args__))

    options = [
        click.option("--name", required=required, help="The goal's display name."),
        click.option("--dataset", type=choice(Dataset), required=required),
        click.option("--account", metavar="ACCOUNT_ID", help="Track this account (its Id)."),
        click.option("--with-subaccounts", is_flag=True, default=None, help="With --account."),
        click.option("--line", metavar="GROUP", help="Track this report line, e.g. NetIncome."),
        click.option("--grain", type=choice(Grain), required=required),
        click.option("--window", type=choice(Window)),
        click.option("--basis", type=choice(Basis)),
        click.option("--target", type=float, help="The target of every period."),
        click.option(
            "--budget",
            metavar="NAME",
            help="Targets from this QuickBooks budget of the company (e.g. 'FY2026 Budget').",
        ),
        click.option("--direction", type=choice(Direction)),
        click.option("--band-low", type=float, help="maintain: lowest on-track value."),
        click.option("--band-high", type=float, help="maintain: highest on-track value."),
        click.option("--tolerance-pct", type=float, help="maintain: band = target ± this %."),
        click.option("--at-risk-pct", type=float, help="How far (in %) a miss is at_risk."),
        click.option("--class", "class_id", metavar="CLASS_ID", help="Only this class."),
        click.option("--department", "department_id", metavar="DEPARTMENT_ID"),
        click.option("--description", help="A longer description."),
        click.option(
            "--definition",
            "definition_file",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            help="A YAML or JSON file with fields of the goal (formula, per-period or growth "
            "targets, ...), as in goal files; options given as well win.",
        ),
    ]

    def decorate(func):  # noqa: ANN001
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _fields_from_options(options: dict[str, Any]) -> dict[str, Any]:
    """The goal fields the options give (None: not given), in the shape of a goal file."""
    fields: dict[str, Any] = {}
    file = options.pop("definition_file", None)
    if file is not None:
        fields.update(_definition_file(file))
    simple = {
        "name": "name",
        "dataset": "dataset",
        "grain": "grain",
        "window": "window",
        "basis": "basis",
        "direction": "direction",
        "tolerance_pct": "tolerance_pct",
        "at_risk_pct": "at_risk_threshold_pct",
        "description": "description",
    }
    for option, name in simple.items():
        if options.get(option) is not None:
            fields[name] = options[option]
    account, line = options.get("account"), options.get("line")
    if account is not None and line is not None:
        raise click.UsageError("give exactly one of --account ACCOUNT_ID or --line GROUP")
    if options.get("with_subaccounts") and account is None:
        raise click.UsageError("--with-subaccounts goes with --account")
    if account is not None:
        fields["tracks"] = {
            "account": {
                "account_id": account,
                "include_subaccounts": bool(options.get("with_subaccounts")),
            }
        }
    if line is not None:
        fields["tracks"] = {"line": {"group": line}}
    if options.get("target") is not None and options.get("budget") is not None:
        raise click.UsageError("give one of --target VALUE or --budget NAME")
    if options.get("target") is not None:
        fields["target"] = {"value": options["target"]}
    if options.get("budget") is not None:
        fields["target"] = {"budget": {"name": options["budget"]}}
    if options.get("band_low") is not None or options.get("band_high") is not None:
        fields["band"] = {"low": options.get("band_low"), "high": options.get("band_high")}
    if options.get("class_id") is not None or options.get("department_id") is not None:
        fields["filters"] = {
            k: v
            for k, v in (
                ("class_id", options.get("class_id")),
                ("department_id", options.get("department_id")),
            )
            if v is not None
        }
    return fields


def _definition_file(path: Path) -> dict[str, Any]:
    from qb_pipeline.goals.loader import load_mapping

    data, problems = load_mapping(path)
    if problems or data is None:
        raise _Refused("read", [str(p) for p in problems])
    return data


def _as_option(problem: str) -> str:
    field, sep, message = problem.partition(": ")
    option = OPTION_OF_FIELD.get(field)
    if option is None and field.startswith("tracks."):
        option = "--account/--line"
    return f"{option}: {message}" if sep and option else problem


@goals.command("create")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--as", "actor", required=True, metavar="EMAIL", help=AS_HELP)
@click.option("--id", "goal_id", help="The goal's id (default: made from --name).")
@_definition_options(required=False)
@_user_errors
def create(org_slug: str, actor: str, goal_id: str | None, **options: Any) -> None:
    """Create a goal after checking it against the imported data; print its id.

    Refused, with nothing stored, when the user is not an editor or admin, the organization
    has no QuickBooks connection, the account or line is not in the imported data, or the
    dataset has not been imported yet. --name, --dataset, --grain and one of --account or
    --line (or a --definition file with tracks) are needed.
    """
    from qb_pipeline.goals import editing
    from qb_pipeline.goals.store import GoalStore

    service = _service()
    _member, status = _gate(service, actor, org_slug, CREATE_ACTION, "created")
    fields = _fields_from_options(dict(options))
    missing = [f"--{n}" for n in ("name", "dataset", "grain") if n not in fields]
    if "tracks" not in fields:
        missing.append("--account or --line")
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)}")
    store = GoalStore(service.db)
    taken = {g.goal_id for g in store.list(org_slug)}
    if goal_id is not None and goal_id in taken:
        raise _Refused(
            "created", [f"--id: {goal_id!r} is already a goal of {org_slug}; choose another id"]
        )
    raw = {
        "id": goal_id or editing.goal_id_from_name(str(fields["name"]), taken),
        "organization": org_slug,
        **fields,
    }
    catalog = _catalog(service.config, org_slug, status.realm_id, "created")
    change = _changed(
        "created", editing.create, store, raw, catalog, actor=actor, source="cli",
        realm_id=status.realm_id,
    )  # fmt: skip
    click.echo(change.goal.goal_id)
    click.echo(f"Created goal {change.goal.goal_id!r} of {org_slug} (version 1)", err=True)
    _ask_for_values(service.config, org_slug, change.event_id, actor)


@goals.command("update")
@click.argument("goal_id")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--as", "actor", required=True, metavar="EMAIL", help=AS_HELP)
@click.option("--version", "expected_version", type=int, help="Refuse if the goal moved on.")
@_definition_options(required=False)
@_user_errors
def update(
    goal_id: str, org_slug: str, actor: str, expected_version: int | None, **options: Any
) -> None:
    """Change a goal: the fields given replace the stored ones (a new version)."""
    from qb_pipeline.goals import editing
    from qb_pipeline.goals.store import GoalStore

    service = _service()
    _member, status = _gate(service, actor, org_slug, CHANGE_ACTION, "changed")
    store = GoalStore(service.db)
    current = store.get(org_slug, goal_id)
    fields = _fields_from_options(dict(options))
    if not fields:
        raise click.UsageError("give at least one field to change")
    raw = editing.merged(current.definition, fields)
    catalog = _catalog(service.config, org_slug, status.realm_id, "changed")
    change = _changed(
        "changed", editing.update, store, raw, catalog, actor=actor, source="cli",
        realm_id=status.realm_id, expected_version=expected_version,
    )  # fmt: skip
    if not change.changed:
        click.echo(
            f"goal {goal_id!r} of {org_slug} is already like that (version {current.version})"
        )
        return
    click.echo(f"Changed goal {goal_id!r} of {org_slug} (version {change.goal.version})")
    _ask_for_values(service.config, org_slug, change.event_id, actor)


def _state_command(name: str, verb: str, needs_connection: bool, help_text: str):
    @goals.command(name, help=help_text)
    @click.argument("goal_id")
    @click.option("--org", "org_slug", required=True, help="Organization slug.")
    @click.option("--as", "actor", required=True, metavar="EMAIL", help=AS_HELP)
    @click.option("--version", "expected_version", type=int, help="Refuse if the goal moved on.")
    @_user_errors
    def command(goal_id: str, org_slug: str, actor: str, expected_version: int | None) -> None:
        from qb_pipeline.goals.store import GoalStore

        service = _service()
        _member, status = service.goal_editor(
            actor, org_slug, action=CHANGE_ACTION, needs_connection=needs_connection
        )
        store = GoalStore(service.db)
        method = getattr(store, name)
        kwargs: dict[str, Any] = {
            "actor": actor,
            "source": "cli",
            "expected_version": expected_version,
        }
        if name != "archive":
            kwargs["realm_id"] = status.realm_id
        change = method(org_slug, goal_id, **kwargs)
        if not change.changed:
            click.echo(
                f"goal {goal_id!r} of {org_slug} is {change.goal.state.replace('_', ' ')} already"
            )
            return
        state = change.goal.state.replace("_", " ")
        click.echo(
            f"{verb} goal {goal_id!r} of {org_slug}: now {state} (version {change.goal.version})"
        )
        if change.goal.state_reason:
            click.echo(change.goal.state_reason, err=True)
        _ask_for_values(service.config, org_slug, change.event_id, actor)

    return command


_state_command(
    "archive", "Archived", False, "Archive a goal: no longer computed, its values and history kept."
)
_state_command(
    "restore", "Restored", True, "Restore an archived goal (checked against the connected company)."
)
_state_command(
    "confirm",
    "Confirmed",
    True,
    "Confirm a goal that needs a review after a reconnect to another company.",
)


# -- list and show --------------------------------------------------------------------------


@goals.command("list")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option(
    "--state", type=click.Choice(["active", "archived", "needs_review", "all"]), default="all"
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_user_errors
def list_command(org_slug: str, state: str, as_json: bool) -> None:
    """The organization's goals with their state and latest value."""
    from qb_pipeline.goals import values
    from qb_pipeline.goals.store import GoalStore

    service = _service()
    realm_id = service.status(org_slug).realm_id
    stored = GoalStore(service.db).list(org_slug, None if state == "all" else [state])
    with imported_data(service.config, org_slug) as data:
        latest = values.latest(data.con, org_slug, realm_id) if data.con is not None else {}
    if as_json:
        rows = [{**g.to_dict(), "latest": _latest_dict(latest.get(g.goal_id))} for g in stored]
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not stored:
        click.echo(f"{org_slug} has no goals" + ("" if state == "all" else f" that are {state}"))
        return
    for goal in stored:
        value = latest.get(goal.goal_id)
        shown = (
            f"{value.period_start:%Y-%m}: {_num(value.actual)} of {_num(value.target)} "
            f"{value.status}"
            if value is not None
            else "no values yet"
        )
        file = f"  [{goal.managed_by}]" if goal.managed_by else ""
        click.echo(f"{goal.goal_id:<28} {goal.state:<13} v{goal.version:<3} {shown}{file}")


@goals.command("show")
@click.argument("goal_id")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_user_errors
def show(goal_id: str, org_slug: str, as_json: bool) -> None:
    """One goal: its definition, state, values by period and its versions."""
    import yaml

    from qb_pipeline.goals import values
    from qb_pipeline.goals.store import GoalStore, definition_data

    service = _service()
    realm_id = service.status(org_slug).realm_id
    store = GoalStore(service.db)
    goal = store.get(org_slug, goal_id)
    history = store.history(org_slug, goal_id)
    with imported_data(service.config, org_slug) as data:
        periods = values.periods(data.con, org_slug, realm_id, goal_id) if data.con else []
    if as_json:
        click.echo(json.dumps({
            **goal.to_dict(),
            "periods": [p.to_dict() for p in periods],
            "versions": [v.to_dict() for v in history],
        }, indent=2, default=str))  # fmt: skip
        return
    state = goal.state.replace("_", " ")
    click.echo(f"{goal.goal_id}: {goal.definition.name} ({state}, version {goal.version})")
    if goal.state_reason:
        click.echo(f"  {goal.state_reason}")
    if goal.managed_by:
        click.echo(f"  managed by {goal.managed_by}")
    click.echo(yaml.safe_dump(definition_data(goal.definition), sort_keys=False).rstrip())
    for p in periods:
        click.echo(f"  {p.period_start} {_num(p.actual):>14} {_num(p.target):>14} {p.status}")
    for v in history:
        fields = ", ".join(c.field for c in v.changes)
        changed = f": {fields}" if fields else ""
        click.echo(
            f"  v{v.version} {v.at:%Y-%m-%d %H:%M} {v.change} by {v.actor} ({v.source}){changed}"
        )


# -- goals schema ---------------------------------------------------------------------------


@goals.command("schema")
@_goals_dir_option
@_user_errors
def schema(goals_dir: Path) -> None:
    """Write the goal files' JSON Schema (GOALS_DIR/schema/goal.schema.json) from the model."""
    from qb_pipeline.goals.schema import write_schema

    click.echo(f"Wrote {write_schema(goals_dir)}")


# -- helpers --------------------------------------------------------------------------------


def _service() -> IntegrationService:
    from qb_pipeline.config import load_settings
    from qb_pipeline.connections import IntegrationService

    return IntegrationService(load_settings())


def _gate(service: IntegrationService, actor: str, org: str, action: str, verb: str):
    from qb_pipeline.connections.errors import NotConnected

    try:
        return service.goal_editor(actor, org, action=action)
    except NotConnected as error:
        raise _Refused(verb, [" ".join(str(error).split())]) from None


def _changed(verb: str, change: Any, *args: Any, **kwargs: Any) -> GoalChange:
    """`change(*args, **kwargs)`, its refusal in the options' words."""
    from qb_pipeline.goals.editing import GoalRefused

    try:
        return change(*args, **kwargs)
    except GoalRefused as refused:
        raise _Refused(verb, [_as_option(p) for p in refused.problems]) from None


def _ask_for_values(settings: Settings, org: str, event_id: int | None, actor: str) -> None:
    """Ask Dagster for a goals run; say what happens either way (stderr)."""
    if event_id is None:
        return
    from qb_pipeline.sync.launcher import submit_goals_run

    submission = submit_goals_run(
        settings, org, event_id=event_id, requested_by=actor, trigger="cli"
    )
    if submission.submitted:
        click.echo(
            f"Goals run {submission.run_id} queued: values follow in a few seconds.", err=True
        )
    else:
        click.echo(
            f"{submission.problem}; the Dagster daemon's goal_changes sensor will request the "
            "goals run on its next evaluation.",
            err=True,
        )


def _latest_dict(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "period_start": value.period_start.isoformat(),
        "actual": value.actual,
        "target": value.target,
        "status": value.status,
        "is_stale": value.is_stale,
    }


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


__all__ = ["apply_goal_files", "goals", "imported_data"]
