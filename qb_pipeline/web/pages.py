"""Rendering: the Jinja2 environment, flash messages and error pages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from qb_pipeline.web.csrf import FIELD_NAME, csrf_token

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

FLASH_LABELS = {"success": "Success", "error": "Error", "info": "Note"}


class PageError(Exception):
    """Stop handling a request and answer with an error page that says why."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def flash(request: Request, level: str, text: str) -> None:
    """Queue a message for the next page this session sees."""
    messages = list(request.session.get("flash") or [])
    messages.append([level, text])
    request.session["flash"] = messages[-5:]


def _take_flashes(request: Request) -> list[dict[str, str]]:
    messages = request.session.pop("flash", None) or []
    return [
        {"level": level, "label": FLASH_LABELS.get(level, "Note"), "text": text}
        for level, text in messages
    ]


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    """A page with the common context: the signed-in user, CSRF field, flashes."""
    full = {
        "user": request.session.get("user"),
        "csrf_field": FIELD_NAME,
        "csrf_token": csrf_token(request),
        "flashes": _take_flashes(request),
        **(context or {}),
    }
    return templates.TemplateResponse(request, template, full, status_code=status)


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def see_other(url: str) -> Response:
    """303: after a POST the browser follows with a GET."""
    return RedirectResponse(url, status_code=303)


# -- formatting ---------------------------------------------------------------------


def _as_datetime(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_when(value: object, timezone: str | None = None) -> str:
    """`15 Nov 2026, 14:03 CET` in the organization's time zone (UTC if unknown)."""
    moment = _as_datetime(value)
    if moment is None:
        return "—" if value in (None, "") else str(value)
    try:
        zone = ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = moment.astimezone(zone)
    return f"{local:%-d %b %Y, %H:%M} {local.tzname() or ''}".rstrip()


def iso_utc(value: object) -> str:
    """Machine-readable form for <time datetime=...>."""
    moment = _as_datetime(value)
    return moment.astimezone(UTC).isoformat() if moment else ""


def humanize(value: object) -> str:
    """`reauthorization_required` -> `Reauthorization required`."""
    text = str(value or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def sync_duration(run: object) -> str:
    """`2 min 5 s`, `37 s`: how long a finished sync took."""
    started, finished = getattr(run, "started_at", None), getattr(run, "finished_at", None)
    if started is None or finished is None:
        return "—"
    seconds = max(0, round((finished - started).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


templates.env.filters["when"] = format_when
templates.env.filters["sync_duration"] = sync_duration
templates.env.filters["iso_utc"] = iso_utc
templates.env.filters["humanize"] = humanize
