"""One sync's entry in the control DB's sync log, across the steps of its Dagster run.

The raw step opens the entry (`running`) and writes the rows and requests into it after the
load (still `running`: the data is imported, not yet modelled nor published). The entry says
`succeeded` only once everything a sync promises is done: the serving copy is published, the
last step of the job (sync_finish.py). A run that selects fewer assets is closed by its last
finishing step instead (`closes_here`). Any failing step closes the entry as `failed` with its
message (`partial` when only the publication failed: the data is imported but BI tools still see
the previous copy); a run whose process was killed is closed as `failed` ("interrupted") when it
is found (abandoned_runs.py), so no entry stays `running` for good.

Steps may run in different processes, so the entry's id travels as tags of the Dagster run; the
rows and requests are also in the raw step's materializations' metadata, which a re-execution of
a failed run reads when the entry moved on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from dagster import (
    AssetExecutionContext,
    AssetKey,
    DagsterEventType,
    DagsterExecutionInterruptedError,
    DagsterInstance,
    DagsterRunStatus,
    Failure,
    RunsFilter,
)

from qb_pipeline.connections import IntegrationService
from qb_pipeline.sync.no_space import no_space_message

SYNC_RUN_TAG = "qbp/sync_run_id"
SYNC_STARTED_TAG = "qbp/sync_started_at"
REALM_TAG = "qbp/realm_id"

# The steps that may record a sync as succeeded, the one the whole job ends with first.
SERVING_KEY = AssetKey(["serving", "warehouse"])
FINISHING_KEY = AssetKey(["qbo", "connection_status"])

# Metadata keys of the raw step's materializations that the sync log reads back.
ROWS_LOADED = "rows_loaded"
REQUESTS = "qbo/requests"

UNFINISHED_RUN_STATUSES = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SyncEntry:
    """The control DB's sync run being written by this Dagster run."""

    id: int
    org_slug: str
    realm_id: str
    started_at: datetime


def open_entry(
    context: AssetExecutionContext,
    service: IntegrationService,
    org_slug: str,
    realm_id: str,
    started_at: datetime,
) -> SyncEntry:
    """Record a `running` sync and remember it on the Dagster run."""
    _close_abandoned(service, context.instance, org_slug, context.run.run_id)
    run = service.record_sync(org_slug, realm_id, started_at, None, "running")
    context.instance.add_run_tags(
        context.run.run_id,
        {
            SYNC_RUN_TAG: str(run.id),
            SYNC_STARTED_TAG: started_at.isoformat(),
            REALM_TAG: realm_id,
        },
    )
    return SyncEntry(run.id, org_slug, realm_id, started_at)


def closes_here(context: AssetExecutionContext, key: AssetKey) -> bool:
    """Whether the step materializing `key` records this run's sync as succeeded: the serving
    copy's when the run publishes one (the whole job does), else qbo/connection_status's, else
    the raw step's (a UI materialization of some raw tables)."""
    selection = context.run.asset_selection
    if not selection:  # the whole job (a job run records an empty selection, not None)
        return key == SERVING_KEY
    for closing in (SERVING_KEY, FINISHING_KEY):
        if closing in selection:
            return key == closing
    return key.path[0] == "qbo_raw"


def current_entry(context: AssetExecutionContext) -> SyncEntry | None:
    """The entry this run (or the run it re-executes) opened; None for runs without a raw
    step (a UI materialization of the marts alone records no sync)."""
    for run_id in _lineage(context.instance, context.run.run_id):
        run = context.instance.get_run_by_id(run_id)
        if run is not None and SYNC_RUN_TAG in run.tags:
            return SyncEntry(
                int(run.tags[SYNC_RUN_TAG]),
                context.partition_key,
                run.tags[REALM_TAG],
                datetime.fromisoformat(run.tags[SYNC_STARTED_TAG]),
            )
    return None


def entry_figures(
    context: AssetExecutionContext, service: IntegrationService, entry: SyncEntry
) -> tuple[dict[str, int], int | None]:
    """Rows per table and requests of the sync: as the raw step recorded them in the control
    DB (child tables included), or else from its materializations."""
    last = service.status(entry.org_slug).last_sync
    if last is not None and last.id == entry.id and last.requests is not None:
        return dict(last.rows), last.requests
    return raw_figures(context.instance, context.run.run_id)


