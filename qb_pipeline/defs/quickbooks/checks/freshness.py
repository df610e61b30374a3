"""Freshness of each organization's data: asset checks per organization partition.

Two checks named `freshness`, partitioned by organization like the assets they watch:

- on `qbo_raw/account` for the raw tables (accounts are read in full by every sync, so this
  table is new whenever a sync imported anything): the data is as old as the organization's
  last successful import, the newer of the sync log's last `succeeded`/`partial` sync and the
  partition's last materialization of the table;
- on `marts/goal_values` for the goal values: they are as old as the older of that import and
  their own last computation (the partition's last materialization), since a goal step that
  failed after a fresh import leaves older values behind.

An organization whose data is older than the warn threshold (26 h by default) gets a WARN, older
than the fail threshold (50 h) an ERROR. An organization that has never synced is measured from
the moment it connected. One that is disconnected, needs reauthorization or never connected
cannot sync at all: its check says "stale because disconnected" (severity WARN) rather than
counting hours towards a failure that no sync could fix.

Why our own checks and not Dagster's freshness machinery (Dagster 1.13.27, read in its source):
`FreshnessPolicy.time_window` (evaluated by the daemon with `freshness: enabled`) looks at the
asset's last materialization of any partition, and `build_last_update_freshness_checks` asks for
the latest record with no partition either; `build_sensor_for_freshness_checks` requests
unpartitioned check runs. With one partition per organization, one organization's nightly sync
would keep every other organization "fresh", and none of them knows about a disconnected
connection. What does fit per partition is Dagster's asset-check machinery itself: these checks
carry `partitions_def=organizations`, so each evaluation is stored for its organization's
partition. They run in every `quickbooks_sync` / `goals_refresh` run after the asset they watch,
and the freshness sensor (sensors/freshness.py) runs them for an organization whose state changed
between runs (data crossing a threshold, a disconnect; see check_runs.py).

Thresholds come from the environment when a check or the sensor runs (FreshnessThresholds).
"""

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    MetadataValue,
    multi_asset_check,
)

from qb_pipeline.connections import ConnectionStatus
from qb_pipeline.connections.results import CONNECTED, NOT_CONNECTED, REAUTHORIZATION_REQUIRED
from qb_pipeline.defs.keys import GOAL_VALUES as GOAL_VALUES_KEY
from qb_pipeline.defs.quickbooks.checks.check_runs import (
    OrganizationCheckOutcome,
    as_of,
    organization_check_spec,
)
from qb_pipeline.defs.resources import QuickBooksIntegration
from qb_pipeline.defs.sensor_kit import (
    Clock,
    utcnow,
)

CHECK_NAME = "freshness"
RAW_KEY = AssetKey(["qbo_raw", "account"])  # read in full by every sync: new after each import
CHECKED_KEYS = (RAW_KEY, GOAL_VALUES_KEY)

WARN_HOURS_ENV = "QBP_FRESHNESS_WARN_HOURS"
FAIL_HOURS_ENV = "QBP_FRESHNESS_FAIL_HOURS"
CATCH_UP_HOURS_ENV = "QBP_FRESHNESS_CATCH_UP_HOURS"
DEFAULT_WARN_HOURS = 26.0
DEFAULT_FAIL_HOURS = 50.0
DEFAULT_CATCH_UP_HOURS = 6.0

# The states a check result can report (metadata `state`); the sensor compares them.
FRESH = "fresh"
WARN = "warn"
FAIL = "fail"
DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class FreshnessThresholds:
    """When data counts as old (warn), too old (fail), and how often a catch-up sync may be
    requested per organization."""

    warn_hours: float = DEFAULT_WARN_HOURS
    fail_hours: float = DEFAULT_FAIL_HOURS
    catch_up_hours: float = DEFAULT_CATCH_UP_HOURS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "FreshnessThresholds":
        """$QBP_FRESHNESS_WARN_HOURS, $QBP_FRESHNESS_FAIL_HOURS, $QBP_FRESHNESS_CATCH_UP_HOURS
        (hours, decimals allowed), else the defaults. A bad value is an error naming it."""
        env = os.environ if env is None else env
        warn = _hours(env, WARN_HOURS_ENV, DEFAULT_WARN_HOURS)
        fail = _hours(env, FAIL_HOURS_ENV, DEFAULT_FAIL_HOURS)
        if warn >= fail:
            raise ValueError(
                f"{WARN_HOURS_ENV} ({warn:g}) must be less than {FAIL_HOURS_ENV} ({fail:g})"
            )
        return cls(warn, fail, _hours(env, CATCH_UP_HOURS_ENV, DEFAULT_CATCH_UP_HOURS))


