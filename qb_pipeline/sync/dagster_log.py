"""Progress of a long sync in the Dagster run log.

The dlt source logs each entity, page and report window on `qb_pipeline.sources.quickbooks`,
the QuickBooks client its retries and throttling on `qb_pipeline.quickbooks`. While a step
runs, those records are copied to the step's Dagster log, so the run page (and
`qb-pipeline sync`, which follows the run's events) shows how far the sync has come.
Neither logger ever carries a token (see their modules).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

FORWARDED_LOGGERS = ("qb_pipeline.sources", "qb_pipeline.quickbooks", "qb_pipeline.warehouse")


class _ToDagsterLog(logging.Handler):
    def __init__(self, dagster_log: Any, level: int) -> None:
        super().__init__(level)
        self._dagster_log = dagster_log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._dagster_log.log(record.levelno, f"{record.name}: {record.getMessage()}")
        except Exception:  # a log line must never fail the sync
            self.handleError(record)


@contextmanager
def forward_progress(dagster_log: Any, level: int = logging.INFO) -> Iterator[None]:
    """Copy records of the pipeline's loggers at `level` and above to `dagster_log`."""
    handler = _ToDagsterLog(dagster_log, level)
    touched: list[tuple[logging.Logger, int]] = []
    for name in FORWARDED_LOGGERS:
        logger = logging.getLogger(name)
        touched.append((logger, logger.level))
        if logger.getEffectiveLevel() > level:
            logger.setLevel(level)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, previous in touched:
            logger.removeHandler(handler)
            logger.setLevel(previous)
