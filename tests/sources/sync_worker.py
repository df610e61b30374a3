"""A sync in a separate OS process, so a test can kill it mid-load (`kill -9`).

Usage: python -m tests.sources.sync_worker QBP_HOME EMULATOR_URL REALM_ID ORG ENTITY,ENTITY,...
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def main(home: str, url: str, realm_id: str, org: str, entities: str) -> None:
    from pathlib import Path

    from tests.sources.conftest import Company, make_warehouse

    warehouse = make_warehouse(Path(home))
    company = Company(None, realm_id, base_url=url)
    warehouse.sync(org, company, entities=entities.split(","))


if __name__ == "__main__":
    main(*sys.argv[1:6])
