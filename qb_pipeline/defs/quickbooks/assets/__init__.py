"""QuickBooks assets, partitioned by organization.

    qbo_raw/<table>   (group quickbooks_raw)      dlt: one asset per table of the source
        -> qbo/<model>    (group quickbooks_staging)  staging SQL
        -> marts/<model>  (group marts)               the BI contract (README)
        -> marts/goal_values, goal_value_history, goals (group goals)  QuickBooks Goals (defs/goals)
        -> serving/warehouse (group serving)          the read-only copy BI tools open

Each organization has its own DuckDB warehouse; a run holds its organization's writer lock
(resources.py), so organizations sync in parallel and one organization's runs never overlap.
"""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import dlt
from dagster import AssetExecutionContext, MaterializeResult, asset
from dagster_dlt import DagsterDltResource, dlt_assets

from qb_pipeline.defs.keys import GOAL_ASSETS, SERVING_GROUP, SERVING_WAREHOUSE
from qb_pipeline.defs.partitions import organizations
from qb_pipeline.defs.quickbooks.assets.raw import load_raw
from qb_pipeline.defs.quickbooks.assets.sql_models import build_model_assets
from qb_pipeline.defs.quickbooks.assets.sync_finish import publish_serving
from qb_pipeline.defs.quickbooks.assets.translator import QuickBooksTranslator
from qb_pipeline.defs.resources import OrganizationWriter, QuickBooksIntegration
from qb_pipeline.sources.quickbooks import quickbooks_source
from qb_pipeline.sources.quickbooks.settings import DATASET_NAME


def _template_pipeline() -> dlt.Pipeline:
    """The pipeline `@dlt_assets` asks for when definitions load. Each run uses the
    organization's own pipeline (pipeline_for_org), so this one has no destination: at load
    dagster-dlt reads nothing from it but the destination's name, which the translator
    states itself, and resolving a DuckDB destination's configuration costs the code
    location about 0.4 s (bench/code_location_bench.py). Its working folder is a temporary
    one, so loading definitions writes nothing under QBP_HOME."""
    folder = Path(tempfile.gettempdir()) / "qbp-dlt-template"
    return dlt.pipeline(
        pipeline_name="quickbooks_template", dataset_name=DATASET_NAME, pipelines_dir=str(folder)
    )


@dlt_assets(
    # Built without a client: the source makes no request until it runs (its docstring).
    dlt_source=quickbooks_source(client=None, org_id="template", realm_id="0"),
    dlt_pipeline=_template_pipeline(),
    name="quickbooks_raw",
    dagster_dlt_translator=QuickBooksTranslator(),
    partitions_def=organizations,
)
def quickbooks_raw(
    context: AssetExecutionContext,
    dlt: DagsterDltResource,
    quickbooks: QuickBooksIntegration,
    org_writer: OrganizationWriter,
) -> Iterator[MaterializeResult]:
    """Import one organization's QuickBooks company with dlt (its partition)."""
    # `org_writer` holds the organization's writer lock for the whole run (resources.py).
    yield from load_raw(context, dlt, quickbooks)


model_assets = build_model_assets()
mart_keys = [key for m in model_assets for key in m.keys if key.path[0] == "marts"]


# The serving copy waits for the marts and the goal assets (defs/goals), so BI sees fresh
# goal values.
@asset(
    key=SERVING_WAREHOUSE,
    group_name=SERVING_GROUP,
    deps=[*mart_keys, *GOAL_ASSETS],
    partitions_def=organizations,
    kinds={"duckdb"},
    description=(
        "The read-only copy of the organization's warehouse that its BI tools open "
        "($QBP_HOME/serving/<org>.duckdb, that organization's rows only), replaced atomically "
        "after every successful sync: readers never block the pipeline and never see a "
        "half-written state. Connect with `duckdb -readonly $QBP_HOME/serving/<org>.duckdb`, "
        "DBeaver's DuckDB driver (read-only), or "
        "`duckdb.connect(path, read_only=True)`."
    ),
)
def serving_warehouse(
    context: AssetExecutionContext,
    quickbooks: QuickBooksIntegration,
    org_writer: OrganizationWriter,
) -> MaterializeResult:
    # `org_writer` holds the organization's writer lock for the whole run (resources.py).
    return publish_serving(context, quickbooks)


quickbooks_assets = [quickbooks_raw, *model_assets, serving_warehouse]
