"""`qb-pipeline warehouse ...`: the DuckDB warehouse BI tools read."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def warehouse() -> None:
    """The DuckDB warehouse BI tools read."""


@warehouse.command("reference")
@click.option(
    "--write",
    "target",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Replace the generated part of this page (docs/warehouse.md) instead of printing it.",
)
def warehouse_reference(target: Path | None) -> None:
    """Every mart and its columns, generated from the SQL (the reference of docs/warehouse.md)."""
    from qb_pipeline.goals.compute import documented_views
    from qb_pipeline.warehouse.reference import generated_block, views, write_reference

    extra = views(documented_views())
    if target is None:
        click.echo(generated_block(extra))
        return
    changed = write_reference(target, extra)
    click.echo(f"{'Updated' if changed else 'Unchanged:'} {target}")


# --- organizations, users and the QuickBooks connection -------------------------------------
