"""The HTTP response the site handlers return, independent of the server that sends it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["HTML", "Response", "html", "json_response", "not_modified", "redirect", "text"]

HTML = "text/html; charset=utf-8"


@dataclass(slots=True)
class Response:
    """Status, body and headers; ``last_modified`` becomes the ``Last-Modified`` header."""

    status: int
    body: bytes
    content_type: str = HTML
    last_modified: datetime | None = None
    headers: dict[str, str] = field(default_factory=dict)


def html(body: str, *, status: int = 200, last_modified: datetime | None = None) -> Response:
    return Response(status, body.encode("utf-8"), HTML, last_modified)


def text(
    body: str | bytes,
    content_type: str,
    *,
    status: int = 200,
    last_modified: datetime | None = None,
) -> Response:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return Response(status, data, content_type, last_modified)


def json_response(payload: Any, *, status: int = 200) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, "application/json; charset=utf-8")


def redirect(location: str, *, status: int = 301) -> Response:
    return Response(status, b"", HTML, headers={"Location": location})


def not_modified(last_modified: datetime | None = None) -> Response:
    return Response(304, b"", HTML, last_modified)