def raw_figures(instance: DagsterInstance, run_id: str) -> tuple[dict[str, int], int | None]:
    """Rows loaded per raw table and requests made, from the raw step's materializations in
    this run or the run it re-executes."""
    for candidate in _lineage(instance, run_id):
        rows: dict[str, int] = {}
        requests = None
        records = instance.get_records_for_run(
            candidate, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ).records
        for record in records:
            materialization = record.event_log_entry.asset_materialization
            if materialization is None or materialization.asset_key.path[0] != "qbo_raw":
                continue
            metadata = materialization.metadata
            table = materialization.asset_key.path[-1]
            if ROWS_LOADED in metadata:
                rows[table] = int(metadata[ROWS_LOADED].value)
            if REQUESTS in metadata:
                requests = int(metadata[REQUESTS].value)
        if rows or requests is not None:
            return rows, requests
    return {}, None


def close_entry(
    service: IntegrationService,
    entry: SyncEntry,
    status: str,
    message: str | None = None,
    rows: dict[str, int] | None = None,
    requests: int | None = None,
    finished_at: datetime | None = None,
) -> None:
    """Update the entry (`running` keeps it open; any other status finishes it, at
    `finished_at` or now)."""
    service.record_sync(
        entry.org_slug,
        entry.realm_id,
        entry.started_at,
        None if status == "running" else (finished_at or utcnow()),
        status,
        message=message,
        rows=rows,
        requests=requests,
        run_id=entry.id,
    )


def record_refusal(
    service: IntegrationService, org_slug: str, realm_id: str | None, message: str
) -> None:
    """A sync that stopped before it began (not connected, warehouse busy): one finished
    entry, no rows, no requests."""
    now = utcnow()
    service.record_sync(org_slug, realm_id, now, now, "failed", message=message, requests=0)


@contextmanager
def failures_recorded(
    context: AssetExecutionContext,
    service: IntegrationService,
    status: str = "failed",
    expected: tuple[type[BaseException], ...] = (),
) -> Iterator[None]:
    """Close this run's sync entry as `status` when the step fails, with the error's message;
    errors of the `expected` types, and a full disk (no_space.py), become a Dagster Failure
    carrying that message."""
    try:
        yield
    except BaseException as error:
        no_room = no_space_message(error, service.home)
        message = no_room or " ".join(str(error).split()) or type(error).__name__
        step = context.op_execution_context.node_handle.name
        entry = current_entry(context)
        if entry is not None:
            rows, requests = entry_figures(context, service, entry)
            interrupted = isinstance(error, KeyboardInterrupt | DagsterExecutionInterruptedError)
            close_entry(
                service,
                entry,
                "cancelled" if interrupted else status,
                f"{step}: {message}",
                rows=rows,
                requests=requests,
            )
        if no_room or isinstance(error, expected):
            raise Failure(description=message, allow_retries=False) from error
        raise


def _lineage(instance: DagsterInstance, run_id: str) -> list[str]:
    """The run and the runs it re-executes, newest first."""
    chain = []
    current: str | None = run_id
    while current is not None and current not in chain:
        chain.append(current)
        run = instance.get_run_by_id(current)
        current = run.parent_run_id if run is not None else None
    return chain


def _close_abandoned(
    service: IntegrationService, instance: DagsterInstance, org_slug: str, run_id: str
) -> None:
    """A sync whose process was killed stays `running`; mark it failed when the next one
    starts, so the integration page does not show it as running forever."""
    from qb_pipeline.defs.quickbooks.abandoned_runs import fail_abandoned_runs

    # Runs of the organization whose process is gone first: failed, their entries closed.
    fail_abandoned_runs(instance, service, partition=org_slug)
    last = service.status(org_slug).last_sync
    if last is None or last.status != "running":
        return
    others = instance.get_run_records(
        RunsFilter(tags={"dagster/partition": org_slug}, statuses=UNFINISHED_RUN_STATUSES), limit=5
    )
    if any(record.dagster_run.run_id != run_id for record in others):
        return  # another run of this organization is under way and owns that entry
    service.record_sync(
        org_slug,
        last.realm_id,
        last.started_at,
        last.finished_at or utcnow(),
        "failed",
        message="interrupted: the process running this sync stopped before it finished",
        rows=last.rows,
        requests=last.requests,
        run_id=last.id,
    )
