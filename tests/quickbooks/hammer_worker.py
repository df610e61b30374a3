"""A separate OS process that sends requests to one realm through a LocalRequestLimiter.

Run as `python -m tests.quickbooks.hammer_worker '<json options>'` with the access token in
QBP_TEST_TOKEN. Prints one JSON line: first start, last end (epoch seconds), counts, errors.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from qb_pipeline.quickbooks import LocalRequestLimiter, QuickBooksClient, RateWindow


def main(options: dict) -> dict:
    limiter = LocalRequestLimiter(
        Path(options["root"]),
        windows=tuple(RateWindow(limit, seconds) for limit, seconds in options["windows"]),
        concurrency=options["concurrency"],
        skew=options["skew"],
    )
    token = os.environ["QBP_TEST_TOKEN"]
    client = QuickBooksClient(
        options["realm_id"],
        options["url"],
        lambda rejected: token,
        limiter=limiter,
        max_attempts=1,  # a 429 must show up, not be retried away
        timeout=30.0,
    )
    outcome = {"done": 0, "errors": [], "first_start": None, "last_end": None}
    lock = threading.Lock()
    per_thread = options["requests"] // options["threads"]

    def work() -> None:
        for _ in range(per_thread):
            started = time.time()
            try:
                client.company_info()
                error = None
            except Exception as caught:  # reported to the test, which fails on any
                error = f"{type(caught).__name__}: {caught}"
            ended = time.time()
            with lock:
                outcome["done"] += 1
                if error:
                    outcome["errors"].append(error)
                if outcome["first_start"] is None or started < outcome["first_start"]:
                    outcome["first_start"] = started
                if outcome["last_end"] is None or ended > outcome["last_end"]:
                    outcome["last_end"] = ended

    threads = [threading.Thread(target=work) for _ in range(options["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    outcome["requests_made"] = client.requests_made
    return outcome


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
