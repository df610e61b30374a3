"""How dlt resources of the `quickbooks` source appear in Dagster.

Each resource's table is the asset `qbo_raw/<table>` in group `quickbooks_raw`. dagster-dlt's
default translator would also give every asset an upstream key `<source>_<resource>` that no
definition produces (a "phantom" asset in the lineage graph); here the raw tables have no
upstream assets: QuickBooks itself is outside Dagster.
"""

from __future__ import annotations

from typing import Any

from dagster import AssetKey, AssetSpec, TableColumn, TableSchema
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.common.normalizers.naming.snake_case import NamingConvention

from qb_pipeline.defs.keys import RAW_GROUP

RAW_SCHEMA = "qbo_raw"

# Dagster's standard metadata keys (the UI shows them as the table's name and columns).
TABLE_NAME = "dagster/table_name"
COLUMN_SCHEMA = "dagster/column_schema"
STORAGE_KIND = "dagster/storage_kind"

_naming = NamingConvention()


def raw_table_name(resource: Any) -> str:
    """The DuckDB table a resource loads into (dlt's snake_case naming)."""
    table = resource.table_name
    return _naming.normalize_table_identifier(table if isinstance(table, str) else resource.name)


def raw_asset_key(table: str) -> AssetKey:
    return AssetKey([RAW_SCHEMA, table])


def _declared_columns(resource: Any) -> TableSchema | None:
    """The columns a resource declares up front (dlt column hints), if any; the full schema
    is attached to each materialization once dlt has seen the data."""
    hints = resource.columns
    if not isinstance(hints, dict) or not hints:
        return None
    columns = []
    for name, hint in hints.items():
        hint = hint or {}
        columns.append(
            TableColumn(
                name=_naming.normalize_identifier(name),
                type=str(hint.get("data_type", "unknown")),
                description=hint.get("description"),
            )
        )
    return TableSchema(columns=columns)


class QuickBooksTranslator(DagsterDltTranslator):
    """Readable keys (`qbo_raw/<table>`), one group, no phantom upstream keys."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        default = super().get_asset_spec(data)
        table = raw_table_name(data.resource)
        description = (default.description or "").strip() or (
            f"QuickBooks `{data.resource.name}` records as loaded by dlt into "
            f"{RAW_SCHEMA}.{table}, merged on (org_id, realm_id, id)."
        )
        # The template pipeline has no destination (assets.py): the storage is stated here.
        metadata = {
            **default.metadata,
            TABLE_NAME: f"{RAW_SCHEMA}.{table}",
            STORAGE_KIND: "duckdb",
        }
        columns = _declared_columns(data.resource)
        if columns is not None:
            metadata[COLUMN_SCHEMA] = columns
        return default.replace_attributes(
            key=raw_asset_key(table),
            deps=[],
            group_name=RAW_GROUP,
            description=description,
            metadata=metadata,
            kinds={"dlt", "duckdb"},
        )
