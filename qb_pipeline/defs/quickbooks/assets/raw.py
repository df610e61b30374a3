"""The raw step of a sync: check the connection and the warehouse, then run the dlt source.

Nothing is asked of QuickBooks and nothing is written before both checks pass: a sync of an
organization that is disconnected (or must reauthorize) stops with a message that says so,
and so does one whose warehouse another process holds; both are recorded in the sync log.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import dlt
import duckdb
from dagster import (
    AssetExecutionContext,
    AssetKey,
    DagsterExecutionInterruptedError,
    Failure,
    MaterializeResult,
    MetadataValue,
)
from dagster_dlt import DagsterDltResource
from dlt.extract.source import DltSource
from dlt.pipeline.exceptions import PipelineStepFailed

from qb_pipeline.connections import (
    IntegrationError,
    IntegrationService,
    NotConnected,
    ReauthorizationRequired,
    sync_log,
)
from qb_pipeline.defs.abandoned_runs import close_abandoned_entry
from qb_pipeline.defs.quickbooks.assets.translator import RAW_SCHEMA, raw_asset_key, raw_table_name
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.quickbooks import QuickBooksClient, QuickBooksError
from qb_pipeline.sources.quickbooks import quickbooks_source, sync_session
from qb_pipeline.sync.client import client_for_org
from qb_pipeline.sync.dagster_log import forward_progress
from qb_pipeline.sync.no_space import no_space_message
from qb_pipeline.sync.passes import load_passes, reports_sent_ahead
from qb_pipeline.sync.pipeline import loader_file_format, pipeline_for_org
from qb_pipeline.warehouse.org_warehouse import open_org_warehouse, raw_schema, warehouse_location
from qb_pipeline.warehouse.postgres import PostgresWarehouse, WarehouseUnreachable
from qb_pipeline.warehouse.writer import (
    WarehouseBusy,
    current_holder,
    wait_until_writable,
)

NOTHING_CHANGED = "The sync stopped before any request to QuickBooks; no data changed."

INTERRUPTIONS = (KeyboardInterrupt, DagsterExecutionInterruptedError)

COUNT_COMPANY_ROWS = 'SELECT count(*) FROM "{schema}"."{table}" WHERE org_id = ? AND realm_id = ?'


def load_raw(
    context: AssetExecutionContext, dlt: DagsterDltResource, quickbooks: QuickBooksIntegration
) -> Iterator[MaterializeResult]:
    """Load the organization's QuickBooks data into `qbo_raw` (the partition's rows only)."""
    org = context.partition_key
    settings = quickbooks.settings()
    service = IntegrationService(settings)
    client = _client_or_stop(service, org)
    with client:
        _warehouse_free_or_stop(context, quickbooks, service, org, client.realm_id)
        started_at = sync_log.utcnow()
        close_abandoned_entry(context.instance, service, org, context.run.run_id)
        entry = sync_log.open_entry(context, service, org, client.realm_id, started_at)
        began = time.monotonic()
        try:
            history_years = service.settings(org).history_years
            today = quickbooks.sync_date()
            session = sync_session(client, org, client.realm_id, today=today)
            source = quickbooks_source(
                client=client,
                org_id=org,
                realm_id=client.realm_id,
                history_years=history_years,
                today=today,
                session=session,
            )
            pipeline = pipeline_for_org(org, settings, realm_id=client.realm_id)
            context.log.info(
                f"Importing {org} (QuickBooks company {client.realm_id}) with dlt pipeline "
                f"{pipeline.pipeline_name} into {warehouse_location(settings, org)}"
            )
            # The entities, then the reports, whose requests go out while the entities load
            # (sources/quickbooks/loads.py).
            passes = load_passes(source, _selected_resources(context, source))
            results: list[MaterializeResult] = []
            rows_loaded: Counter[str] = Counter()
            stages: Counter[str] = Counter()
            with (
                forward_progress(context.log),
                reports_sent_ahead(pipeline, session, history_years, passes),
            ):
                for part in passes:
                    results += dlt.run(
                        context=context,
                        dlt_source=part,
                        dlt_pipeline=pipeline,
                        loader_file_format=loader_file_format(settings),
                    )
                    # Child tables (invoice__line, ...) included: the sync log's rows.
                    rows_loaded.update(_rows_loaded(pipeline))
                    stages.update(_stage_seconds(pipeline))
        except BaseException as raised:
            error = _root_cause(raised)
            no_room = no_space_message(raised, settings.home)
            message = no_room or _failure_message(
                error,
                None if settings.warehouse_on_postgres else settings.warehouse_path(org),
                settings.serving_path(org),
            )
            sync_log.close_entry(
                service,
                entry,
                "cancelled" if isinstance(error, INTERRUPTIONS) else "failed",
                message,
                requests=client.requests_made,
            )
            if no_room or isinstance(error, QuickBooksError | IntegrationError | WarehouseBusy):
                raise Failure(description=message, allow_retries=False) from raised
            if isinstance(raised, PipelineStepFailed) and not isinstance(error, INTERRUPTIONS):
                # dlt's message is its inner error's traceback and advice for its own CLI.
                raise Failure(description=message, allow_retries=False) from raised
            raise
        seconds = time.monotonic() - began
        requests = client.requests_made
    tables = [result.asset_key.path[-1] for result in results]
    counts = _company_row_counts(quickbooks, org, client.realm_id, tables)
    # The sync is closed once the serving copy is published (sync_log.closes_here); a run
    # that loads raw tables alone (a selection in the UI) closes it here.
    status = "succeeded" if sync_log.closes_here(context, AssetKey([RAW_SCHEMA])) else "running"
    sync_log.close_entry(service, entry, status, rows=dict(rows_loaded), requests=requests)
    context.log.info(
        f"Loaded {sum(rows_loaded.values()):,} rows into {len(rows_loaded)} tables with "
        f"{requests:,} QuickBooks requests in {seconds:.1f} s ("
        + ", ".join(f"{stage} {took:.1f} s" for stage, took in stages.items())
        + ")"
    )
    for result in results:
        table = result.asset_key.path[-1]
        yield MaterializeResult(
            asset_key=result.asset_key,
            metadata={
                **(result.metadata or {}),
                sync_log.ROWS_LOADED: MetadataValue.int(rows_loaded.get(table, 0)),
                "dagster/partition_row_count": MetadataValue.int(counts.get(table, 0)),
                sync_log.REQUESTS: MetadataValue.int(requests),
                "qbo/sync_seconds": MetadataValue.float(round(seconds, 3)),
                **{
                    f"qbo/{stage}_seconds": MetadataValue.float(round(took, 3))
                    for stage, took in stages.items()
                },
                "qbo/realm_id": MetadataValue.text(client.realm_id),
            },
        )


def _selected_resources(context: AssetExecutionContext, source: DltSource) -> set[str] | None:
    """The resources of the raw tables a run selected (None: all of them)."""
    if not context.is_subset:
        return None
    selected = context.selected_asset_keys
    return {
        name
        for name, resource in source.selected_resources.items()
        if raw_asset_key(raw_table_name(resource)) in selected
    }


def _rows_loaded(pipeline: dlt.Pipeline) -> dict[str, int]:
    trace = pipeline.last_trace
    info = trace.last_normalize_info if trace is not None else None
    counts = info.row_counts if info is not None else {}
    return {table: int(n) for table, n in sorted(counts.items()) if not table.startswith("_dlt")}


def _stage_seconds(pipeline: dlt.Pipeline) -> dict[str, float]:
    """Seconds dlt spent extracting (the QuickBooks requests), normalizing and loading."""
    trace = pipeline.last_trace
    stages: dict[str, float] = {}
    for step in trace.steps if trace is not None else []:
        if step.step in ("extract", "normalize", "load") and step.finished_at is not None:
            stages[step.step] = (step.finished_at - step.started_at).total_seconds()
    return stages


def _client_or_stop(service: IntegrationService, org: str) -> QuickBooksClient:
    try:
        return client_for_org(service, org)
    except (NotConnected, ReauthorizationRequired) as error:
        message = f"{error}. {NOTHING_CHANGED}"
        sync_log.record_refusal(service, org, service.status(org).realm_id, message)
        raise Failure(description=message, allow_retries=False) from None


def _warehouse_free_or_stop(
    context: AssetExecutionContext,
    quickbooks: QuickBooksIntegration,
    service: IntegrationService,
    org: str,
    realm_id: str,
) -> None:
    settings = quickbooks.settings()
    if settings.warehouse_url is not None:
        # No file to wait for; but an unreachable database stops the sync before a request.
        try:
            PostgresWarehouse(settings.warehouse_url, org).close()
        except WarehouseUnreachable as error:
            message = f"{error}. {NOTHING_CHANGED}"
            sync_log.record_refusal(service, org, realm_id, message)
            raise Failure(description=message, allow_retries=False) from None
        return

    def tell(pid: int | None) -> None:
        context.log.warning(
            f"The warehouse {settings.warehouse_path(org)} is open in another process (pid {pid}); "
            f"waiting up to {quickbooks.lock_wait_seconds:g} s for it to close"
        )

    try:
        wait_until_writable(
            settings.warehouse_path(org),
            quickbooks.lock_wait_seconds,
            settings.serving_path(org),
            tell,
        )
    except WarehouseBusy as busy:
        message = f"{busy}. {NOTHING_CHANGED}"
        sync_log.record_refusal(service, org, realm_id, message)
        raise Failure(description=message, allow_retries=False) from None


def _root_cause(error: BaseException) -> BaseException:
    """The QuickBooks or connection error inside dlt's wrappers (PipelineStepFailed, resource
    extraction errors), or `error` itself."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, QuickBooksError | IntegrationError | WarehouseBusy):
            return current
        seen.add(id(current))
        inner = getattr(current, "exception", None)
        current = (
            inner
            if isinstance(inner, BaseException)
            else (current.__cause__ or current.__context__)
        )
    return error


