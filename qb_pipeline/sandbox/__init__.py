"""A QuickBooks Online emulator: Intuit's OAuth, data API and reports on generated companies.

This is the surface the rest of the project uses (the demo, `qb-pipeline sandbox serve`,
tests and benchmarks); everything else is internal to the emulator. The layout, moto-style:

- `accounting/`: the backend. Companies and their records, the clock, the ledger, the query
  language (`query/`: lexer, parser, evaluation) and change data capture. No HTTP.
- `reports/`: reports computed from the ledger, one module per report family.
- `generate/`: the deterministic generated companies and their later activity.
- `oauth/`: the OAuth 2.0 / OpenID Connect authority (`backend.py`) and its pages and
  endpoints (`endpoints.py`).
- `server/`: the HTTP side: app, route table, request middleware (auth, limits, faults),
  wire format, control API, the running state and how to start it.
- `testing/`: aids for tests and the demo (a scripted person at the consent pages); not
  part of the emulator itself.

README.md beside this file describes what the emulator does and does not emulate.
The emulator imports nothing of the pipeline (qb_pipeline outside this package).
"""

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.generate.chart import CHART, AccountSpec
from qb_pipeline.sandbox.generate.company_builder import (
    LOAD_TEST_MAX,
    load_test_company_name,
    load_test_realm_id,
)
from qb_pipeline.sandbox.oauth.backend import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_USER_EMAIL,
    DEMO_USER_PASSWORD,
    HARD_EXPIRY_SECONDS,
    REFRESH_TOKEN_SECONDS,
)
from qb_pipeline.sandbox.server.app import create_app
from qb_pipeline.sandbox.server.runner import (
    RunningEmulator,
    free_port,
    serve_forever,
    start_in_thread,
)
from qb_pipeline.sandbox.server.state import EmulatorSettings, EmulatorState

__all__ = [
    "CHART",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_USER_EMAIL",
    "DEMO_USER_PASSWORD",
    "HARD_EXPIRY_SECONDS",
    "LOAD_TEST_MAX",
    "REFRESH_TOKEN_SECONDS",
    "AccountSpec",
    "Company",
    "EmulatorSettings",
    "EmulatorState",
    "RunningEmulator",
    "create_app",
    "free_port",
    "load_test_company_name",
    "load_test_realm_id",
    "serve_forever",
    "start_in_thread",
]
