"""`qb-pipeline sandbox serve` and `qb-pipeline demo`: the bundled emulator, alone or with the
README's main job played on it."""

from __future__ import annotations

from datetime import date

import click

from qb_pipeline.cli.options import with_emulator_options


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
    from qb_pipeline.sandbox import EmulatorSettings, serve_forever

    settings = EmulatorSettings(
        seed=seed,
        size=size,
        today=today,
        limits_enabled=limits == "on",
        strict_rotation=strict_rotation,
    )
    click.echo(f"QuickBooks Online emulator on http://{host}:{port} (seed {seed}, size {size})")
    serve_forever(settings, host, port)


@click.command()
@with_emulator_options
@click.option("--keep-running", is_flag=True, help="Keep serving the emulator after the summary.")
def demo(seed: int, size: str, today: date | None, keep_running: bool) -> None:
    """Run the main job on the embedded default and show its results."""
    from qb_pipeline.demo import run_demo

    run_demo(seed=seed, size=size, today=today, keep_running=keep_running)
