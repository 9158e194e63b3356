"""Virtual hosting: picks the site by ``Host`` header, serves static files, 404s, 304s.

:class:`DemoApp` knows nothing about sockets, so it can be called directly; the HTTP server
in :mod:`crawler.demosite.server` is a thin adapter around :meth:`DemoApp.handle`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from jinja2 import Environment

from crawler.demosite.model import SiteDef
from crawler.demosite.render import render
from crawler.demosite.responses import Response, html, not_modified, text

__all__ = ["STATIC_DIR", "DemoApp", "SiteHandler", "host_name"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
_STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


class SiteHandler(Protocol):
    site: SiteDef

    def handle(self, path: str, query: dict[str, list[str]]) -> Response | None: ...


def host_name(header: str | None) -> str:
    """``songhong.localhost`` from a Host header such as ``SongHong.localhost.:8765``."""
    if not header:
        return ""
    host = header.strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


class DemoApp:
    """All demo sites behind one port."""

    def __init__(
        self, handlers: Mapping[str, SiteHandler], env: Environment, started: datetime
    ) -> None:
        self.handlers = dict(handlers)
        self.env = env
        self.started = started
        self._static = {
            f"/static/{path.name}": path
            for path in STATIC_DIR.iterdir()
            if path.suffix in _STATIC_TYPES
        }

    def handle(
        self, host_header: str | None, target: str, if_modified_since: str | None = None
    ) -> Response:
        """Serve ``target`` (path and query) for the site named by ``host_header``."""
        handler = self.handlers.get(host_name(host_header))
        parts = urlsplit(target)
        if handler is None:
            return self._not_found(None)
        path = parts.path or "/"
        if path in self._static:
            file = self._static[path]
            return text(file.read_bytes(), _STATIC_TYPES[file.suffix], last_modified=self.started)
        response = handler.handle(path, parse_qs(parts.query))
        if response is None:
            return self._not_found(handler.site)
        if _unchanged(response, if_modified_since):
            return not_modified(response.last_modified)
        return response

    def _not_found(self, site: SiteDef | None) -> Response:
        return html(render(self.env, "not_found.html", site=site), status=404)


def _unchanged(response: Response, header: str | None) -> bool:
    if response.status != 200 or response.last_modified is None or not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return response.last_modified.replace(microsecond=0) <= since
