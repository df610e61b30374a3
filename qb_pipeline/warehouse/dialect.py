"""The one place where the warehouse's SQL differs between DuckDB and Postgres: schema names.

The model files (sql/) are standard SQL that both engines run unchanged and name their
relations by layer: `qbo_raw.account`, `qbo.accounts`, `marts.pnl_monthly`. On DuckDB each
organization has its own file, so those names are used as they are. On Postgres every
organization shares one database and has its own schemas (docs/decisions.md, "The warehouse
on Postgres"):

| layer     | DuckDB file | Postgres schema        |
|-----------|-------------|------------------------|
| raw (dlt) | `qbo_raw`   | `raw_<org>`            |
| dlt's own staging | `qbo_raw_staging` | `load_raw_<org>` |
| staging   | `qbo`       | `qbo_<org>`            |
| marts     | `marts`     | `marts_<org>`          |
| goal tables (the marts' goal views read them) | `goals` | `goals_<org>` |

(`<org>` is the slug with '-' as '_'.) The prefixes are prefix-free (none starts another), so
no two organizations' schemas can ever have the same name; and each name is one that dlt's
naming convention leaves as it is (dlt would turn `a__b` into `a_b`), which is checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from qb_pipeline.config import org_slug_checked

LAYERS: tuple[str, ...] = ("qbo_raw", "qbo", "marts", "goals")
POSTGRES_PREFIXES: dict[str, str] = {
    "qbo_raw": "raw",
    "qbo": "qbo",
    "marts": "marts",
    "goals": "goals",
}
# dlt's staging dataset (merges go through it), as a layout of the raw dataset's name.
POSTGRES_DLT_STAGING_LAYOUT = "load_%s"
# Postgres' identifier limit, in bytes (longer names are cut, silently).
MAX_IDENTIFIER = 63

# A layer's name where the model SQL names a relation: `qbo.accounts`, not `a.org_id` or
# `"qbo".x` inside a longer name.
_LAYER_REFERENCE = re.compile(r"(?<![\w.\"])(" + "|".join(LAYERS) + r")\.(?=[\w\"])")


class UnfitOrganizationName(ValueError):
    """An organization slug that cannot name Postgres schemas (dlt would change it)."""


def postgres_schemas(org_id: str) -> dict[str, str]:
    """{layer: the organization's Postgres schema} for each layer of LAYERS."""
    org = org_slug_checked(org_id).replace("-", "_")
    schemas = {layer: f"{POSTGRES_PREFIXES[layer]}_{org}" for layer in LAYERS}
    # Imported here: the web app reads the warehouse and need not load dlt.
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    naming = NamingConvention()
    for name in (*schemas.values(), POSTGRES_DLT_STAGING_LAYOUT % schemas["qbo_raw"]):
        if naming.normalize_identifier(name) != name or len(name) > MAX_IDENTIFIER:
            raise UnfitOrganizationName(
                f"organization slug {org_id!r} cannot name its Postgres schemas (a schema "
                f"would be {name!r}): use a slug without '--' and without a '-' at its end"
            )
    return schemas


def qualified_sql(sql: str, schemas: Mapping[str, str]) -> str:
    """`sql` with each layer's relations in that layer's schema of `schemas` (quoted);
    unchanged when `schemas` is empty (DuckDB)."""
    if not schemas:
        return sql
    return _LAYER_REFERENCE.sub(lambda found: f'"{schemas[found.group(1)]}".', sql)


def qualified_name(name: str, schemas: Mapping[str, str]) -> str:
    """A `layer.table` name in its schema of `schemas` (as it is when `schemas` is empty)."""
    return qualified_sql(name, schemas)


def schema_name(layer: str, schemas: Mapping[str, str]) -> str:
    """The schema of `layer` in `schemas` (quoted), or the layer's own name (DuckDB)."""
    return f'"{schemas[layer]}"' if schemas else layer
