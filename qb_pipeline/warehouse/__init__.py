"""The warehouse's SQL layers: staging views `qbo.*` and BI views `marts.*` over `qbo_raw`.

Each model is one file under `sql/` (see model_files.py for the header format); `transform.py`
runs them; `connection_status.py` copies connection states from the control DB."""

from qb_pipeline.warehouse.connection_status import (
    connection_status_row,
    write_connection_status,
)
from qb_pipeline.warehouse.model_files import SqlModel, load_models, model
from qb_pipeline.warehouse.transform import (
    WarehouseNotReady,
    build_marts,
    build_staging,
    model_row_count,
    run_model,
    run_sql_models,
)

__all__ = [
    "SqlModel",
    "WarehouseNotReady",
    "build_marts",
    "build_staging",
    "connection_status_row",
    "load_models",
    "model",
    "model_row_count",
    "run_model",
    "run_sql_models",
    "write_connection_status",
]
