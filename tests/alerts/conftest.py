"""The connection tests' control DB fixtures, on both engines (SQLite and Postgres)."""

from tests.connections.conftest import (  # noqa: F401 -- fixtures and the engine parametrization
    control_db_url,
    home,
    make_settings,
    pytest_generate_tests,
    secret_key,
)
