"""Wire-format pieces shared by the data API and the fault layer.

Fault bodies in their three real casings (data faults `Fault/Error/Message`, gateway auth
faults `fault/error/message` with null members, XML `IntuitResponse`), the standard
response headers, the top-level `time` member, and a minimal JSON-to-XML rendering for
clients that ask for XML (see `wants_json`).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from qb_pipeline.sandbox.accounting.clock import format_time_millis

try:
    import orjson
except ImportError:  # pragma: no cover - orjson comes with dlt
    orjson = None

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
XML_CONTENT_TYPE = "application/xml;charset=UTF-8"
HTML_CONTENT_TYPE = "text/html"
XML_NAMESPACE = "http://schema.intuit.com/finance/v3"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# A build number in the form Intuit's `QBO-Version` header carries.
QBO_VERSION = "1998.214"
# Timezone of faults that cannot be tied to a company (the sandbox's own zone).
DEFAULT_TIMEZONE = "America/Los_Angeles"


# --- identifiers and time --------------------------------------------------------------
def new_tid() -> str:
    """An `intuit_tid` value shaped like the real ones (`1-<8 hex>-<24 hex>`)."""
    return f"1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"


def time_member(moment: datetime) -> str:
    """The top-level `time` member: company-local offset, milliseconds."""
    return format_time_millis(moment)


def epoch_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def realm_from_path(path: str) -> str | None:
    """The realm id of a /v3/company/{realmId}/... path."""
    parts = path.split("/", 4)
    if len(parts) >= 4 and parts[1] == "v3" and parts[2] == "company" and parts[3]:
        return parts[3]
    return None


XML_MEDIA_TYPES: tuple[str, ...] = ("application/xml", "text/xml")


def wants_json(accept: str | None) -> bool:
    """JSON unless the client asks for XML, or sends no Accept header at all.

    What production clients see: `Accept: */*` (the default of Python's requests and of
    curl) and any other header that names neither format get JSON; a header naming JSON
    gets JSON even if it also names XML; `application/xml` or `text/xml` without JSON get
    XML, and so does a request with no (or an empty) Accept header."""
    if accept is None or not accept.strip():
        return False
    media_types = [part.split(";", 1)[0].strip().lower() for part in accept.split(",")]
    if any("json" in media_type for media_type in media_types):
        return True
    return not any(media_type in XML_MEDIA_TYPES for media_type in media_types)


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON. orjson (installed with dlt) is ~8x faster than the standard
    library on a 1,000-record page, which alone would eat the 50 ms page budget."""
    if orjson is not None:
        return orjson.dumps(body)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- faults ----------------------------------------------------------------------------
@dataclass(frozen=True)
class FaultError:
    """One `Error` of a Fault. `element=None` leaves the member out (as many real faults do)."""

    message: str
    code: str
    detail: str | None = None
    element: str | None = None


@dataclass(frozen=True)
class Fault:
    """A fault response: HTTP status, fault `type` and its errors.

    `gateway=True` marks faults raised by Intuit's gateway before the request reaches
    QuickBooks (authentication, authorization): their JSON uses the lower-case envelope.
    """

    status: int
    type: str
    errors: tuple[FaultError, ...]
    gateway: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def json_body(self, moment: datetime) -> dict:
        if self.gateway:
            return _gateway_body(self, moment)
        return {"Fault": self.fault_member(), "time": time_member(moment)}

    def fault_member(self) -> dict:
        """The `Fault` object alone (a batch item carries it without `time`)."""
        errors = []
        for error in self.errors:
            item: dict[str, Any] = {"Message": error.message}
            if error.detail is not None:
                item["Detail"] = error.detail
            item["code"] = error.code
            if error.element is not None:
                item["element"] = error.element
            errors.append(item)
        return {"Error": errors, "type": self.type}

    def xml_body(self, moment: datetime) -> str:
        parts = [f"<Fault type={quoteattr(self.type)}>"]
        for error in self.errors:
            attrs = f" code={quoteattr(error.code)}"
            if error.element is not None:
                attrs += f" element={quoteattr(error.element)}"
            parts.append(f"<Error{attrs}><Message>{escape(error.message)}</Message>")
            if error.detail is not None:
                parts.append(f"<Detail>{escape(error.detail)}</Detail>")
            parts.append("</Error>")
        parts.append("</Fault>")
        return intuit_response("".join(parts), moment)

    def render(self, as_json: bool, moment: datetime) -> tuple[bytes, str]:
        """Body bytes and content type."""
        if as_json:
            return dumps(self.json_body(moment)), JSON_CONTENT_TYPE
        return self.xml_body(moment).encode("utf-8"), XML_CONTENT_TYPE


def _gateway_body(fault: Fault, moment: datetime) -> dict:
    """The lower-case envelope Intuit's gateway answers with."""
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": e.message,
                    "detail": e.detail,
                    "code": e.code,
                    "element": e.element,
                }
                for e in fault.errors
            ],
            "type": fault.type,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": epoch_millis(moment),
        "status": None,
        "cdcresponse": [],
    }


