"""A sync in two loads: the entities first, then the reports, whose requests are sent ahead.

The entities are most of a sync's data and the reports most of its requests. Loaded in one
pass, dlt normalizes and loads only after the last report answered, so with QuickBooks'
limits on, the load came on top of the time the limit imposes (wall time 1.28 x that
minimum on the medium company). In two passes, the report requests are sent in the
background while the entities are extracted (paced), normalized and loaded
(report_prefetch.py), and the reports' pass reads the answers. Each pass is a dlt run of
its own (its own load package, committed with the pipeline state), so a sync stopped
between them keeps the entities and pulls the reports again the next time, as an
interrupted one-pass sync would.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager

import dlt
from dlt.extract.source import DltSource

from qb_pipeline.sources.quickbooks.helpers.dimension_reports import dimension_requests
from qb_pipeline.sources.quickbooks.helpers.dimension_rows import DIMENSION_LINES_TABLE
from qb_pipeline.sources.quickbooks.helpers.reads import SyncSession
from qb_pipeline.sources.quickbooks.helpers.report_plan import report_line_requests
from qb_pipeline.sources.quickbooks.settings import REPORT_LINES_TABLE
from qb_pipeline.sync.pipeline import QuickBooksPipeline

log = logging.getLogger("qb_pipeline.sources.quickbooks")

REPORT_RESOURCES = (REPORT_LINES_TABLE, DIMENSION_LINES_TABLE)


def load_passes(source: DltSource, selected: Collection[str] | None = None) -> list[DltSource]:
    """The source as its passes: the entity resources, then the report resources (each
    left out when empty), narrowed to `selected` resource names when given."""
    names = [name for name in source.selected_resources if selected is None or name in selected]
    entities = [name for name in names if name not in REPORT_RESOURCES]
    reports = [name for name in names if name in REPORT_RESOURCES]
    return [source.with_resources(*group) for group in (entities, reports) if group]


@contextmanager
def reports_sent_ahead(
    pipeline: dlt.Pipeline, session: SyncSession, history_years: int, passes: list[DltSource]
) -> Iterator[None]:
    """Within the block, the report requests of the reports' pass are sent ahead: paced
    while the first pass extracts (unpaced, they took the limit from the entities' own
    requests: 1.27 x the minimum instead of 1.12), at full speed from its normalize on. At
    the end, whatever was sent and not used is dropped. Nothing is sent ahead for a single
    pass."""
    reports = [name for name in passes[-1].selected_resources if name in REPORT_RESOURCES]
    ahead = len(passes) > 1 and bool(reports) and isinstance(pipeline, QuickBooksPipeline)
    if ahead:
        # Planned from inside the extraction, where the sync's state is what the report
        # resources will read (the first entity resource calls it: session.py).
        session.on_first_read = lambda: _send_ahead(session, history_years, reports)
        pipeline.before_normalize = session.reports.full_speed
    try:
        yield
    finally:
        if ahead:
            session.on_first_read = None
            pipeline.before_normalize = None
        session.reports.close()


def _send_ahead(session: SyncSession, history_years: int, reports: list[str]) -> None:
    # A failure here costs only the head start: the reports' pass then asks for itself and
    # meets the same error where it belongs.
    try:
        states = dlt.current.source_state().get("resources", {})
        requests: list[tuple[str, dict[str, str]]] = []
        if REPORT_LINES_TABLE in reports:
            state = states.get(REPORT_LINES_TABLE, {})
            requests += report_line_requests(session, history_years, state)
        if DIMENSION_LINES_TABLE in reports:
            state = states.get(DIMENSION_LINES_TABLE, {})
            requests += dimension_requests(session, history_years, state)
        session.reports.start(requests, paced=True)
    except Exception as error:
        log.warning("report requests not sent ahead (%s); the reports' pass asks for them",
                    error)  # fmt: skip
