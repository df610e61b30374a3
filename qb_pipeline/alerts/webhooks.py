"""The digest as a signed webhook: one JSON POST per endpoint and run.

Headers (docs/alerts.md has a verification snippet):

    Content-Type: application/json
    X-QBP-Event: goal_alerts.digest
    X-QBP-Delivery: <delivery key>      the same on every attempt: receivers can deduplicate
    X-QBP-Timestamp: <unix seconds>     equal to the body's "sent_at"
    X-QBP-Signature: sha256=<hex>       HMAC-SHA256 of the raw body with the endpoint's secret

The signature covers the body only, as the issue asks; the body carries `sent_at`, so a
receiver that checks the signature also knows the timestamp is genuine and can refuse old
replays. The body holds goal figures and names only: never a secret, a token or an address
of another recipient.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

import httpx

from qb_pipeline.alerts.changes import Change
from qb_pipeline.alerts.deliveries import GAVE_UP, OK, RETRY, AttemptResult

EVENT = "goal_alerts.digest"
SIGNATURE_HEADER = "X-QBP-Signature"
TIMESTAMP_HEADER = "X-QBP-Timestamp"
DELIVERY_HEADER = "X-QBP-Delivery"
EVENT_HEADER = "X-QBP-Event"
USER_AGENT = "qb-goals-alerts/1"
# Worth another attempt: the receiver is busy, down or slow, not refusing the content.
RETRY_STATUSES = {408, 425, 429}


def payload(
    delivery_key: str, org_slug: str, realm_id: str, run_id: str, changes: Sequence[Change]
) -> dict[str, Any]:
    return {
        "event": EVENT,
        "delivery": delivery_key,
        "organization": org_slug,
        "realm_id": realm_id,
        "run_id": run_id,
        "sent_at": int(time.time()),
        "changes": [c.to_dict() for c in changes],
    }


def body_of(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of `body` keyed by the endpoint's secret."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return bool(header) and hmac.compare_digest(signature(secret, body), header or "")


def headers(delivery_key: str, sent_at: int, signed: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: EVENT,
        DELIVERY_HEADER: delivery_key,
        TIMESTAMP_HEADER: str(sent_at),
        SIGNATURE_HEADER: signed,
    }


def post_once(
    url: str, body: bytes, request_headers: dict[str, str], timeout: float
) -> AttemptResult:
    """One POST: ok on 2xx; retry on 5xx, 408/425/429, timeouts and connection errors;
    failed on any other answer (the receiver refuses it; trying again would not help).
    Redirects are not followed (a signed body is for the URL the admin configured)."""
    try:
        response = httpx.post(
            url, content=body, headers=request_headers, timeout=timeout, follow_redirects=False
        )
    except httpx.TimeoutException:
        return AttemptResult(RETRY, None, f"no answer within {timeout:g} s")
    except httpx.HTTPError as error:
        return AttemptResult(RETRY, None, f"{type(error).__name__}: {_first_line(error)}")
    code = response.status_code
    if 200 <= code < 300:
        return AttemptResult(OK, code)
    reason = f"HTTP {code} {response.reason_phrase}".strip()
    if code >= 500 or code in RETRY_STATUSES:
        return AttemptResult(RETRY, code, reason)
    return AttemptResult(GAVE_UP, code, reason)


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [""])[0][:300]
