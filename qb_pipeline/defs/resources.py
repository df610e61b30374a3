"""Resources of the QuickBooks code location.

`quickbooks` reaches the control DB (connections, settings, sync log) and names the files under
QBP_HOME; `dlt` runs the dlt pipelines. Neither holds a secret in its configuration: the secret
key and the Intuit app's credentials come from the environment (see the README's
configuration table), so no token or key can show in the UI's run config.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from dagster import ConfigurableResource
from dagster_dlt import DagsterDltResource
from pydantic import Field

from qb_pipeline.config import Settings, load_settings
from qb_pipeline.connections import IntegrationService

# DuckDB allows one writing process: every asset that writes the warehouse runs in this pool,
# whose limit is 1 (dagster.yaml).
DUCKDB_WRITER_POOL = "duckdb_writer"


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
        env = dict(os.environ)
        if self.home:
            env["QBP_HOME"] = self.home
        return load_settings(env)

    def service(self) -> IntegrationService:
        return IntegrationService(self.settings())

    def warehouse_path(self) -> Path:
        return self.settings().warehouse_path

    def serving_path(self) -> Path:
        return self.settings().serving_path

    def sync_date(self) -> date | None:
        """The configured date, or None: the source then asks QuickBooks for its date."""
        return date.fromisoformat(self.today) if self.today else None


def default_resources() -> dict[str, object]:
    """The resources the definitions bind by default."""
    return {"quickbooks": QuickBooksIntegration(), "dlt": DagsterDltResource()}
