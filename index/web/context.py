"""What every view needs: the injected dependencies, a store pool and page rendering.

Views are plain functions of a request; they find this object at ``request.app.state.web``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse

from index.store import Store
from index.web.security import LoginRateLimiter, csrf_token
from index.web.users import User, UserStore

__all__ = [
    "KnownClaimsAppender",
    "RunsProvider",
    "StorePool",
    "SubjectRegister",
    "TipSubmitter",
    "WebContext",
    "current_user",
    "flash",
    "web",
]

#: ``() -> recent crawl runs`` as dicts (``RunRecord.to_dict()`` shape), newest first.
RunsProvider = Callable[[], Sequence[Mapping[str, Any]]]
#: ``(claim text, source note) -> id of the new known claim``; raises ``ValueError`` with a
#: message for the analyst when the claim cannot be added.
KnownClaimsAppender = Callable[[str, str], str]
#: ``subject -> press-register entry as a dict, or None`` (index.subjects.Subject.register).
SubjectRegister = Callable[[Any], Mapping[str, Any] | None]
#: ``(url, user, note, channel, reporter, received day or None) -> the tip as a dict``:
#: fetches and stores the reported page (``crawler.service.tips``); raises ``ValueError`` with a
#: message for the analyst.
TipSubmitter = Callable[[str, str, str, str, str, str | None], Mapping[str, Any]]


class StorePool:
    """Up to ``size`` stores from ``factory``, each used by one request at a time.

    A store serialises its own reads (one read connection), so concurrent analysts get
    separate stores; a factory may also return one shared store (in-memory tests).
    """

    def __init__(self, factory: Callable[[], Store], size: int = 4) -> None:
        self.factory = factory
        self.size = max(1, size)
        self._idle: queue.LifoQueue[Store] = queue.LifoQueue()
        self._created: list[Store] = []
        self._lock = threading.Lock()

    @contextmanager
    def store(self) -> Iterator[Store]:
        try:
            store = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                grow = len(self._created) < self.size
                if grow:
                    store = self.factory()
                    self._created.append(store)
            if not grow:
                store = self._idle.get()
        try:
            yield store
        finally:
            self._idle.put(store)

    def close(self) -> None:
        with self._lock:
            closed: set[int] = set()
            for store in self._created:
                if id(store) not in closed:
                    closed.add(id(store))
                    store.close()
            self._created.clear()
            self._idle = queue.LifoQueue()


@dataclass
class WebContext:
    stores: StorePool
    users: UserStore
    templates: Environment
    runs_provider: RunsProvider | None = None
    known_claims_appender: KnownClaimsAppender | None = None
    limiter: LoginRateLimiter = field(default_factory=LoginRateLimiter)
    subject_register: SubjectRegister | None = None
    tip_submitter: TipSubmitter | None = None
    title: str = "misinfo-monitor"

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        session = request.session
        values = {
            "request": request,
            "user": current_user(request),
            "csrf_token": csrf_token(session),
            "flashes": session.pop("flashes", []),
            "app_title": self.title,
            "path": request.url.path,
            **(context or {}),
        }
        html = self.templates.get_template(name).render(values)
        return HTMLResponse(html, status_code=status_code)


def web(request: Request) -> WebContext:
    return request.app.state.web


def current_user(request: Request) -> User | None:
    name = request.session.get("user")
    if not name:
        return None
    return User(name, request.session.get("role", "analyst"))


#: The session lives in a signed cookie (browsers drop cookies over 4 KB): messages quoting
#: crawled titles are cut to this many characters, and at most three wait at a time.
FLASH_CHARS = 200


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A one-time message shown on the next page (kinds: info, error)."""
    if len(message) > FLASH_CHARS:
        message = message[: FLASH_CHARS - 1] + "…"
    flashes = list(request.session.get("flashes", []))[-2:]
    flashes.append({"kind": kind, "message": message})
    request.session["flashes"] = flashes
