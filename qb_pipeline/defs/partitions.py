"""Organizations as partitions: one partition per organization, keyed by its slug.

The partitions follow the control DB: the sync sensor (schedules.py) adds an organization's
partition when it first sees the organization, and `qb-pipeline sync` adds it before a run.
"""

from __future__ import annotations

from dagster import DagsterInstance, DynamicPartitionsDefinition

ORGANIZATIONS = "organizations"

organizations = DynamicPartitionsDefinition(name=ORGANIZATIONS)


def ensure_partition(instance: DagsterInstance, org_slug: str) -> None:
    """Add the organization's partition if the instance does not know it yet."""
    if not instance.has_dynamic_partition(ORGANIZATIONS, org_slug):
        instance.add_dynamic_partitions(ORGANIZATIONS, [org_slug])
