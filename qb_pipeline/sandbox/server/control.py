"""The emulator's control API under `/_emulator/`: set up, change and observe the emulator.

JSON in and out, no authentication (bind the emulator to loopback). Errors a caller can
cause answer 400 `{"error": "<field>: <what is wrong>"}`; unknown companies or records 404.

Routes (method, path, body -> answer):

- `POST /_emulator/apps` `{client_id, client_secret, redirect_uris: [...]}`
  -> 201 `{client_id, redirect_uris}`: registers an app the OAuth pages accept.
- `GET /_emulator/companies` -> `[{realmId, name, fiscalYearStartMonth (month name),
  homeCurrency, multiCurrency, today}]`, the demo company first, then the load-test
  companies (`--companies N`) in index order, whose rows also carry `loadTestIndex` (0-based).
- `POST /_emulator/tokens` `{client_id, realmId}` -> the token endpoint's exact body, issued
  for the demo user without the browser pages.
- `GET /_emulator/tokens` -> every access and refresh token issued, with its status.
- `GET /_emulator/requests?realmId=&since=` -> `[{index, method, path, realmId, status}]` for
  every /v3 request (throttled and faulted ones too), from log index `since` (default 0).
- `DELETE /_emulator/requests` -> `{cleared}`.
- `GET /_emulator/faults` -> the queued faults.
- `POST /_emulator/faults` `{status, count?, realmId?, format?, path_prefix?, delay_ms?,
  retry_after?}` -> 201, the queued fault (see below).
- `DELETE /_emulator/faults` -> `{cleared}`.
- `GET /_emulator/limits` -> `{enabled, per_minute, per_second, concurrent,
  batch_per_minute, usage: [...]}`.
- `PUT /_emulator/limits` `{enabled: bool}` -> as GET; every window restarts empty.
- `POST /_emulator/companies/{realmId}/clock` `{advance_days}` -> `{realmId, today, now}`.
- `POST /_emulator/companies/{realmId}/activity` `{days, change_ratio?, seed?}` -> summary
  counts of the simulated business (the company's clock moves `days` forward).
- `POST /_emulator/companies/{realmId}/entities/{Entity}` entity JSON -> 201
  `{"<Entity>": record}` with Id, SyncToken, domain, sparse and MetaData filled.
- `PATCH /_emulator/companies/{realmId}/entities/{Entity}/{id}` members to merge (`null`
  removes one) -> `{"<Entity>": record}` (SyncToken and LastUpdatedTime move on).
- `DELETE /_emulator/companies/{realmId}/entities/{Entity}/{id}` -> `{deleted: {entity, Id}}`
  plus `"<Entity>": record` for list records, which turn inactive (accounts are renamed
  "... (deleted)"); transactions vanish and only CDC reports them.
- `POST /_emulator/oauth/expire-access-tokens` `{realmId?}` -> `{realmId, done}`: live
  access tokens (of one realm, or all) now get 401 "Token expired".
- `POST /_emulator/oauth/revoke-refresh-tokens` `{realmId?}` -> `{realmId, done}`: grants
  are revoked; refreshes get `invalid_grant`, access tokens 401 "Token revoked".
- `PUT /_emulator/oauth/rotation` `{strict: bool}` -> `{strict}`: strict refresh-token
  rotation on or off.

Faults: `status` is 401 (expired token), 403, 429 (ThrottleExceeded; `format: "xml"` serves the
XML body some real throttles carry; `retry_after` adds a `Retry-After` header), 500
(SystemFault 10000), 502/503/504 (gateway HTML pages) or `"slow"` (wait `delay_ms`, then answer
normally; `delay_ms` also delays any other fault). The next `count` (default 1) /v3 requests
of `realmId` (default any) whose path starts with `path_prefix` (relative to
`/v3/company/{realmId}/`, e.g. `query` or `reports/`, or absolute when it starts with `/`) get it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qb_pipeline.sandbox.accounting.companies import Company, EntityNotFound
from qb_pipeline.sandbox.accounting.entities import SINGLETON_ENTITIES, canonical_entity
from qb_pipeline.sandbox.oauth.backend import OAuthError
from qb_pipeline.sandbox.server.faults import parse_fault_spec
from qb_pipeline.sandbox.server.state import EmulatorState

Handler = Callable[[Request], Awaitable[Response]]
KNOWN_LISTED = 10  # realm ids an unknown-company error lists


class ControlError(Exception):
    """Answer `{"error": message}` with `status`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- request helpers ---------------------------------------------------------------------
