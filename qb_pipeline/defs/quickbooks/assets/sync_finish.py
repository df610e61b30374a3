"""The end of a sync: the datasets and connection statuses, then the serving copy, then
`succeeded`.

Once every staging model and mart of the organization is built (the qbo/connection_status step),
the datasets now available to the company are recorded with their row counts and the
organization's connection is copied into `qbo.connection_status` (its own warehouse holds no
other organization's row: docs/decisions.md); the sync's entry stays
`running`. The last step publishes the warehouse to the read-only serving copy: it writes this
sync into `qbo.connection_status` as it is about to be recorded (succeeded, at the moment of
publication), replaces the serving copy, and only then records the sync as `succeeded` in the
control DB, so the sync log never says succeeded before BI tools can see the data. If the
publication fails, the sync is recorded `partial` (the data is imported, BI tools still see the
previous copy), and so is it in `qbo.connection_status`. On a Postgres warehouse
(QBP_WAREHOUSE_URL) there is no copy: BI roles read the organization's marts schema itself
(warehouse/bi_roles.py), so publishing is writing the connection status and recording the
sync.
Killed between the publication and that record, the run is found abandoned and recorded failed
("interrupted"); the next sync publishes again.
"""

import dataclasses
import resource
from datetime import datetime
from typing import Any

import duckdb
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue

from qb_pipeline.connections import ConnectionStatus, IntegrationService, sync_log
from qb_pipeline.defs.keys import CONNECTION_STATUS, SERVING_WAREHOUSE
from qb_pipeline.defs.quickbooks.assets.translator import RAW_SCHEMA
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.defs.step_failures import failures_recorded
from qb_pipeline.warehouse import write_connection_status
from qb_pipeline.warehouse.dialect import qualified_sql
from qb_pipeline.warehouse.org_warehouse import open_org_warehouse, raw_schema
from qb_pipeline.warehouse.postgres import WarehouseUnreachable
from qb_pipeline.warehouse.publish import publish, remove_leftovers
from qb_pipeline.warehouse.transform import Connection, schemas_of
from qb_pipeline.warehouse.writer import WarehouseBusy, open_writer

CONNECTION_STATUS_MODEL = "qbo.connection_status"

# Report datasets, as goals name them (design: `profit_and_loss`, `balance_sheet`, ...).
REPORT_DATASETS = {
    "ProfitAndLoss": "profit_and_loss",
    "BalanceSheet": "balance_sheet",
    "CashFlow": "cash_flow",
}

# Entity tables of the raw schema (child tables `x__y` and dlt's own `_dlt_*` left out).
RAW_ENTITY_TABLES = """
SELECT table_name
FROM information_schema.tables
WHERE table_schema = ?
    AND table_type = 'BASE TABLE'
    AND table_name NOT LIKE '%\\_\\_%' ESCAPE '\\'
    AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\'
    AND table_name <> 'report_lines'
ORDER BY table_name
"""

COUNT_COMPANY_ROWS = 'SELECT count(*) FROM "{schema}"."{table}" WHERE org_id = ? AND realm_id = ?'

COUNT_REPORT_LINES = """
SELECT report_name, count(*) AS lines
FROM qbo.report_lines
WHERE org_id = ? AND realm_id = ?
GROUP BY report_name
"""


def dataset_counts(connection: Connection, org: str, realm_id: str) -> dict[str, int]:
    """Rows per dataset of one company: each entity table, and each report's lines."""
    counts: dict[str, int] = {}
    schema = raw_schema(connection, RAW_SCHEMA)
    for (table,) in connection.execute(RAW_ENTITY_TABLES, [schema]).fetchall():
        query = COUNT_COMPANY_ROWS.format(schema=schema, table=table)
        counts[table] = connection.execute(query, [org, realm_id]).fetchone()[0]
    report_lines = qualified_sql(COUNT_REPORT_LINES, schemas_of(connection))
    for report, lines in connection.execute(report_lines, [org, realm_id]).fetchall():
        counts[REPORT_DATASETS.get(report, report)] = lines
    return counts


def finish_sync(
    context: AssetExecutionContext,
    service: IntegrationService,
    connection: Connection,
) -> dict[str, Any]:
    """Record the datasets of this run's sync and refresh `qbo.connection_status` (the
    warehouse `connection` is open for writing); the sync is recorded as succeeded here only
    when the run publishes no serving copy. Returns materialization metadata."""
    metadata: dict[str, Any] = {}
    entry = sync_log.current_entry(context)
    if entry is not None:
        rows, requests = sync_log.entry_figures(context, service, entry)
        datasets = dataset_counts(connection, entry.org_slug, entry.realm_id)
        service.record_datasets(entry.org_slug, entry.realm_id, datasets)
        if sync_log.closes_here(context, CONNECTION_STATUS):
            sync_log.close_entry(service, entry, "succeeded", rows=rows, requests=requests)
            _log_success(context, entry, rows, requests)
        metadata = {
            "qbo/rows_loaded": MetadataValue.int(sum(rows.values())),
            "qbo/requests": MetadataValue.int(requests or 0),
            "qbo/datasets": MetadataValue.json(datasets),
        }
    written = write_connection_status(connection, [service.status(context.partition_key)])
    metadata["qbo/connections_written"] = MetadataValue.int(written)
    return metadata


