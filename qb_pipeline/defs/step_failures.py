"""A failing step of a sync or goals run closes its sync-log entry with a one-line reason.

Every step that writes the warehouse runs inside `failures_recorded`: whatever it raises, the
organization's sync log (connections/sync_log.py) says which step failed and why, with the rows
and requests already done. Errors the caller expects (the warehouse is busy, not ready) and a
full disk (sync/no_space.py) become a Dagster Failure that carries only that line, so the run's
page and `qb-pipeline sync` show the reason rather than a traceback of dlt's internals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import AssetExecutionContext, DagsterExecutionInterruptedError, Failure

from qb_pipeline.connections import IntegrationService, sync_log
from qb_pipeline.sync.no_space import no_space_message


@contextmanager
def failures_recorded(
    context: AssetExecutionContext,
    service: IntegrationService,
    status: str = "failed",
    expected: tuple[type[BaseException], ...] = (),
) -> Iterator[None]:
    """Close this run's sync entry as `status` when the step fails, with the error's message;
    errors of the `expected` types, and a full disk, become a Dagster Failure carrying that
    message."""
    try:
        yield
    except BaseException as error:
        no_room = no_space_message(error, service.home)
        message = no_room or " ".join(str(error).split()) or type(error).__name__
        step = context.op_execution_context.node_handle.name
        entry = sync_log.current_entry(context)
        if entry is not None:
            rows, requests = sync_log.entry_figures(context, service, entry)
            interrupted = isinstance(error, KeyboardInterrupt | DagsterExecutionInterruptedError)
            sync_log.close_entry(
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
