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
    the marts of all of them as union views (for the operator, never for a tenant's BI).
    On a Postgres warehouse (QBP_WAREHOUSE_URL): rebuild its schema qbp_operator, a union
    view per mart over every organization's marts schema, granted to no one."""
    from qb_pipeline.config import load_settings, redacted_url
    from qb_pipeline.warehouse.catalog import write_catalog

    settings = load_settings()
    if settings.warehouse_url is not None:
        from qb_pipeline.warehouse.postgres_catalog import OPERATOR_SCHEMA, catalog_views

        organizations, views = catalog_views(settings.warehouse_url)
        click.echo(
            f"Rebuilt schema {OPERATOR_SCHEMA} of {redacted_url(settings.warehouse_url)}: "
            f"{views} view(s) over {organizations} organization(s); run it again after a "
            "new organization's first sync"
        )
        return
    path, organizations = write_catalog(settings)
    click.echo(f"Wrote {path} ({organizations} organization(s)); open it with:")
    click.echo(f"  duckdb -readonly -init {path}")


@warehouse.command("bi-role")
@click.argument("org")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the role's password from stdin (one line) instead of generating one.",
)
def warehouse_bi_role(org: str, password_stdin: bool) -> None:
    """Create (or give a new password to) ORG's BI login on the Postgres warehouse
    (QBP_WAREHOUSE_URL): it reads ORG's marts schema and nothing else. A generated password
    is shown once, here."""
    import sys

    import psycopg2

    from qb_pipeline.config import ConfigError, load_settings
    from qb_pipeline.warehouse.bi_roles import grant_bi_role
    from qb_pipeline.warehouse.dialect import UnfitOrganizationName
    from qb_pipeline.warehouse.postgres import WarehouseUnreachable

    try:
        settings = load_settings()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if settings.warehouse_url is None:
        raise click.ClickException(
            "BI roles are for a Postgres warehouse (set QBP_WAREHOUSE_URL); on DuckDB an "
            f"organization's BI users get its serving copy {settings.serving_dir}/<org>.duckdb"
        )
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on stdin")
    try:
        role = grant_bi_role(settings.warehouse_url, org, password)
    except (ValueError, UnfitOrganizationName, WarehouseUnreachable) as error:
        raise click.ClickException(" ".join(str(error).split())) from None
    except psycopg2.Error as error:  # e.g. the URL's user may not create roles
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise click.ClickException(f"warehouse: {first}") from None
    click.echo(f"BI role {role.role}: reads schema {role.schema} only (its search_path).")
    click.echo(f"  host {role.host}, port {role.port}, database {role.database}")
    if password is None:
        click.echo(f"  password: {role.password}")
        click.echo("  (shown this once; run the command again for a new one)")
