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


@warehouse.command("catalog")
def warehouse_catalog() -> None:
    """Write $QBP_HOME/catalog.sql: every organization's serving copy attached read-only,
    the marts of all of them as union views (for the operator, never for a tenant's BI)."""
    from qb_pipeline.config import load_settings
    from qb_pipeline.warehouse.catalog import write_catalog

    path, organizations = write_catalog(load_settings())
    click.echo(f"Wrote {path} ({organizations} organization(s)); open it with:")
    click.echo(f"  duckdb -readonly -init {path}")


# --- organizations, users and the QuickBooks connection -------------------------------------