def authentication_fault(detail: str) -> Fault:
    """401 for a missing, malformed, expired or revoked access token."""
    return Fault(
        status=401,
        type="AUTHENTICATION",
        errors=(
            FaultError(
                message="message=AuthenticationFailed; errorCode=003200; statusCode=401",
                detail=detail,
                code="3200",
            ),
        ),
        gateway=True,
        headers={"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
    )


def authorization_fault(detail: str | None = None) -> Fault:
    """403 when the token is valid but not for this realm (or scope); gateway envelope,
    type SERVICE, as captured from real responses."""
    return Fault(
        status=403,
        type="SERVICE",
        errors=(
            FaultError(
                message="message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                detail=detail,
                code="3100",
            ),
        ),
        gateway=True,
    )


THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"


def throttle_fault(retry_after: int | None = None) -> Fault:
    """429 ThrottleExceeded; `Retry-After` only when asked for."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return Fault(
        status=429,
        type="SERVICE",
        errors=(
            FaultError(
                message=THROTTLE_MESSAGE, detail="The request limit was reached.", code="3001"
            ),
        ),
        headers=headers,
    )


def throttle_xml(moment: datetime) -> str:
    """The XML throttle body as Intuit has served it even to JSON clients."""
    body = (
        '<Fault type="SERVICE"><Error code="3001">'
        f"<Message>{THROTTLE_MESSAGE}</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail>"
        "</Error></Fault>"
    )
    return intuit_response(body, moment)


def system_fault() -> Fault:
    """500 SystemFault 10000."""
    return Fault(
        status=500,
        type="SystemFault",
        errors=(
            FaultError(
                message="An application error has occurred while processing your request",
                detail=(
                    "System Failure Error: An unexpected error occurred while accessing or "
                    "saving your data. Please wait a few minutes and try again. If the "
                    "problem persists, contact customer support."
                ),
                code="10000",
                element="",
            ),
        ),
    )


def object_not_found(entity: str, record_id: str) -> Fault:
    """400 code 610, what QuickBooks answers for an id it does not have."""
    return Fault(
        status=400,
        type="ValidationFault",
        errors=(
            FaultError(
                message="Object Not Found",
                detail=(
                    "Object Not Found : Something you're trying to use has been made "
                    "inactive. Check the fields with accounts, customers, items, vendors "
                    "or employees."
                ),
                code="610",
                element="",
            ),
        ),
    )


def unsupported_operation(detail: str) -> Fault:
    """400 code 500 "Unsupported Operation" (unknown resource, method or operation)."""
    return Fault(
        status=400,
        type="ValidationFault",
        errors=(FaultError(message="Unsupported Operation", detail=detail, code="500"),),
    )


def validation_fault(message: str, detail: str, code: str = "2010") -> Fault:
    """400 ValidationFault with an `element` member, like request-validation faults."""
    return Fault(
        status=400,
        type="ValidationFault",
        errors=(FaultError(message=message, detail=detail, code=code, element=""),),
    )


def invalid_property(name: str, why: str) -> Fault:
    return validation_fault(
        "Request has invalid or unsupported property",
        f"Property Name:{name} specified is unsupported or invalid: {why}",
        "2010",
    )


def missing_parameter(name: str) -> Fault:
    return validation_fault(
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {name} is missing in the request",
        "2020",
    )


# Gateway error pages: HTML from the load balancer, not QuickBooks faults.
GATEWAY_TITLES: dict[int, str] = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


def gateway_page(status: int) -> bytes:
    title = GATEWAY_TITLES[status]
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


# --- XML rendering -----------------------------------------------------------------------
def intuit_response(inner: str, moment: datetime) -> str:
    """Wrap XML elements in the `IntuitResponse` root with its `time` attribute."""
    return (
        f"{XML_DECLARATION}<IntuitResponse xmlns={quoteattr(XML_NAMESPACE)} "
        f"time={quoteattr(time_member(moment))}>{inner}</IntuitResponse>"
    )


def xml_document(body: dict, moment: datetime | None) -> str:
    """Render a JSON response body as QuickBooks XML.

    The mapping follows the schema's conventions: capitalised members are elements,
    lower-case scalar members (`domain`, `sparse`, `startPosition`, `code`, `type`, ...)
    are attributes, a reference's `value` is its text. A body with a top-level `time`
    becomes an `IntuitResponse`; a report becomes a `Report` root. Element order follows
    the JSON, not the XSD sequence: good enough for reading, not for strict validators.
    """
    members = {k: v for k, v in body.items() if k != "time"}
    if moment is None:  # reports: a single root element
        return XML_DECLARATION + _element("Report", members, namespace=True)
    inner = "".join(_members(members))
    return intuit_response(inner, moment)


def _members(members: dict) -> list[str]:
    out = []
    for key, value in members.items():
        if _is_attribute(key, value):
            continue
        if isinstance(value, list):
            out.extend(_element(key, item) for item in value)
        else:
            out.append(_element(key, value))
    return out


def _is_attribute(key: str, value: Any) -> bool:
    return key[:1].islower() and not isinstance(value, dict | list)


def _raw(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _text(value: Any) -> str:
    return escape(_raw(value))


def _element(name: str, value: Any, namespace: bool = False) -> str:
    ns = f" xmlns={quoteattr(XML_NAMESPACE)}" if namespace else ""
    if value is None:
        return ""
    if not isinstance(value, dict):
        return f"<{name}{ns}>{_text(value)}</{name}>"
    is_ref = name != "ColData" and "value" in value and all(k[:1].islower() for k in value)
    attrs = "".join(
        f" {k}={quoteattr(_raw(v))}"
        for k, v in value.items()
        if _is_attribute(k, v) and v is not None and not (is_ref and k == "value")
    )
    if is_ref:
        return f"<{name}{ns}{attrs}>{_text(value['value'])}</{name}>"
    children = "".join(_members(value))
    if not children:
        return f"<{name}{ns}{attrs}/>"
    return f"<{name}{ns}{attrs}>{children}</{name}>"
