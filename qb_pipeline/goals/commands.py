"""`qb-pipeline goals ...`: validate goal files, create a goal, publish the JSON Schema.

The group is registered in qb_pipeline/cli.py with `main.add_command(goals)`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

GOALS_DIR_HELP = "Folder of goal definitions (default: ./goal_models, or $QBP_GOALS_DIR)."
AS_HELP = (
    "Act as this user (an editor or admin of the organization). No password is asked: the "
    "CLI trusts the local operator, but the user's role is enforced."
)


def _goals_dir_option(func):  # noqa: ANN001 - click decorator plumbing
    return click.option(
        "--goals-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="QBP_GOALS_DIR",
        default=Path("goal_models"),
        show_default=False,
        help=GOALS_DIR_HELP,
    )(func)


def _user_errors(func):  # noqa: ANN001 - click decorator plumbing
    """Errors a user can cause: their message on stderr, exit status 1, no traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import sqlite3

        import duckdb

        from qb_pipeline.config import ConfigError
        from qb_pipeline.connections.errors import IntegrationError
        from qb_pipeline.goals.cli import GoalRefused

        try:
            return func(*args, **kwargs)
        except GoalRefused as error:
            problems = error.problems
            if len(problems) == 1:
                raise click.ClickException(f"goal not created: {problems[0]}") from None
            listed = "\n".join(f"  {p}" for p in problems)
            raise click.ClickException(f"goal not created:\n{listed}") from None
        except (ConfigError, IntegrationError) as error:
            raise click.ClickException(" ".join(str(error).split())) from None
        except sqlite3.Error as error:
            raise click.ClickException(f"control DB: {error}") from None
        except duckdb.Error as error:
            raise click.ClickException(f"warehouse: {' '.join(str(error).split())}") from None
        except OSError as error:
            raise click.ClickException(" ".join(str(error).split())) from None

    return wrapper


@click.group()
def goals() -> None:
    """QuickBooks Goals: validate definitions, create goals, publish the schema."""


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
    from qb_pipeline.goals.cli import validate_command

    report, lines = validate_command(list(paths) or [goals_dir], load_settings())
    for line in lines[:-1]:
        click.echo(line, err=True)
    click.echo(lines[-1])
    if report.errors:
        raise SystemExit(1)


@goals.command("create")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--as", "actor", required=True, metavar="EMAIL", help=AS_HELP)
@click.option("--name", required=True, help="The goal's display name.")
@click.option(
    "--dataset",
    type=click.Choice(["profit_and_loss", "balance_sheet", "cash_flow"]),
    required=True,
)
@click.option("--account", metavar="ACCOUNT_ID", help="Track this QuickBooks account (its Id).")
@click.option("--with-subaccounts", is_flag=True, help="With --account: add its sub-accounts.")
@click.option("--line", metavar="GROUP", help="Track this report line, e.g. Income, NetIncome.")
@click.option("--grain", type=click.Choice(["month", "quarter", "year"]), required=True)
@click.option(
    "--window",
    type=click.Choice(["period", "fiscal_ytd", "trailing_12_months"]),
    default="period",
    show_default=True,
)
@click.option(
    "--basis", type=click.Choice(["accrual", "cash"]), default="accrual", show_default=True
)
@click.option("--target", type=float, help="The target of every period.")
@click.option(
    "--direction",
    type=click.Choice(["increase", "decrease", "maintain"]),
    default="increase",
    show_default=True,
)
@click.option("--band-low", type=float, help="maintain: lowest on-track value.")
@click.option("--band-high", type=float, help="maintain: highest on-track value.")
@click.option("--tolerance-pct", type=float, help="maintain: band = target ± this % of it.")
@click.option(
    "--at-risk-pct",
    type=float,
    default=10.0,
    show_default=True,
    help="How far (in % of the target) a miss is still at_risk.",
)
@click.option("--class", "class_id", metavar="CLASS_ID", help="Only amounts of this class.")
@click.option(
    "--department", "department_id", metavar="DEPARTMENT_ID", help="Only this department."
)
@click.option("--id", "goal_id", help="The goal's id (default: made from --name).")
@click.option("--description", help="A longer description.")
@_goals_dir_option
@_user_errors
def create(
    org_slug: str,
    actor: str,
    name: str,
    dataset: str,
    account: str | None,
    with_subaccounts: bool,
    line: str | None,
    grain: str,
    window: str,
    basis: str,
    target: float | None,
    direction: str,
    band_low: float | None,
    band_high: float | None,
    tolerance_pct: float | None,
    at_risk_pct: float,
    class_id: str | None,
    department_id: str | None,
    goal_id: str | None,
    description: str | None,
    goals_dir: Path,
) -> None:
    """Create a goal in GOALS_DIR/ORG/ID.yaml after checking it; print its id.

    Refused, with nothing written, when the organization has no QuickBooks connection, the
    user is not an editor or admin, the account or line is not in the imported data, or the
    dataset has not been imported yet.
    """
    from qb_pipeline.config import load_settings
    from qb_pipeline.connections import IntegrationService
    from qb_pipeline.goals.cli import CreateRequest, create_goal

    if (account is None) == (line is None):
        raise click.UsageError("give exactly one of --account ACCOUNT_ID or --line GROUP")
    if with_subaccounts and account is None:
        raise click.UsageError("--with-subaccounts goes with --account")
    request = CreateRequest(
        org=org_slug,
        actor=actor,
        name=name,
        dataset=dataset,
        grain=grain,
        account=account,
        with_subaccounts=with_subaccounts,
        line=line,
        goal_id=goal_id,
        description=description,
        window=window,
        basis=basis,
        target=target,
        direction=direction,
        band_low=band_low,
        band_high=band_high,
        tolerance_pct=tolerance_pct,
        at_risk_pct=at_risk_pct,
        class_id=class_id,
        department_id=department_id,
    )
    created = create_goal(request, IntegrationService(load_settings()), goals_dir)
    click.echo(created.goal.id)
    click.echo(f"Created goal {created.goal.id!r} in {created.path}", err=True)


@goals.command("schema")
@_goals_dir_option
@_user_errors
def schema(goals_dir: Path) -> None:
    """Write the goal files' JSON Schema (GOALS_DIR/schema/goal.schema.json) from the model."""
    from qb_pipeline.goals.schema import write_schema

    click.echo(f"Wrote {write_schema(goals_dir)}")


__all__ = ["goals"]