async def _json_object(request: Request, *, optional: bool = False) -> dict:
    raw = await request.body()
    if optional and not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ControlError("body: must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError("body: must be a JSON object")
    return body


def _string(body: dict, name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ControlError(f"{name}: required, a non-empty string")
    return value


def _integer(body: dict, name: str, minimum: int, *, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ControlError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return value


def _boolean(body: dict, name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise ControlError(f"{name}: required, true or false")
    return value


def guarded(handler: Handler) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ControlError as error:
            return JSONResponse({"error": error.message}, status_code=error.status)

    return endpoint


class ControlApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def _company(self, realm_id: str | None, *, status: int = 404) -> Company:
        company = self.state.backend.companies.get(realm_id or "")
        if company is None:
            realms = list(self.state.backend.companies)
            known = ", ".join(realms[:KNOWN_LISTED])
            if len(realms) > KNOWN_LISTED:  # load-test companies: up to a thousand
                known += f", ... {len(realms) - KNOWN_LISTED} more"
            raise ControlError(f"realmId: no company {realm_id!r} (known: {known})", status)
        return company

    def _entity(self, name: str) -> str:
        entity = canonical_entity(name)
        if entity is None:
            raise ControlError(f"Entity: unknown entity {name!r}")
        return entity

    # --- apps and tokens -----------------------------------------------------------------
    async def register_app(self, request: Request) -> Response:
        body = await _json_object(request)
        client_id = _string(body, "client_id")
        client_secret = _string(body, "client_secret")
        uris = body.get("redirect_uris")
        if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
            raise ControlError("redirect_uris: required, a non-empty list of URLs")
        try:
            self.state.oauth.register_app(client_id, client_secret, uris)
        except ValueError as error:  # names and secret were checked above: a redirect URI
            raise ControlError(f"redirect_uris: {error}") from None
        return JSONResponse({"client_id": client_id, "redirect_uris": uris}, status_code=201)

    async def list_companies(self, request: Request) -> Response:
        return JSONResponse([_company_summary(c) for c in self.state.backend.list_companies()])

    async def issue_tokens(self, request: Request) -> Response:
        body = await _json_object(request)
        client_id = _string(body, "client_id")
        realm_id = _string(body, "realmId")
        self._company(realm_id, status=400)
        try:
            tokens = self.state.oauth.issue_tokens(client_id, realm_id)
        except (ValueError, OAuthError) as error:  # the realm was checked above: the app
            raise ControlError(f"client_id: {error}") from None
        return JSONResponse(tokens)

    async def list_tokens(self, request: Request) -> Response:
        return JSONResponse(self.state.oauth.issued_tokens())

    async def expire_access_tokens(self, request: Request) -> Response:
        realm_id = await self._optional_realm(request)
        done = self.state.oauth.expire_access_tokens(realm_id)
        return JSONResponse({"realmId": realm_id, "done": done})

    async def revoke_refresh_tokens(self, request: Request) -> Response:
        realm_id = await self._optional_realm(request)
        done = self.state.oauth.revoke_refresh_tokens(realm_id)
        return JSONResponse({"realmId": realm_id, "done": done})

    async def _optional_realm(self, request: Request) -> str | None:
        body = await _json_object(request, optional=True)
        realm_id = _string(body, "realmId", required=False)
        if realm_id is not None:
            self._company(realm_id, status=400)
        return realm_id

    async def set_rotation(self, request: Request) -> Response:
        strict = _boolean(await _json_object(request), "strict")
        self.state.oauth.strict_rotation = strict
        self.state.settings.strict_rotation = strict
        return JSONResponse({"strict": strict})

    # --- request log -------------------------------------------------------------------
    async def list_requests(self, request: Request) -> Response:
        realm_id = request.query_params.get("realmId")
        since_text = request.query_params.get("since", "0")
        if not since_text.isdigit():
            raise ControlError(f"since: must be a request index >= 0, got {since_text!r}")
        since = int(since_text)
        with self.state.log_lock:
            entries = list(enumerate(self.state.request_log))[since:]
        rows = [
            {
                "index": index,
                "method": entry.method,
                "path": entry.path,
                "realmId": entry.realm_id,
                "status": entry.status,
            }
            for index, entry in entries
            if realm_id is None or entry.realm_id == realm_id
        ]
        return JSONResponse(rows)

    async def clear_requests(self, request: Request) -> Response:
        with self.state.log_lock:
            cleared = len(self.state.request_log)
            self.state.request_log.clear()
        return JSONResponse({"cleared": cleared})

    # --- faults and limits -----------------------------------------------------------------
    async def list_faults(self, request: Request) -> Response:
        return JSONResponse([spec.as_json() for spec in self.state.faults.pending()])

    async def add_fault(self, request: Request) -> Response:
        body = await _json_object(request)
        try:
            fields = parse_fault_spec(body)
        except ValueError as error:
            raise ControlError(str(error)) from None
        if fields["realm_id"] is not None:
            self._company(fields["realm_id"], status=400)
        spec = self.state.faults.add(**fields)
        return JSONResponse(spec.as_json(), status_code=201)

    async def clear_faults(self, request: Request) -> Response:
        return JSONResponse({"cleared": self.state.faults.clear()})

    async def get_limits(self, request: Request) -> Response:
        return JSONResponse(self._limits())

    async def set_limits(self, request: Request) -> Response:
        enabled = _boolean(await _json_object(request), "enabled")
        self.state.settings.limits_enabled = enabled
        self.state.limiter.reset()
        return JSONResponse(self._limits())

    def _limits(self) -> dict[str, Any]:
        limiter = self.state.limiter
        return {
            "enabled": self.state.settings.limits_enabled,
            "per_minute": limiter.per_minute,
            "per_second": limiter.per_second,
            "concurrent": limiter.concurrent,
            "batch_per_minute": limiter.batch_per_minute,
            "usage": limiter.snapshot(),
        }

    # --- company data ----------------------------------------------------------------------
    async def advance_clock(self, request: Request) -> Response:
        company = self._company(request.path_params["realm_id"])
        days = _integer(await _json_object(request), "advance_days", 0)
        with company.lock:
            company.advance(days)
            company.invalidate_ledger()  # balances are as of "today", which just moved
        return JSONResponse(
            {
                "realmId": company.realm_id,
                "today": company.today().isoformat(),
                "now": company.now().isoformat(),
            }
        )

    async def simulate_activity(self, request: Request) -> Response:
        company = self._company(request.path_params["realm_id"])
        body = await _json_object(request)
        days = _integer(body, "days", 1)
        ratio = body.get("change_ratio", 0.02)
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
            raise ControlError(f"change_ratio: must be a number from 0 to 1, got {ratio!r}")
        seed = body.get("seed")
        if seed is not None:
            seed = _integer(body, "seed", 0)
        # Imported here so the control API still loads while the simulator is absent.
        from qb_pipeline.sandbox.generate.activity import simulate_activity

        with company.lock:
            summary = simulate_activity(company, days, change_ratio=float(ratio), seed=seed)
        return JSONResponse(summary)

    async def create_entity(self, request: Request) -> Response:
        company = self._company(request.path_params["realm_id"])
        entity = self._entity(request.path_params["entity"])
        if entity in SINGLETON_ENTITIES:
            raise ControlError(f"Entity: {entity} exists once per company; PATCH it instead")
        body = await _json_object(request)
        with company.lock:
            record_id = body.get("Id")
            if record_id is not None:
                if not isinstance(record_id, str) or not record_id:
                    raise ControlError("Id: must be a non-empty string when given")
                if record_id in company.store.get(entity, {}):
                    raise ControlError(f"Id: {entity} {record_id} already exists")
            record = company.add(entity, body)
        return JSONResponse({entity: record}, status_code=201)

    async def update_entity(self, request: Request) -> Response:
        company = self._company(request.path_params["realm_id"])
        entity = self._entity(request.path_params["entity"])
        body = await _json_object(request)
        record_id = request.path_params["record_id"]
        try:
            with company.lock:
                record = company.update(entity, record_id, body)
        except EntityNotFound:
            raise ControlError(f"Id: no {entity} {record_id!r}", 404) from None
        return JSONResponse({entity: record})

    async def delete_entity(self, request: Request) -> Response:
        company = self._company(request.path_params["realm_id"])
        entity = self._entity(request.path_params["entity"])
        record_id = request.path_params["record_id"]
        try:
            with company.lock:
                company.delete(entity, record_id)
                remaining = company.store.get(entity, {}).get(record_id)
        except KeyError:  # EntityNotFound, or a transaction id that is not stored
            raise ControlError(f"Id: no {entity} {record_id!r}", 404) from None
        except ValueError as error:
            raise ControlError(f"Entity: {error}") from None
        body: dict[str, Any] = {"deleted": {"entity": entity, "Id": record_id}}
        if remaining is not None:
            body[entity] = remaining
        return JSONResponse(body)


def _company_summary(company: Company) -> dict[str, Any]:
    preferences = company.store.get("Preferences", {}).get("1", {})
    currency = preferences.get("CurrencyPrefs", {})
    summary = {
        "realmId": company.realm_id,
        "name": company.name,
        "fiscalYearStartMonth": company.fiscal_year_start_name,
        "homeCurrency": company.home_currency,
        "multiCurrency": bool(currency.get("MultiCurrencyEnabled", False)),
        "today": company.today().isoformat(),
    }
    if company.load_test_index is not None:
        summary["loadTestIndex"] = company.load_test_index
    return summary