def _log_success(
    context: AssetExecutionContext,
    entry: sync_log.SyncEntry,
    rows: dict[str, int],
    requests: int | None,
) -> float:
    seconds = (sync_log.utcnow() - entry.started_at).total_seconds()
    context.log.info(
        f"Sync of {entry.org_slug} succeeded: {sum(rows.values()):,} rows loaded, "
        f"{requests or 0:,} requests, {seconds:.1f} s"
    )
    return seconds


def shown_as(
    statuses: list[ConnectionStatus],
    entry: sync_log.SyncEntry,
    outcome: str,
    finished_at: datetime,
) -> list[ConnectionStatus]:
    """The statuses with this sync's entry shown as `outcome` (succeeded or partial) at
    `finished_at`: what the control DB says once the publication succeeded or failed."""
    shown = []
    for status in statuses:
        last = status.last_sync
        if status.org_slug == entry.org_slug and last is not None and last.id == entry.id:
            done = dataclasses.replace(last, status=outcome, finished_at=finished_at)
            status = dataclasses.replace(status, last_sync=done, last_success=done)
        shown.append(status)
    return shown


def process_figures() -> dict[str, Any]:
    """CPU seconds and peak memory of the process that ran the run so far (a run worker of
    the queue runs one run, so these are the run's own; bench/orgs_bench.py sums them)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "qbp/process_cpu_seconds": MetadataValue.float(round(usage.ru_utime + usage.ru_stime, 3)),
        "qbp/process_peak_rss_mb": MetadataValue.float(round(usage.ru_maxrss / 1024, 1)),
    }


def publish_serving(
    context: AssetExecutionContext, quickbooks: QuickBooksIntegration
) -> MaterializeResult:
    """Replace the serving copy with the warehouse as it is now, then record this run's sync
    as succeeded (see the module's docstring)."""
    org = context.partition_key
    settings = quickbooks.settings()
    service = IntegrationService(settings)
    entry = sync_log.current_entry(context)
    closing = entry is not None and sync_log.closes_here(context, SERVING_WAREHOUSE)
    if settings.warehouse_url is not None:
        return _publish_on_postgres(context, quickbooks, service, entry if closing else None)
    warehouse, serving = settings.warehouse_path(org), settings.serving_path(org)
    with (
        failures_recorded(
            context, service, status="partial", expected=(WarehouseBusy, OSError, duckdb.Error)
        ),
        open_writer(warehouse, quickbooks.lock_wait_seconds, serving) as writer,
    ):
        finished_at = sync_log.utcnow()
        statuses = [service.status(org)]
        if closing:
            write_connection_status(writer, shown_as(statuses, entry, "succeeded", finished_at))
        try:
            remove_leftovers(serving)
            published = publish(writer, warehouse, serving)
        except Exception:
            if closing:  # as failures_recorded is about to record it
                shown = shown_as(statuses, entry, "partial", sync_log.utcnow())
                write_connection_status(writer, shown)
            raise
    context.log.info(
        f"Published {published.path} ({published.size_bytes / 1e6:.1f} MB) in "
        f"{published.seconds:.2f} s; BI tools open it read-only"
    )
    metadata: dict[str, Any] = {
        "path": MetadataValue.path(str(published.path)),
        "size_bytes": MetadataValue.int(published.size_bytes),
        "tables_by_schema": MetadataValue.json(published.tables_by_schema),
        "seconds": MetadataValue.float(round(published.seconds, 3)),
        "published_at": MetadataValue.timestamp(published.published_at),
        **process_figures(),
    }
    if closing:
        metadata.update(_close_as_succeeded(context, service, entry, finished_at))
    return MaterializeResult(metadata=metadata)


def _publish_on_postgres(
    context: AssetExecutionContext,
    quickbooks: QuickBooksIntegration,
    service: IntegrationService,
    entry: sync_log.SyncEntry | None,
) -> MaterializeResult:
    """The serving step on a Postgres warehouse: BI roles read the organization's marts
    schema itself, which the marts steps already replaced in their transactions; what is left
    is the connection status (this sync as succeeded, `entry`: the sync this step closes) and
    the sync's record."""
    org = context.partition_key
    with (
        failures_recorded(context, service, status="partial", expected=(WarehouseUnreachable,)),
        open_org_warehouse(quickbooks.settings(), org, quickbooks.lock_wait_seconds) as writer,
    ):
        finished_at = sync_log.utcnow()
        statuses = [service.status(org)]
        if entry is not None:
            statuses = shown_as(statuses, entry, "succeeded", finished_at)
        write_connection_status(writer, statuses)
        schema = schemas_of(writer)["marts"]
    context.log.info(f"Published: BI roles read schema {schema} (qb-pipeline warehouse bi-role)")
    metadata: dict[str, Any] = {
        "schema": MetadataValue.text(schema),
        "published_at": MetadataValue.timestamp(finished_at),
        **process_figures(),
    }
    if entry is not None:
        metadata.update(_close_as_succeeded(context, service, entry, finished_at))
    return MaterializeResult(metadata=metadata)


def _close_as_succeeded(
    context: AssetExecutionContext,
    service: IntegrationService,
    entry: sync_log.SyncEntry,
    finished_at: datetime,
) -> dict[str, Any]:
    """Record the sync `entry` as succeeded with its figures; the metadata that says so."""
    rows, requests = sync_log.entry_figures(context, service, entry)
    sync_log.close_entry(
        service, entry, "succeeded", rows=rows, requests=requests, finished_at=finished_at
    )
    seconds = _log_success(context, entry, rows, requests)
    return {"qbo/sync_seconds": MetadataValue.float(round(seconds, 3))}
