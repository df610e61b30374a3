"""Everything one running emulator holds: companies, OAuth grants, faults, limits, logs.

`build_state` assembles it from the settings: the generated companies (accounting
backend), the OAuth authority, an empty fault queue and the rate limiter.

With `companies=N` the backend also carries N load-test companies after the named ones.
Their ledgers and report indexes are built lazily, on a company's first account query or
report (~6 ms each), not at start-up: eagerly, 200 of them would add ~1.3 s and ~70 MB
before the emulator answers, for companies a load test may never read.
"""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass, field
from datetime import date

from qb_pipeline.sandbox.accounting.companies import EmulatorBackend
from qb_pipeline.sandbox.accounting.ledger import BASES
from qb_pipeline.sandbox.generate.company_builder import check_load_test_count, generate_backend
from qb_pipeline.sandbox.oauth.backend import OAuthServer
from qb_pipeline.sandbox.reports.sums import account_index
from qb_pipeline.sandbox.server.faults import FaultQueue
from qb_pipeline.sandbox.server.limits import RateLimiter


@dataclass
class EmulatorSettings:
    """How the emulator was started; `limits_enabled` can change at run time."""

    seed: int = 1
    size: str = "small"
    today: date | None = None
    limits_enabled: bool = True
    strict_rotation: bool = False
    # Load-test companies served besides the named ones (`--companies N`), 0..1000.
    companies: int = 0

    def __post_init__(self) -> None:
        check_load_test_count(self.companies)


@dataclass
class RequestLogEntry:
    method: str
    path: str
    realm_id: str | None
    status: int


@dataclass
class EmulatorState:
    settings: EmulatorSettings
    backend: EmulatorBackend
    oauth: OAuthServer
    faults: FaultQueue
    limiter: RateLimiter
    request_log: list[RequestLogEntry] = field(default_factory=list)
    log_lock: threading.Lock = field(default_factory=threading.Lock)

    def log_request(self, entry: RequestLogEntry) -> None:
        with self.log_lock:
            self.request_log.append(entry)


def build_state(settings: EmulatorSettings) -> EmulatorState:
    """Generate the companies and wire up OAuth, faults and limits for one emulator."""
    backend = generate_backend(
        seed=settings.seed,
        size=settings.size,
        today=settings.today,
        load_test_companies=settings.companies,
    )
    for company in backend.list_companies():
        if company.load_test_index is not None:
            continue  # small: built on first use (see the module docstring)
        # Build the ledgers and the reports' per-account index now, so that the first
        # report or account query is not slow (seconds on the large company).
        ledger = company.ledger
        for basis in BASES:
            account_index(ledger, basis)
    # Millions of long-lived records: keep them out of the cyclic GC's full passes, which
    # otherwise pause a large emulator for 150-300 ms at random requests.
    gc.freeze()
    oauth = OAuthServer(
        backend=backend, clock=backend.clock, strict_rotation=settings.strict_rotation
    )
    return EmulatorState(
        settings=settings,
        backend=backend,
        oauth=oauth,
        faults=FaultQueue(),
        limiter=RateLimiter(enabled=lambda: settings.limits_enabled),
    )
