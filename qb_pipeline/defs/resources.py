"""Resources of the QuickBooks code location.

`quickbooks` reaches the control DB (connections, settings, sync log) and names the files under
QBP_HOME; `dlt` runs the dlt pipelines. Neither holds a secret in its configuration: the secret
key and the Intuit app's credentials come from the environment (see the README's
configuration table), so no token or key can show in the UI's run config.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from dagster_dlt import DagsterDltResource
from pydantic import Field

from qb_pipeline.config import Settings, load_settings
from qb_pipeline.connections import IntegrationService
from qb_pipeline.warehouse.writer import org_writer_lock

# The tag Dagster gives a run of one partition: here, one organization.
PARTITION_TAG = "dagster/partition"


def settings_for_home(home: str | None) -> Settings:
    """The environment's settings, with QBP_HOME replaced by `home` when one is configured."""
    env = dict(os.environ)
    if home:
        env["QBP_HOME"] = home
    return load_settings(env)


class QuickBooksIntegration(ConfigurableResource):
    """The control DB and the warehouse files of QBP_HOME, read from the environment."""

    home: str | None = Field(
        default=None, description="QBP_HOME to use instead of the environment's (a folder)."
    )
    lock_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description=(
            "How long a step waits for another process to let go of the DuckDB warehouse "
            "before it fails with a message naming that process."
        ),
    )
    today: str | None = Field(
        default=None,
        description=(
            "The date a sync treats as today (YYYY-MM-DD), for the report windows; default: "
            "the company's date as QuickBooks reports it."
        ),
    )

    def settings(self) -> Settings:
        return settings_for_home(self.home)

    def service(self) -> IntegrationService:
        return IntegrationService(self.settings())

    def warehouse_path(self, org_id: str) -> Path:
        return self.settings().warehouse_path(org_id)

    def serving_path(self, org_id: str) -> Path:
        return self.settings().serving_path(org_id)

    def sync_date(self) -> date | None:
        """The configured date, or None: the source then asks QuickBooks for its date."""
        return date.fromisoformat(self.today) if self.today else None


class OrganizationWriter(ConfigurableResource):
    """A run of one organization holds that organization's writer lock from its first step
    to its last (warehouse/writer.py): runs of other organizations go on in parallel, a
    second run of the same one waits, then fails saying so. Every asset that writes the
    warehouse requires this resource, so the lock is taken when the run starts (the jobs run
    in process: resources start once per run). Sensors never take it."""

    home: str | None = Field(
        default=None, description="QBP_HOME to use instead of the environment's (a folder)."
    )
    wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long a run waits for another run of its organization to finish.",
    )

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[OrganizationWriter]:
        run = context.run
        org = run.tags.get(PARTITION_TAG) if run is not None else None
        if org is None:
            yield self
            return

        def tell() -> None:
            context.log.warning(
                f"Another run of {org} is writing its warehouse; waiting up to "
                f"{self.wait_seconds:g} s for it to finish"
            )

        settings = settings_for_home(self.home)
        with org_writer_lock(settings.org_dir(org), org, self.wait_seconds, tell):
            yield self


def default_resources() -> dict[str, object]:
    """The resources the definitions bind by default."""
    return {
        "quickbooks": QuickBooksIntegration(),
        "org_writer": OrganizationWriter(),
        "dlt": DagsterDltResource(),
    }
