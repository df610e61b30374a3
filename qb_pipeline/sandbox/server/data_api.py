"""The v3 data API's wire format: `/v3/company/{realmId}/...` requests to backend calls.

Authentication, rate limits and injected faults happen before these handlers (middleware.py);
here a request is already allowed. Resources under `/v3/company/{realmId}/`:

- `GET query?query=<statement>`, or `POST query` with the statement as body
  (`application/text` or `text/plain`) -> `{"QueryResponse": {...}, "time"}`.
- `POST batch` `{"BatchItemRequest": [{"bId", "Query"}, ...]}` (at most 30 items) ->
  `{"BatchItemResponse": [{"bId", "QueryResponse" | "Fault"}], "time"}`.
- `GET cdc?entities=A,B&changedSince=<ISO>` -> `{"CDCResponse": [...], "time"}` (cdc.py).
- `GET reports/{ReportName}?<params>` -> the report, with no top-level `time`.
- `GET companyinfo/{realmId}`, `GET preferences` -> `{"CompanyInfo"|"Preferences": {...}, "time"}`.
- `GET {entity lower-case}/{id}` -> `{"<Entity>": {...}, "time"}`; 400 code 610 if absent.

Anything else is a fault: unknown resources get 400 "Unsupported Operation" (code 500),
writes (POST to an entity, batch create/update/delete, PUT/PATCH/DELETE) get the same fault
saying the emulator is read-only, and paths outside `/v3/company/{realmId}/` get 404.
`minorversion` is accepted and ignored, whatever its value: every answer is version 75, as
the real API does for any value below 75. Answers are JSON unless the client asks for XML
(`application/xml` or `text/xml`, without JSON) or sends no Accept header: then XML (a
minimal rendering, see wire.xml_document). `Accept: */*` gets JSON, as production clients
that send it (Python's requests does by default) rely on. A realm the emulator does not
host answers 403 code 3100, like a realm the app is not authorized for.
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from qb_pipeline.sandbox.accounting.cdc import (
    CdcError,
    change_data_capture,
    parse_changed_since,
    parse_entities,
)
from qb_pipeline.sandbox.accounting.companies import Company, EntityNotFound
from qb_pipeline.sandbox.accounting.entities import canonical_entity
from qb_pipeline.sandbox.accounting.query import QueryError, execute_query, parse_query
from qb_pipeline.sandbox.reports.catalog import ReportError, build_report
from qb_pipeline.sandbox.server import wire
from qb_pipeline.sandbox.server.state import EmulatorState

MAX_BATCH_ITEMS = 30

WRITE_OPERATIONS = ("create", "update", "delete", "void")
NOT_FOUND_PAGE = b"<html><body><h1>404 Not Found</h1></body></html>"


class ApiFaultError(Exception):
    """Stop handling and answer with this fault."""

    def __init__(self, fault: wire.Fault) -> None:
        super().__init__(fault.type)
        self.fault = fault


def query_fault(error: QueryError) -> wire.Fault:
    return wire.Fault(
        status=400,
        type=error.fault_type,
        errors=(wire.FaultError(message=error.message, detail=error.detail, code=error.code),),
    )


def cdc_fault(error: CdcError) -> wire.Fault:
    if error.kind == "missing":
        return wire.missing_parameter(error.parameter)
    if error.kind == "invalid":
        return wire.invalid_property(error.parameter, error.detail)
    return wire.unsupported_operation(error.detail)


def read_only_fault(operation: str, entity: str, realm_id: str) -> wire.Fault:
    return wire.unsupported_operation(
        f"Operation {operation} {entity} is not supported: this QuickBooks emulator's data "
        "API is read-only. Change data through the control API "
        f"(/_emulator/companies/{realm_id}/entities/{entity})."
    )


class DataApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def dispatch(self, request: Request) -> Response:
        path = request.url.path
        realm_id = wire.realm_from_path(path)
        if realm_id is None:
            return Response(NOT_FOUND_PAGE, 404, media_type=wire.HTML_CONTENT_TYPE)
        as_json = wire.wants_json(request.headers.get("accept"))
        company = self.state.backend.companies.get(realm_id)
        if company is None:
            moment = self.state.backend.clock.now().astimezone(ZoneInfo(wire.DEFAULT_TIMEZONE))
            fault = wire.authorization_fault(f"The app is not authorized for company {realm_id}.")
            body, content_type = fault.render(as_json, moment)
            return Response(body, 403, headers={"content-type": content_type})
        segments = [s for s in path.split("/")[4:] if s]
        raw_body = await request.body() if request.method == "POST" else b""
        try:
            # The lock keeps control-API writers from other threads out while we serialize.
            with company.lock:
                payload, timed = self._handle(request, company, segments, raw_body)
                return _ok(payload, company, as_json, timed)
        except ApiFaultError as failure:
            return _fault(failure.fault, company, as_json)

    def _handle(
        self, request: Request, company: Company, segments: list[str], raw_body: bytes
    ) -> tuple[Any, bool]:
        """The response body (without `time`) and whether it carries a top-level `time`."""
        method = request.method
        resource = segments[0].lower() if segments else ""
        if method == "GET":
            if segments == ["query"]:
                return self._query(company, request.query_params.get("query", "")), True
            if segments == ["cdc"]:
                return self._cdc(company, request), True
            if resource == "reports" and len(segments) == 2:
                return self._report(company, segments[1], request), False
            if resource == "companyinfo" and len(segments) == 2:
                return self._company_info(company, segments[1]), True
            if resource == "preferences" and len(segments) == 1:
                return {"Preferences": company.get("Preferences", "1")}, True
            entity = canonical_entity(resource)
            if len(segments) == 2 and entity is not None:
                return self._read(company, entity, segments[1]), True
        elif method == "POST":
            if segments == ["query"]:
                text = _utf8(raw_body) or request.query_params.get("query", "")
                return self._query(company, text), True
            if segments == ["batch"]:
                return self._batch(company, raw_body), True
        entity = canonical_entity(resource)
        if entity is not None:
            operation = request.query_params.get("operation") or _method_operation(method)
            raise ApiFaultError(read_only_fault(operation, entity, company.realm_id))
        raise ApiFaultError(
            wire.unsupported_operation(
                f"Operation Could not find resource for relative : {request.url.path} of full "
                f"path: {request.url} is not supported."
            )
        )

    # --- resources ------------------------------------------------------------------------
    def _query(self, company: Company, text: str) -> dict:
        try:
            return {"QueryResponse": execute_query(parse_query(text), company)}
        except QueryError as error:
            raise ApiFaultError(query_fault(error)) from None

    def _cdc(self, company: Company, request: Request) -> dict:
        params = request.query_params
        try:
            entities = parse_entities(params.get("entities"))
            since = parse_changed_since(params.get("changedSince"), company)
        except CdcError as error:
            raise ApiFaultError(cdc_fault(error)) from None
        return {"CDCResponse": change_data_capture(company, entities, since)}

    def _report(self, company: Company, name: str, request: Request) -> dict:
        params = {k: v for k, v in request.query_params.items() if k != "minorversion"}
        try:
            return build_report(company, name, params)
        except ReportError as error:
            raise ApiFaultError(
                wire.Fault(
                    status=error.status,
                    type=getattr(error, "fault_type", "ValidationFault"),
                    errors=(
                        wire.FaultError(
                            message=error.message, detail=error.detail, code=str(error.code)
                        ),
                    ),
                )
            ) from None

    def _company_info(self, company: Company, company_id: str) -> dict:
        if company_id != company.realm_id:
            raise ApiFaultError(wire.object_not_found("CompanyInfo", company_id))
        return {"CompanyInfo": company.get("CompanyInfo", "1")}

    def _read(self, company: Company, entity: str, record_id: str) -> dict:
        try:
            return {entity: company.get(entity, record_id)}
        except EntityNotFound:
            raise ApiFaultError(wire.object_not_found(entity, record_id)) from None

    def _batch(self, company: Company, raw_body: bytes) -> dict:
        try:
            payload = json.loads(raw_body)
        except (ValueError, UnicodeDecodeError):
            raise ApiFaultError(
                wire.invalid_property("BatchItemRequest", "the request body is not valid JSON")
            ) from None
        items = payload.get("BatchItemRequest") if isinstance(payload, dict) else None
        if not isinstance(items, list) or not items:
            raise ApiFaultError(wire.missing_parameter("BatchItemRequest"))
        if len(items) > MAX_BATCH_ITEMS:
            raise ApiFaultError(
                wire.invalid_property(
                    "BatchItemRequest",
                    f"a batch holds at most {MAX_BATCH_ITEMS} items, this one has {len(items)}",
                )
            )
        return {"BatchItemResponse": [self._batch_item(company, item) for item in items]}

    def _batch_item(self, company: Company, item: Any) -> dict:
        """Each item succeeds or fails on its own, as in QuickBooks."""
        if not isinstance(item, dict):
            fault = wire.invalid_property("BatchItemRequest", "each item must be an object")
            return {"Fault": fault.fault_member()}
        answer: dict[str, Any] = {"bId": item.get("bId")}
        if "Query" in item:
            try:
                answer["QueryResponse"] = execute_query(parse_query(str(item["Query"])), company)
            except QueryError as error:
                answer["Fault"] = query_fault(error).fault_member()
            return answer
        entity = next((canonical_entity(k) for k in item if canonical_entity(k)), None)
        operation = str(item.get("operation") or "create")
        if entity is not None or operation in WRITE_OPERATIONS:
            fault = read_only_fault(operation, entity or "object", company.realm_id)
        else:
            fault = wire.unsupported_operation(
                "Operation batch item is not supported: only Query items can be read."
            )
        answer["Fault"] = fault.fault_member()
        return answer


# --- rendering ------------------------------------------------------------------------------
def _ok(payload: Any, company: Company, as_json: bool, timed: bool) -> Response:
    moment = company.now_precise()
    if as_json:
        if timed:
            payload = {**payload, "time": wire.time_member(moment)}
        return Response(wire.dumps(payload), 200, headers={"content-type": wire.JSON_CONTENT_TYPE})
    body = wire.xml_document(payload, moment if timed else None)
    return Response(body.encode(), 200, headers={"content-type": wire.XML_CONTENT_TYPE})


def _fault(fault: wire.Fault, company: Company, as_json: bool) -> Response:
    body, content_type = fault.render(as_json, company.now_precise())
    return Response(body, fault.status, headers={"content-type": content_type, **fault.headers})


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ApiFaultError(
            wire.unsupported_operation("Operation query is not supported: payload is not UTF-8.")
        ) from None


def _method_operation(method: str) -> str:
    return {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}.get(
        method, method.lower()
    )