def _hours(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a number of hours greater than 0; got {text!r}")
    return value


@dataclass(frozen=True)
class Freshness(OrganizationCheckOutcome):
    """How fresh one organization's data behind one asset is, at one moment."""

    org: str
    asset_key: AssetKey
    state: str  # FRESH, WARN, FAIL or DISCONNECTED
    connection: str
    updated_at: datetime | None  # when the data was last made new (None: never)
    age_hours: float | None  # from updated_at, or from the connection when never synced
    thresholds: FreshnessThresholds
    description: str

    @property
    def is_stale(self) -> bool:
        return self.state != FRESH

    @property
    def check_key(self) -> AssetCheckKey:
        return AssetCheckKey(self.asset_key, CHECK_NAME)

    @property
    def passed(self) -> bool:
        return not self.is_stale

    @property
    def severity(self) -> AssetCheckSeverity:
        return AssetCheckSeverity.ERROR if self.state == FAIL else AssetCheckSeverity.WARN

    def metadata(self) -> dict[str, Any]:
        return {
            "org": MetadataValue.text(self.org),
            "state": MetadataValue.text(self.state),
            "connection_status": MetadataValue.text(self.connection),
            "last_success_at": (
                MetadataValue.timestamp(self.updated_at)
                if self.updated_at is not None
                else MetadataValue.null()
            ),
            "age_hours": (
                MetadataValue.float(round(self.age_hours, 2))
                if self.age_hours is not None
                else MetadataValue.null()
            ),
            "warn_after_hours": MetadataValue.float(self.thresholds.warn_hours),
            "fail_after_hours": MetadataValue.float(self.thresholds.fail_hours),
        }


def latest_materialization(instance: DagsterInstance, key: AssetKey, org: str) -> datetime | None:
    """When the organization's partition of `key` was last materialized (None: never)."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[org]), limit=1
    ).records
    return datetime.fromtimestamp(records[0].timestamp, UTC) if records else None


def _newest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def data_updated_at(
    instance: DagsterInstance, status: ConnectionStatus, key: AssetKey
) -> datetime | None:
    """When the data behind `key` was last made new for the organization (see the module)."""
    org = status.org_slug
    imported = _newest(
        status.last_success.finished_at if status.last_success is not None else None,
        latest_materialization(instance, RAW_KEY, org),
    )
    if key == RAW_KEY or imported is None:
        return imported
    computed = latest_materialization(instance, key, org)
    return min(imported, computed) if computed is not None else None


def assess(
    status: ConnectionStatus,
    key: AssetKey,
    updated_at: datetime | None,
    now: datetime,
    thresholds: FreshnessThresholds,
) -> Freshness:
    """The freshness of one organization's data behind `key` at `now`."""
    what = "goal values" if key == GOAL_VALUES_KEY else "raw QuickBooks tables"
    org = status.org_slug

    def result(state: str, age: float | None, description: str) -> Freshness:
        return Freshness(org, key, state, status.status, updated_at, age, thresholds, description)

    last = (
        f"last successful sync {updated_at.isoformat(timespec='minutes')}"
        if updated_at is not None
        else "never synced"
    )
    if status.status != CONNECTED:
        age = (now - updated_at).total_seconds() / 3600 if updated_at is not None else None
        return result(
            DISCONNECTED, age, f"{org}: stale because {_why_not_syncing(status)} ({last})."
        )
    since = updated_at or status.connected_at
    age = (now - since).total_seconds() / 3600 if since is not None else None
    if updated_at is None:
        last = (
            f"no successful sync since connecting {since.isoformat(timespec='minutes')}"
            if since
            else last
        )
    if age is None or age >= thresholds.fail_hours:
        state, verdict = FAIL, f"older than {thresholds.fail_hours:g} h"
    elif age >= thresholds.warn_hours:
        state, verdict = WARN, f"older than {thresholds.warn_hours:g} h"
    else:
        state, verdict = FRESH, "fresh"
    aged = f"{age:.1f} h" if age is not None else "unknown age"
    return result(state, age, f"{org}: {what} {verdict} ({aged}; {last}).")


def _why_not_syncing(status: ConnectionStatus) -> str:
    if status.status == REAUTHORIZATION_REQUIRED:
        return "disconnected: QuickBooks needs reauthorization by an admin"
    if status.status == NOT_CONNECTED:
        return "disconnected: no QuickBooks company was ever connected"
    return f"disconnected (connection {status.status.replace('_', ' ')})"


def freshness_of(
    instance: DagsterInstance,
    status: ConnectionStatus,
    key: AssetKey,
    now: datetime,
    thresholds: FreshnessThresholds,
) -> Freshness:
    """Gather the evidence for `key` and assess it."""
    return assess(status, key, data_updated_at(instance, status, key), now, thresholds)


def build_freshness_checks(clock: Clock = utcnow) -> AssetChecksDefinition:
    """The `freshness` checks of the raw tables and the goal values; `clock` gives "now"
    (tests pass a fixed one)."""

    @multi_asset_check(
        name="quickbooks_freshness",
        specs=[
            organization_check_spec(
                CHECK_NAME,
                key,
                description=(
                    f"The organization's {label} were updated by a successful sync within the "
                    f"warn threshold ({WARN_HOURS_ENV}, default {DEFAULT_WARN_HOURS:g} h: WARN) "
                    f"and the fail threshold ({FAIL_HOURS_ENV}, default "
                    f"{DEFAULT_FAIL_HOURS:g} h: ERROR); 'stale because disconnected' (WARN) "
                    "when QuickBooks is not connected."
                ),
            )
            for key, label in ((RAW_KEY, "raw QuickBooks tables"), (GOAL_VALUES_KEY, "goal values"))
        ],
        can_subset=True,
    )
    def quickbooks_freshness(
        context: AssetCheckExecutionContext, quickbooks: QuickBooksIntegration
    ) -> Iterator[AssetCheckResult]:
        org = context.partition_key
        status = quickbooks.service().status(org)
        thresholds = FreshnessThresholds.from_env()
        now = as_of(context, clock())
        for check_key in sorted(context.selected_asset_check_keys, key=str):
            found = freshness_of(context.instance, status, check_key.asset_key, now, thresholds)
            context.log.info(found.description)
            yield found.check_result()

    return quickbooks_freshness


quickbooks_freshness_checks = build_freshness_checks()

__all__ = [
    "CHECKED_KEYS",
    "CHECK_NAME",
    "FreshnessThresholds",
    "assess",
    "build_freshness_checks",
    "freshness_of",
    "quickbooks_freshness_checks",
]
