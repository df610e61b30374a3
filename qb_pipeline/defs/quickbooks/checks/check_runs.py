"""Running the per-organization health checks (freshness, token health) outside a sync.

The checks run in every sync after the assets they watch. Between syncs their outcome still
changes (data crosses a threshold, a token nears its expiry, QuickBooks is disconnected), so the
health sensors request a check-only run of one organization's partition when its outcome
differs from the last evaluation stored for that partition: the UI then shows the new state,
and a run records it.

Why runs and not evaluations reported by the sensor itself (`SensorResult(asset_events=...)`):
Dagster 1.13.27 stores a run-less evaluation of a partitioned check under an empty run id, and
its unique index (check, run id, partition) refuses a second one for the same partition
(sqlite3.IntegrityError), so only the first state change could ever be recorded. A check-only
run must be a subset of a job whose selection holds the checked assets, because a job of checks
alone has no partitions in this version; `quickbooks_health_checks` is that job, always
launched with no asset selected (RunRequest(asset_selection=[], asset_check_keys=...)).

The sensor's moment of judgement travels with the run (tag `qbp/checked_as_of`): the check
judges as of the later of that moment and its own clock, so a run says what the sensor saw.
"""

import warnings
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    DagsterInstance,
    RunRequest,
)
from dagster._core.event_api import PartitionKeyFilter
from dagster._utils.warnings import PreviewWarning

from qb_pipeline.defs.jobs import HEALTH_CHECKS_JOB
from qb_pipeline.defs.partitions import organizations
from qb_pipeline.defs.quickbooks.schedules import TRIGGER_TAG

# Check runs one sensor tick may launch: the first tick after a deploy finds every organization
# never evaluated; the rest follow at the next ticks instead of flooding the run queue.
MAX_CHECK_RUNS_PER_TICK = 20
AS_OF_TAG = "qbp/checked_as_of"


class OrganizationCheckOutcome:
    """One organization's outcome of a per-partition health check, given as the result a
    check run yields or as the evaluation a sensor reports without a run. Subclasses (frozen
    dataclasses) have `org`, `description`, and say `check_key`, `passed`, `severity` and
    `metadata()`."""

    org: str
    description: str

    @property
    def check_key(self) -> AssetCheckKey:
        raise NotImplementedError

    @property
    def passed(self) -> bool:
        raise NotImplementedError

    @property
    def severity(self) -> AssetCheckSeverity:
        raise NotImplementedError

    def metadata(self) -> dict[str, Any]:
        raise NotImplementedError

    def _outcome(self) -> dict[str, Any]:
        return {
            "asset_key": self.check_key.asset_key,
            "check_name": self.check_key.name,
            "passed": self.passed,
            "severity": self.severity,
            "description": self.description,
            "metadata": self.metadata(),
        }

    def check_result(self) -> AssetCheckResult:
        """The result a check run yields for the organization's partition."""
        return AssetCheckResult(**self._outcome())

    def evaluation(self) -> AssetCheckEvaluation:
        """The same outcome as an evaluation a sensor reports for the partition."""
        return AssetCheckEvaluation(**self._outcome(), partition=self.org)


def organization_check_spec(name: str, asset: AssetKey, description: str) -> AssetCheckSpec:
    """A check evaluated per organization partition. Partitioned checks are a preview in
    Dagster 1.13 and warn at every load; the project depends on them knowingly (module
    docstring), so that warning is silenced here and nowhere else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        return AssetCheckSpec(
            name, asset=asset, partitions_def=organizations, description=description
        )


def as_of(context: AssetCheckExecutionContext, now: datetime) -> datetime:
    """The moment a check judges: `now`, or the later moment a health sensor saw."""
    tagged = context.run.tags.get(AS_OF_TAG)
    return max(now, datetime.fromisoformat(tagged)) if tagged else now


def latest_evaluation(
    instance: DagsterInstance, key: AssetCheckKey, partition: str
) -> AssetCheckEvaluation | None:
    """The last completed evaluation of `key` for `partition` (None: never evaluated)."""
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [key], partition_filter=PartitionKeyFilter(key=partition)
    )
    record = records.get(key)
    event = record.event if record is not None else None
    return event.asset_check_evaluation if event is not None else None


def signature(evaluation: AssetCheckEvaluation, fields: Sequence[str]) -> str:
    """What a user sees of an evaluation: pass/fail, severity and the metadata `fields`."""
    values = [str(evaluation.passed), evaluation.severity.value]
    for name in fields:
        entry = evaluation.metadata.get(name)
        values.append(str(entry.value) if entry is not None else "")
    return "|".join(values)


def outdated(
    instance: DagsterInstance,
    evaluations: Iterable[AssetCheckEvaluation],
    fields: Sequence[str],
    requested: dict[str, str],
) -> list[AssetCheckEvaluation]:
    """The evaluations that differ from the partition's last stored one and were not already
    requested (`requested`: signature per check key and partition, from the sensor cursor)."""
    result = []
    for evaluation in evaluations:
        assert evaluation.partition is not None
        wanted = signature(evaluation, fields)
        if requested.get(request_id(evaluation)) == wanted:
            continue  # a check run for this outcome is already on its way
        last = latest_evaluation(instance, evaluation.asset_check_key, evaluation.partition)
        if last is None or signature(last, fields) != wanted:
            result.append(evaluation)
    return result


def request_id(evaluation: AssetCheckEvaluation) -> str:
    return f"{evaluation.partition}/{evaluation.asset_check_key.to_user_string()}"


def check_run(org: str, keys: Iterable[AssetCheckKey], at: datetime, trigger: str) -> RunRequest:
    """A check-only run of the organization's partition (no asset is materialized)."""
    return RunRequest(
        run_key=f"{org}:{trigger}-checks:{at.isoformat()}",
        job_name=HEALTH_CHECKS_JOB,
        partition_key=org,
        asset_selection=[],
        asset_check_keys=sorted(set(keys), key=lambda key: key.to_user_string()),
        tags={TRIGGER_TAG: trigger, AS_OF_TAG: at.isoformat()},
    )
