"""Read QuickBooks fault bodies, whatever shape they come in (reference 6.1-6.3, 7).

Three shapes are real: data faults `{"Fault": {"Error": [{"Message", "Detail", "code"}],
"type"}}`, the gateway's lower-case envelope `{"fault": {"error": [{"message", "detail",
"code"}], "type"}}` (401, 403), and XML `<IntuitResponse><Fault type><Error code><Message>
<Detail>` that throttles have carried even to JSON clients. Gateway pages (502/503/504) are
HTML and have no fault at all.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

# The 401 detail echoes the start of the rejected token ("Token expired: AB0123...").
_TOKEN_ECHO = re.compile(r"(?i)(token[^:]*:\s*)\S+")
# Entity declarations are how XML bombs work; a fault never needs them.
_XML_DANGER = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class FaultError:
    code: str | None
    message: str | None
    detail: str | None
    element: str | None = None


@dataclass(frozen=True)
class Fault:
    """A parsed fault: its `type` and its errors (first error first)."""

    type: str | None
    errors: tuple[FaultError, ...]

    @property
    def code(self) -> str | None:
        return self.errors[0].code if self.errors else None

    @property
    def message(self) -> str | None:
        return self.errors[0].message if self.errors else None

    @property
    def detail(self) -> str | None:
        return self.errors[0].detail if self.errors else None


def scrub_detail(text: str | None) -> str | None:
    """`text` without anything that follows "Token ...:" (a token prefix, never logged)."""
    if text is None:
        return None
    return _TOKEN_ECHO.sub(r"\1[redacted]", text)


def parse_fault(body: bytes, content_type: str | None = None) -> Fault | None:
    """The fault in a response body, or None when the body holds none (HTML pages, empty
    bodies, ordinary JSON)."""
    stripped = body.lstrip()
    if not stripped:
        return None
    looks_xml = stripped.startswith(b"<") or "xml" in (content_type or "").lower()
    if looks_xml:
        return _xml_fault(stripped)
    try:
        document = json.loads(stripped)
    except (ValueError, UnicodeDecodeError):
        return None
    return fault_in_json(document)


def fault_in_json(document: Any) -> Fault | None:
    """The `Fault`/`fault` member of a decoded JSON body (either casing), or None."""
    if not isinstance(document, dict):
        return None
    member = _member(document, "Fault")
    if not isinstance(member, dict):
        return None
    raw_errors = _member(member, "Error")
    if isinstance(raw_errors, dict):
        raw_errors = [raw_errors]
    errors = tuple(
        FaultError(
            code=_text(_member(item, "code")),
            message=_text(_member(item, "Message")),
            detail=scrub_detail(_text(_member(item, "Detail"))),
            element=_text(_member(item, "element")),
        )
        for item in raw_errors or []
        if isinstance(item, dict)
    )
    return Fault(type=_text(_member(member, "type")), errors=errors)


def _member(mapping: dict, name: str) -> Any:
    """`mapping[name]` in the casing Intuit used: as written, lower or capitalised."""
    for key in (name, name.lower(), name[:1].upper() + name[1:]):
        if key in mapping:
            return mapping[key]
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _xml_fault(body: bytes) -> Fault | None:
    if _XML_DANGER.search(body):
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    fault = next((el for el in root.iter() if _local(el.tag) == "Fault"), None)
    if fault is None:
        return None
    errors = []
    for error in fault:
        if _local(error.tag) != "Error":
            continue
        texts = {_local(child.tag): (child.text or "").strip() for child in error}
        errors.append(
            FaultError(
                code=error.get("code"),
                message=texts.get("Message"),
                detail=scrub_detail(texts.get("Detail")),
                element=error.get("element"),
            )
        )
    return Fault(type=fault.get("type"), errors=tuple(errors))


def _local(tag: str) -> str:
    """An element name without its `{namespace}`."""
    return tag.rsplit("}", 1)[-1]


__all__ = ["Fault", "FaultError", "fault_in_json", "parse_fault", "scrub_detail"]
