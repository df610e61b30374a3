"""One Dagster asset per SQL model of the warehouse (qb_pipeline/warehouse/sql).

`qbo.<name>` becomes `qbo/<name>` (group quickbooks_staging), `marts.<name>` becomes
`marts/<name>` (group marts). A model's header gives the asset its description, its upstream
assets (`depends_on`) and its columns; each materialization adds the organization's row count
and the column types the warehouse (DuckDB or Postgres) reports. `qbo.connection_status` is
not built from SQL alone: its step closes the sync in the control DB and copies the
organization's connection into it (sync_finish.py).
"""

from collections.abc import Callable, Iterator

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from qb_pipeline.connections import IntegrationService
from qb_pipeline.defs.keys import MARTS_GROUP, STAGING_GROUP
from qb_pipeline.defs.partitions import organizations
from qb_pipeline.defs.quickbooks.assets.sync_finish import CONNECTION_STATUS_MODEL, finish_sync
from qb_pipeline.defs.quickbooks.assets.translator import COLUMN_SCHEMA, TABLE_NAME
from qb_pipeline.defs.resources import OrganizationWriter, QuickBooksIntegration
from qb_pipeline.defs.step_failures import failures_recorded
from qb_pipeline.warehouse import (
    SqlModel,
    WarehouseNotReady,
    load_models,
    model_row_count,
    run_model,
)
from qb_pipeline.warehouse.org_warehouse import column_types, open_org_warehouse
from qb_pipeline.warehouse.postgres import WarehouseUnreachable
from qb_pipeline.warehouse.writer import WarehouseBusy

GROUPS = {"staging": STAGING_GROUP, "marts": MARTS_GROUP}


def model_key(name: str) -> AssetKey:
    """`qbo.pnl_monthly` -> `qbo/pnl_monthly` (raw tables too: `qbo_raw.account`)."""
    return AssetKey(name.split("."))


def dependency_key(name: str) -> AssetKey:
    """The asset a model's dependency is: a raw child table (`qbo_raw.budget__budget_detail`)
    is loaded by its root table's asset (`qbo_raw/budget`)."""
    layer, table = name.split(".", 1)
    if layer == "qbo_raw":
        return AssetKey([layer, table.split("__", 1)[0]])
    return model_key(name)


def documented_columns(model: SqlModel, types: dict[str, str] | None = None) -> TableSchema:
    """The model's columns with their header descriptions (and types once known)."""
    types = types or {}
    return TableSchema(
        columns=[
            TableColumn(name=name, type=types.get(name, "unknown"), description=text)
            for name, text in model.columns.items()
        ]
    )


def build_model_asset(model: SqlModel, extra_deps: tuple[AssetKey, ...] = ()) -> AssetsDefinition:
    """The asset that (re)creates `model` in the warehouse."""
    finishing = model.name == CONNECTION_STATUS_MODEL

    @asset(
        key=model_key(model.name),
        group_name=GROUPS[model.layer],
        description=model.description,
        deps=[*dict.fromkeys(dependency_key(d) for d in model.depends_on), *extra_deps],
        partitions_def=organizations,
        kinds={"duckdb", "sql"},
        metadata={
            TABLE_NAME: model.name,
            COLUMN_SCHEMA: documented_columns(model),
            "qbo/sql_file": MetadataValue.path(str(model.path)),
            "qbo/materialized": model.materialized,
        },
    )
    def _model_asset(
        context: AssetExecutionContext,
        quickbooks: QuickBooksIntegration,
        org_writer: OrganizationWriter,
    ) -> Iterator[MaterializeResult]:
        # `org_writer` holds the organization's writer lock for the whole run (resources.py).
        yield run_model_step(context, quickbooks, model, finish_sync if finishing else None)

    return _model_asset


def run_model_step(
    context: AssetExecutionContext,
    quickbooks: QuickBooksIntegration,
    model: SqlModel,
    before: Callable | None = None,
) -> MaterializeResult:
    """Build one model for the partition's organization; any failure is recorded in the
    control DB's sync log and stops the run with its message."""
    settings = quickbooks.settings()
    service = IntegrationService(settings)
    org = context.partition_key
    expected = (WarehouseBusy, WarehouseNotReady, WarehouseUnreachable)
    with (
        failures_recorded(context, service, expected=expected),
        open_org_warehouse(settings, org, quickbooks.lock_wait_seconds) as connection,
    ):
        extra = before(context, service, connection) if before is not None else {}
        built = run_model(connection, model)
        rows = model_row_count(connection, model, org) if built else 0
        types = column_types(connection, model.name) if built else {}
    if built:
        context.log.info(f"{model.name}: {rows:,} rows of {org}")
    else:  # an optional model: the company has no such data (e.g. no budget) yet
        context.log.info(f"{model.name}: not built: {org} has no {', '.join(model.depends_on)} yet")
    return MaterializeResult(
        metadata={
            "dagster/partition_row_count": MetadataValue.int(rows),
            COLUMN_SCHEMA: documented_columns(model, types),
            **extra,
        }
    )


def build_model_assets() -> list[AssetsDefinition]:
    """Every SQL model as an asset. `qbo/connection_status` also waits for every other model,
    so the sync is closed in the control DB only once all of them are built."""
    models = load_models()
    others = tuple(
        model_key(m.name)
        for m in models
        if m.name != CONNECTION_STATUS_MODEL and CONNECTION_STATUS_MODEL not in m.depends_on
    )
    return [
        build_model_asset(m, others if m.name == CONNECTION_STATUS_MODEL else ()) for m in models
    ]
