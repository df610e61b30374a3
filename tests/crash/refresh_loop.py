"""A process that does nothing but refresh one organization's tokens, so the crash harness can
kill it (`kill -9`) at a random moment inside a refresh.

Usage: python -m tests.crash.refresh_loop ORG

The environment names QBP_HOME, QBP_SECRET_KEY and the emulator. Asking for two hours of
validity from one-hour access tokens forces a refresh on every call. It prints `ready` after
the first refresh, then one line per hundred refreshes, until it is killed.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

FORCE_REFRESH = timedelta(hours=2)


def main(org: str) -> None:
    from qb_pipeline.config import load_settings
    from qb_pipeline.connections import IntegrationService

    service = IntegrationService(load_settings())
    service.access_token(org, min_valid=FORCE_REFRESH)
    print("ready", flush=True)
    done = 1
    while True:
        service.access_token(org, min_valid=FORCE_REFRESH)
        done += 1
        if done % 100 == 0:
            print(f"refreshed {done}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
