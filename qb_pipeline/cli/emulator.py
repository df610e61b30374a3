"""`qb-pipeline sandbox serve` and `qb-pipeline demo`: the bundled emulator, alone or with the
README's main job played on it."""

from __future__ import annotations

from datetime import date

import click

from qb_pipeline.cli.options import with_emulator_options

MAX_LOAD_TEST_COMPANIES = 1000  # the emulator's LOAD_TEST_MAX (not imported: --help stays fast)


class CompanyCount(click.ParamType):
    """How many load-test companies: a whole number from 0 to 1000."""

    name = "N"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            count = value
        else:
            text = str(value).strip()
            count = int(text) if text.isascii() and text.isdigit() else -1
        if not 0 <= count <= MAX_LOAD_TEST_COMPANIES:
            self.fail(
                f"{value!r} is not a whole number from 0 to {MAX_LOAD_TEST_COMPANIES}", param, ctx
            )
        return count


@click.group()
def sandbox() -> None:
    """The bundled QuickBooks Online emulator."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@with_emulator_options
@click.option(
    "--limits",
    type=click.Choice(["on", "off"]),
    default="on",
    show_default=True,
    help="Enforce QBO's per-realm rate limits.",
)
@click.option(
    "--strict-rotation",
    is_flag=True,
    help="Every refresh issues a new refresh token and the previous one fails at once.",
)
@click.option(
    "--companies",
    type=CompanyCount(),
    default=0,
    help="Also serve N small load-test companies (0 to 1000), after the usual ones.",
)
def sandbox_serve(
    host: str,
    port: int,
    seed: int,
    size: str,
    today: date | None,
    limits: str,
    strict_rotation: bool,
    companies: int,
) -> None:
    """Serve the emulator until interrupted."""
    from qb_pipeline.sandbox import EmulatorSettings, serve_forever

    settings = EmulatorSettings(
        seed=seed,
        size=size,
        today=today,
        limits_enabled=limits == "on",
        strict_rotation=strict_rotation,
        companies=companies,
    )
    extra = f", {companies} load-test companies" if companies else ""
    click.echo(
        f"QuickBooks Online emulator on http://{host}:{port} (seed {seed}, size {size}{extra})"
    )
    serve_forever(settings, host, port)


@click.command()
@with_emulator_options
@click.option("--keep-running", is_flag=True, help="Keep serving the emulator after the summary.")
def demo(seed: int, size: str, today: date | None, keep_running: bool) -> None:
    """Run the main job on the embedded default and show its results."""
    from qb_pipeline.demo import run_demo

    run_demo(seed=seed, size=size, today=today, keep_running=keep_running)
