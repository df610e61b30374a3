"""QuickBooksClient: every call this project makes to the QuickBooks Online data API.

Read-only by construction: the client has no generic request method. Its public methods
send GET requests, and POST only for `query` (long statements travel in the body) and
`batch` (up to 30 query statements in one request), both of which read. Every request
carries `minorversion` and `Accept: application/json`, goes through the per-realm limiter,
and is retried with backoff on 429, 500, 502, 503, 504, timeouts and connection errors. A
401 gets exactly one token refresh and one retry. Every other fault is raised at once as a
QuickBooksError carrying code, message, detail and `intuit_tid`; a fault that QuickBooks
answers for one query of a batch is returned for that query (BatchItemError). Every answer
is checked against the shape its endpoint must answer with (answers.py) before anything of
it is returned: a wrong one raises UnexpectedAnswer, never reads as "no records".
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx

from qb_pipeline.quickbooks import answers
from qb_pipeline.quickbooks.answers import QueryPage, Statement, Where
from qb_pipeline.quickbooks.errors import (
    AuthenticationError,
    AuthorizationError,
    NetworkError,
    QuickBooksError,
    ReportRangeTooWide,
    ServerError,
    ThrottledError,
    UnexpectedAnswer,
)
from qb_pipeline.quickbooks.faults import Fault, fault_in_json, parse_fault
from qb_pipeline.quickbooks.limiter import RequestLimiter, UnlimitedLimiter
from qb_pipeline.quickbooks.reports import truncation_marker
from qb_pipeline.quickbooks.retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after

try:
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
    _dumps: Callable[[Any], bytes] = orjson.dumps
except ImportError:  # pragma: no cover - orjson is a dependency
    import json

    _loads = json.loads

    def _dumps(value: Any) -> bytes:
        return json.dumps(value).encode("utf-8")


log = logging.getLogger(__name__)

TokenProvider = Callable[[str | None], str]
ErrorKind = TypeVar("ErrorKind", bound=QuickBooksError)

MINOR_VERSION = 75
# Intuit caps a query page at 1,000 records.
MAX_PAGE_SIZE = 1000
# A GET URL this long risks proxies' limits; longer statements go in a POST body.
MAX_GET_QUERY_CHARS = 2000
# The cached token is re-read from the provider this often (the connection service hands
# out tokens valid for at least 5 more minutes, and refreshes them when they are not).
TOKEN_REREAD_SECONDS = 60.0
# CDC answers at most 1,000 objects per entity and has no paging.
CDC_CAP = 1000

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_RECORD_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_REALM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The only resources a POST may reach: both carry query statements, which read.
_POST_RESOURCES = ("query", "batch")
# Intuit's recommended maximum of payloads per batch request (reference section 7).
MAX_BATCH_ITEMS = 30


@dataclass(frozen=True)
class CdcResult:
    """What changed since a moment: records per entity (deleted ones as `{"status":
    "Deleted", "Id", ...}` stubs) and the server time of the answer (the next watermark)."""

    entities: dict[str, list[dict]]
    time: datetime
    capped: tuple[str, ...] = field(default=())  # entities at CDC's 1,000-object cap


class BatchItemError(QuickBooksError):
    """One query of a batch that QuickBooks refused with its own fault, inside a `200 OK`
    answer; the other queries of the batch stand. Returned by `QuickBooksClient.batch`,
    not raised, so the caller decides per query."""


# One query's outcome in a batch: its records, or the fault QuickBooks answered for it.
BatchResult = list[dict] | BatchItemError


class QuickBooksClient:
    """A connection-reusing client for one company (realm)."""

    def __init__(
        self,
        realm_id: str,
        api_base: str,
        token_provider: TokenProvider,
        *,
        limiter: RequestLimiter | None = None,
        minorversion: int = MINOR_VERSION,
        timeout: float = 120.0,
        max_attempts: int = 6,
        user_agent: str = "qb-goals",
        retry_policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`token_provider(rejected)` returns an access token; `rejected` is the token that
        just got a 401 (the provider must then return a refreshed one) or None.
        `limiter`: None means no limits (tests); sync.client passes the shared one.
        `retry_policy`: the waits between attempts (tests pass tiny ones).
        `transport`: an httpx transport (a proxy, custom TLS, or a recorder in tests)."""
        if not _REALM.match(realm_id or ""):
            raise ValueError(f"realm id {realm_id!r} is not a QuickBooks realm id")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        self.realm_id = realm_id
        self.api_base = api_base.rstrip("/")
        self.minorversion = minorversion
        self.max_attempts = max_attempts
        self.retry_policy = retry_policy or RetryPolicy()
        self.limiter: RequestLimiter = limiter or UnlimitedLimiter()
        self._token_provider = token_provider
        self._token: str | None = None
        self._token_read_at = 0.0
        self._token_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self.requests_made = 0
        self.responses_by_status: Counter[int] = Counter()
        self.network_errors = 0
        self._company_path = f"/v3/company/{realm_id}"
        self._http = httpx.Client(
            base_url=self.api_base,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0)),
            headers={"Accept": "application/json", "User-Agent": user_agent},
            # Keep-alive pool sized to Intuit's 10 concurrent requests per realm.
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
            follow_redirects=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"QuickBooksClient(realm_id={self.realm_id!r}, api_base={self.api_base!r})"

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> QuickBooksClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ------------------------------------------------------------------------------
    def query(self, statement: str) -> dict:
        """The `QueryResponse` of one query statement (`{}` when nothing matched)."""
        return self._query_page(statement).response

    def _query_page(self, statement: str) -> QueryPage:
        statement = statement.strip()
        if len(statement) > MAX_GET_QUERY_CHARS:
            body, where = self._exchange(
                "POST", "query", content=statement.encode("utf-8"), content_type="application/text"
            )
        else:
            body, where = self._exchange("GET", "query", params={"query": statement})
        return answers.query_answer(body, where, Statement.of(statement))

    def query_all(
        self,
        entity: str,
        where: str | None = None,
        order_by: str = "MetaData.LastUpdatedTime",
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[list[dict]]:
        """Every matching record, a page (list) at a time, by STARTPOSITION paging; stops on
        a page shorter than `page_size` (Intuit's `totalCount` is not reliable)."""
        _check_identifier(entity, "entity")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
        base = f"SELECT * FROM {entity}"
        if where:
            base += f" WHERE {where}"
        if order_by:
            base += f" ORDERBY {order_by}"
        position = 1
        while True:
            page = self._query_page(f"{base} STARTPOSITION {position} MAXRESULTS {page_size}")
            records = page.records
            if records:
                yield records
            if len(records) < page_size:
                return
            position += page_size

    def batch(self, queries: Sequence[str]) -> list[BatchResult]:
        """Several query statements in one `POST batch` request per 30 of them.

        Returns one result per statement, in the order given: the records the statement
        selected (the list member of its `QueryResponse`; `[]` when nothing matched), or a
        BatchItemError carrying the code, message and detail of the fault QuickBooks
        answered for that statement alone; an answer without exactly one item per
        statement (a bId missing, unknown or twice) is an UnexpectedAnswer, like every
        answer of the wrong shape. A query answers at most 1,000 records, as
        anywhere (`MAXRESULTS`); page larger reads with `query_all`. Faults of the whole
        request (401, 429, 5xx, ...) are handled as for every other call: retried,
        refreshed once, or raised.

        Intuit also caps batch requests on their own, at 40 a minute per company and app;
        the shared limiter does not count them apart (a sync sends one), so a caller that
        sends many batches is held back by 429s and their retries."""
        statements = [_batch_statement(query) for query in queries]
        results: list[BatchResult] = []
        for start in range(0, len(statements), MAX_BATCH_ITEMS):
            results.extend(self._batch_chunk(statements[start : start + MAX_BATCH_ITEMS]))
        return results

    def _batch_chunk(self, statements: list[str]) -> list[BatchResult]:
        payload = {
            "BatchItemRequest": [
                {"bId": str(index), "Query": statement}
                for index, statement in enumerate(statements)
            ]
        }
        body, where = self._exchange(
            "POST", "batch", content=_dumps(payload), content_type="application/json"
        )
        items = answers.batch_answer(body, where, statements)
        return [_batch_result(item, where) for item in items]

    def count(self, entity: str, where: str | None = None) -> int:
        """`SELECT COUNT(*)`: how many records match."""
        _check_identifier(entity, "entity")
        statement = f"SELECT COUNT(*) FROM {entity}" + (f" WHERE {where}" if where else "")
        body, answered = self._exchange("GET", "query", params={"query": statement})
        return answers.count_answer(body, answered)

    def read(self, entity: str, entity_id: str) -> dict:
        """One record by id (`GET /{entity}/{id}`)."""
        _check_identifier(entity, "entity")
        if not _RECORD_ID.match(entity_id or ""):
            raise ValueError(f"record id {entity_id!r} is not a QuickBooks id")
        body, where = self._exchange("GET", f"{entity.lower()}/{quote(entity_id, safe='')}")
        return answers.record_answer(body, where, entity)

    def company_info(self) -> dict:
        body, where = self._exchange("GET", f"companyinfo/{self.realm_id}")
        return answers.company_info_answer(body, where)

    def preferences(self) -> dict:
        body, where = self._exchange("GET", "preferences")
        return answers.preferences_answer(body, where)

    def report(self, name: str, params: Mapping[str, str]) -> dict:
        """A report (`GET /reports/{name}`). Raises ReportRangeTooWide when the gateway
        times out repeatedly or the report is truncated: ask again with a shorter range."""
        _check_identifier(name, "report name")
        body, where = self._exchange("GET", f"reports/{name}", params=dict(params), report=True)
        report = answers.report_answer(body, where)
        marker = truncation_marker(report)
        if marker is not None:
            raise ReportRangeTooWide(
                f"QuickBooks truncated the {name} report: {marker}",
                status=200,
                path=f"{self._company_path}/reports/{name}",
            )
        return report

    def cdc(self, entities: Sequence[str], changed_since: datetime) -> CdcResult:
        """Records of `entities` changed since `changed_since` (within the last 30 days),
        deletions included as stubs."""
        if not entities:
            raise ValueError("cdc needs at least one entity")
        for entity in entities:
            _check_identifier(entity, "entity")
        if changed_since.tzinfo is None:
            raise ValueError("changed_since must be timezone-aware")
        body, where = self._exchange(
            "GET",
            "cdc",
            params={
                "entities": ",".join(entities),
                "changedSince": changed_since.isoformat(timespec="seconds"),
            },
        )
        found, server_time = answers.cdc_answer(body, where, entities)
        capped = tuple(sorted(name for name, records in found.items() if len(records) >= CDC_CAP))
        return CdcResult(entities=found, time=server_time, capped=capped)

    # -- the one way out ---------------------------------------------------------------------
    def _exchange(
        self,
        method: Literal["GET", "POST"],
        resource: str,
        *,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        report: bool = False,
    ) -> tuple[dict, Where]:
        """Send a read to `/v3/company/{realm}/{resource}` with retries: the decoded body, and
        where it came from (the path and the answer's `intuit_tid`) for the shape checks."""
        # Structural guard: nothing but reads ever leaves this client.
        if method == "POST":
            if resource not in _POST_RESOURCES:
                raise ValueError(f"POST is only for query and batch, not {resource!r}")
        elif method != "GET":
            raise ValueError(f"the QuickBooks client only reads; {method!r} is not allowed")
        path = f"{self._company_path}/{resource}"
        query = {**(params or {}), "minorversion": str(self.minorversion)}
        headers = {"Content-Type": content_type} if content_type else {}
        failures = 0
        gateway_timeouts = 0
        refreshed = False
        while True:
            token = self._current_token()
            request = self._http.build_request(
                method,
                path,
                params=query,
                content=content,
                headers={**headers, "Authorization": f"Bearer {token}"},
            )
            outcome = self._attempt(request, path)
            if isinstance(outcome, httpx.TransportError):
                failures += 1
                if failures >= self.max_attempts:
                    raise NetworkError(
                        f"QuickBooks could not be reached after {failures} attempts: "
                        f"{type(outcome).__name__}",
                        path=path,
                    ) from None
                self._wait(failures, throttled=False, retry_after=None, path=path)
                continue
            response = outcome
            status = response.status_code
            if status == 200:
                return self._decode(response, path), Where(path, _tid(response))
            if status == 401 and not refreshed:
                # Intuit may end a token early: one refresh, one retry, no backoff.
                refreshed = True
                self._refresh_token(rejected=token)
                continue
            if status in RETRYABLE_STATUSES:
                failures += 1
                if status == 504 and report:
                    gateway_timeouts += 1
                    if gateway_timeouts >= self.retry_policy.report_gateway_attempts:
                        raise self._error(response, path, ReportRangeTooWide)
                if failures >= self.max_attempts:
                    kind = ThrottledError if status == 429 else ServerError
                    raise self._error(response, path, kind)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                self._wait(failures, throttled=status == 429, retry_after=retry_after, path=path)
                continue
            if status == 401:
                raise self._error(response, path, AuthenticationError)
            if status == 403:
                raise self._error(response, path, AuthorizationError)
            raise self._error(response, path, QuickBooksError)

    def _attempt(self, request: httpx.Request, path: str) -> httpx.Response | httpx.TransportError:
        """One request through the limiter; the response (body read) or the transport error."""
        with self.limiter.acquire(self.realm_id):
            started = time.perf_counter()
            try:
                response = self._http.send(request)
                response.read()
            except httpx.TransportError as error:
                elapsed = (time.perf_counter() - started) * 1000
                self._count(None)
                log.warning(
                    "QuickBooks %s %s failed after %.0f ms: %s",
                    request.method,
                    path,
                    elapsed,
                    type(error).__name__,
                )
                return error
        elapsed = (time.perf_counter() - started) * 1000
        self._count(response.status_code)
        level = logging.DEBUG if response.status_code == 200 else logging.WARNING
        log.log(
            level,
            "QuickBooks %s %s -> %d in %.0f ms (intuit_tid=%s)",
            request.method,
            path,
            response.status_code,
            elapsed,
            _tid(response),
        )
        return response

    def _decode(self, response: httpx.Response, path: str) -> dict:
        try:
            body = _loads(response.content)
        except ValueError:
            fault = parse_fault(response.content, response.headers.get("content-type"))
            if fault is not None:  # an XML fault with status 200
                raise _fault_error(QuickBooksError, fault, 200, _tid(response), path) from None
            problem = "$: expected JSON, found another body"
            raise UnexpectedAnswer(path, problem, intuit_tid=_tid(response)) from None
        if not isinstance(body, dict):
            problem = f"$: expected an object, found {answers.kind(body)}"
            raise UnexpectedAnswer(path, problem, intuit_tid=_tid(response))
        fault = fault_in_json(body)
        if fault is not None:  # a 200 carrying a Fault (legacy answers)
            raise _fault_error(QuickBooksError, fault, 200, _tid(response), path)
        return body

    def _error(
        self, response: httpx.Response, path: str, kind: type[QuickBooksError]
    ) -> QuickBooksError:
        fault = parse_fault(response.content, response.headers.get("content-type"))
        tid = _tid(response)
        if fault is not None:
            return _fault_error(kind, fault, response.status_code, tid, path)
        reason = response.reason_phrase or "error"
        return kind(
            f"QuickBooks answered HTTP {response.status_code} {reason}",
            status=response.status_code,
            intuit_tid=tid,
            path=path,
        )

    def _wait(
        self, failures: int, *, throttled: bool, retry_after: float | None, path: str
    ) -> None:
        delay = self.retry_policy.delay(failures, throttled=throttled, retry_after=retry_after)
        log.info(
            "QuickBooks %s: retry %d of %d in %.2f s%s",
            path,
            failures,
            self.max_attempts - 1,
            delay,
            " (Retry-After)" if retry_after is not None else "",
        )
        self.retry_policy.sleep(delay)

    # -- tokens and counters -----------------------------------------------------------------
    def _current_token(self) -> str:
        with self._token_lock:
            now = time.monotonic()
            if self._token is None or now - self._token_read_at > TOKEN_REREAD_SECONDS:
                self._token = self._token_provider(None)
                self._token_read_at = now
            return self._token

    def _refresh_token(self, rejected: str) -> None:
        with self._token_lock:
            if self._token == rejected:
                self._token = self._token_provider(rejected)
                self._token_read_at = time.monotonic()
            # else another thread already replaced it; use the replacement.

    def _count(self, status: int | None) -> None:
        with self._stats_lock:
            self.requests_made += 1
            if status is None:
                self.network_errors += 1
            else:
                self.responses_by_status[status] += 1


# -- helpers -----------------------------------------------------------------------------------
def _tid(response: httpx.Response) -> str | None:
    # Header lookup ignores case, but older captures spell it `Intuit-Tid` (a hyphen).
    return response.headers.get("intuit_tid") or response.headers.get("intuit-tid")


def _fault_error(
    kind: type[ErrorKind], fault: Fault, status: int, tid: str | None, path: str
) -> ErrorKind:
    return kind(
        fault.message or f"QuickBooks fault {fault.type or ''}".strip(),
        status=status,
        code=fault.code,
        detail=fault.detail,
        intuit_tid=tid,
        fault_type=fault.type,
        path=path,
    )


def _batch_statement(query: str) -> str:
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"a batch item must be a query statement, not {query!r}")
    return query.strip()


def _batch_result(item: dict, where: Where) -> BatchResult:
    """One checked `BatchItemResponse` member as its records or the error of its own fault."""
    page = item.get("QueryResponse")
    if isinstance(page, QueryPage):
        return page.records
    fault = fault_in_json(item)
    assert fault is not None  # answers.batch_answer: the item holds a Fault object
    return _fault_error(BatchItemError, fault, 200, where.intuit_tid, where.endpoint)


def _check_identifier(value: str, what: str) -> None:
    if not _IDENTIFIER.match(value or ""):
        raise ValueError(f"{what} {value!r} is not a QuickBooks name (letters and digits)")


__all__ = ["BatchItemError", "BatchResult", "CdcResult", "QuickBooksClient", "TokenProvider"]