def _failure_message(error: BaseException, warehouse: Path | None, serving: Path) -> str:
    """One clear sentence. dlt reports a DuckDB file held by another process as a confusing
    credentials or network problem, so the file (`warehouse`; None on Postgres) is checked
    again and named if that is it."""
    if isinstance(error, INTERRUPTIONS):
        return "cancelled while loading"
    try:
        holder = current_holder(warehouse) if warehouse is not None else None
    except duckdb.Error:
        holder = None
    if holder is not None:
        return str(WarehouseBusy(warehouse, holder if holder > 0 else None, serving))
    if isinstance(error, PipelineStepFailed):
        # dlt's own text adds the inner error's traceback and advice for dlt's CLI: keep the
        # step and the inner error's first line.
        inner = str(error.exception).strip().splitlines() or [type(error.exception).__name__]
        return _shortened(f"dlt's {error.step} step failed: {inner[0]}")
    return _shortened(" ".join(str(error).split()) or type(error).__name__)


def _shortened(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _company_row_counts(
    quickbooks: QuickBooksIntegration, org: str, realm_id: str, tables: list[str]
) -> dict[str, int]:
    """Rows of the organization's company in each raw table after the load."""
    counts = {}
    # Read-write, like every connection of this process to the warehouse: DuckDB refuses a
    # second connection with another configuration in the same process.
    settings = quickbooks.settings()
    with open_org_warehouse(settings, org, quickbooks.lock_wait_seconds) as connection:
        schema = raw_schema(connection, RAW_SCHEMA)
        existing = {
            name
            for (name,) in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                [schema],
            ).fetchall()
        }
        for table in tables:
            if table in existing:
                query = COUNT_COMPANY_ROWS.format(schema=schema, table=table)
                counts[table] = connection.execute(query, [org, realm_id]).fetchone()[0]
    return counts
