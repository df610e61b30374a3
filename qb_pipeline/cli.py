"""The `qb-pipeline` command line."""

from __future__ import annotations

import os
from datetime import date

import click

# Telemetry stays off for every entry point, tests and CI included.
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def _parse_today(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


emulator_options = [
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
        callback=_parse_today,
        metavar="YYYY-MM-DD",
        help="The emulator's today (default: the real date).",
    ),
]


def _with_emulator_options(func):  # noqa: ANN001 - click decorator plumbing
    for option in reversed(emulator_options):
        func = option(func)
    return func


@click.group()
@click.version_option(package_name="qb-pipeline")
def main() -> None:
    """qb-goals: QuickBooks Online goal tracking on Dagster + dlt + DuckDB."""


@main.group()
def sandbox() -> None:
    """The bundled QuickBooks Online emulator."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@_with_emulator_options
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
def sandbox_serve(
    host: str,
    port: int,
    seed: int,
    size: str,
    today: date | None,
    limits: str,
    strict_rotation: bool,
) -> None:
    """Serve the emulator until interrupted."""
    from qb_pipeline.sandbox.server import serve_forever
    from qb_pipeline.sandbox.state import EmulatorSettings

    settings = EmulatorSettings(
        seed=seed,
        size=size,
        today=today,
        limits_enabled=limits == "on",
        strict_rotation=strict_rotation,
    )
    click.echo(f"QuickBooks Online emulator on http://{host}:{port} (seed {seed}, size {size})")
    serve_forever(settings, host, port)


@main.command()
@_with_emulator_options
@click.option("--keep-running", is_flag=True, help="Keep serving the emulator after the summary.")
def demo(seed: int, size: str, today: date | None, keep_running: bool) -> None:
    """Run the main job on the embedded default and show its results."""
    from qb_pipeline.demo import run_demo

    run_demo(seed=seed, size=size, today=today, keep_running=keep_running)
