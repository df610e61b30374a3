"""What the commands share: the emulator's options, `--today`, `--as`, one-line errors and the
integration service, imported lazily so `qb-pipeline --help` stays fast."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from qb_pipeline.connections import IntegrationService

# A command's function, before or after click's decorators.
Command = Callable[..., Any]


def parse_today(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


EMULATOR_OPTIONS = [
    click.option(
        "--seed", type=int, default=1, show_default=True, help="Seed of the generated companies."
    ),
    click.option(
        "--size",
        type=click.Choice(["small", "medium", "large"]),
        default="small",
        show_default=True,
        help="Business volume of the demo company.",
    ),
    click.option(
        "--today",
        callback=parse_today,
        metavar="YYYY-MM-DD",
        help="The emulator's today (default: the real date).",
    ),
]


def with_emulator_options(func: Command) -> Command:
    """Add the emulator's --seed, --size and --today to a command."""
    for option in reversed(EMULATOR_OPTIONS):
        func = option(func)
    return func


# These commands go through IntegrationService, the same code paths as the web app. `--as`
# names the user to act as, without a password: the CLI trusts the local operator (who can
# read QBP_HOME anyway), but that user's role in the organization is still enforced.


AS_HELP = (
    "Act as this user (who must be an admin). No password is asked: the CLI trusts the "
    "local operator, but the user's role is enforced."
)


def one_line_errors(func: Command) -> Command:
    """Turn the errors a user can cause into one line on stderr and exit status 1."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from qb_pipeline.config import ConfigError
        from qb_pipeline.connections.db import DATABASE_ERRORS
        from qb_pipeline.connections.errors import IntegrationError

        try:
            return func(*args, **kwargs)
        except (ConfigError, IntegrationError) as error:
            raise click.ClickException(" ".join(str(error).split())) from None
        except DATABASE_ERRORS as error:
            raise click.ClickException(f"control DB: {error}") from None
        except OSError as error:
            raise click.ClickException(" ".join(str(error).split())) from None

    return wrapper


def integration_service() -> IntegrationService:
    """The service on the environment's settings (imported here, so `--help` stays fast)."""
    from qb_pipeline.config import load_settings
    from qb_pipeline.connections import IntegrationService

    return IntegrationService(load_settings())
