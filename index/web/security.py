"""The web UI's defences, as small ASGI middlewares and pure helpers.

Order (outermost first): :class:`SecurityHeaders` → :class:`ServerErrors` → Starlette's
``SessionMiddleware`` → :class:`LoginRequired` → :class:`CSRFProtect` → routes. Deny by default: every path needs
a logged-in session except the few listed in ``PUBLIC_PATHS`` / ``PUBLIC_PREFIXES``, so a
new route cannot be exposed by forgetting a decorator. Every state-changing request is
checked for the session's CSRF token in one place, for the same reason.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "PUBLIC_PATHS",
    "PUBLIC_PREFIXES",
    "CSRFProtect",
    "LoginRateLimiter",
    "LoginRequired",
    "SecurityHeaders",
    "ServerErrors",
    "csrf_token",
    "safe_next",
    "safe_url",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
NO_STORE = (b"cache-control", b"no-store")
CSP_HEADER = b"content-security-policy"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = b"x-csrf-token"
PUBLIC_PATHS = frozenset({"/login"})
PUBLIC_PREFIXES = ("/static/",)
#: Largest form body read for the CSRF check (forms here are a few hundred bytes).
MAX_FORM_BYTES = 1_000_000
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL, else ``None`` (render it as text then)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return None


def safe_next(target: str | None) -> str:
    """A post-login redirect target limited to this site's own paths."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class SecurityHeaders:
    """Adds CSP, nosniff, referrer and framing headers to every HTTP response, and
    ``Cache-Control: no-store`` to every one but static files (pages show what an account
    may see: no shared or back-button cache keeps them).

    These replace a view's own headers of the same names, but for a view's own
    Content-Security-Policy (an archived file's ``default-src 'none'; sandbox``): that one
    is kept beside the app's, and a browser enforces both, so a view can only narrow it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = HEADERS if scope["path"].startswith(PUBLIC_PREFIXES) else (*HEADERS, NO_STORE)
        names = {name for name, _ in added} - {CSP_HEADER}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k not in names]
                message["headers"] = [*headers, *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ServerErrors:
    """Turns an unhandled exception into a plain 500 *inside* :class:`SecurityHeaders`, so
    error pages get its headers too (Starlette's own handler sits outside every
    middleware). The exception is logged, never shown: it may quote crawled text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:  # half a response is out: only closing the connection is left
                raise
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            await _plain(send, 500, "internal error: see the server log", [])


async def _plain(send: Send, status: int, body: str, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


class LoginRequired:
    """Anonymous requests: ``/api/*`` gets 401, everything else a redirect to ``/login``.

    Runs inside ``SessionMiddleware``; ``user_exists`` (and ``session_check``, the
    server-side record of the session) is asked on every request so a deleted account, a
    logout, a new password or role ends access at once.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        user_exists: Callable[[str], bool],
        session_check: Callable[[MutableMapping[str, Any]], bool] | None = None,
    ) -> None:
        self.app = app
        self.user_exists = user_exists
        self.session_check = session_check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        session = scope.get("session") or {}
        user = session.get("user")
        # The session check reads the account too (a deleted user has no stamp).
        check = self.session_check or (lambda _: self.user_exists(user))
        if user and check(session):
            await self.app(scope, receive, send)
            return
        if user:  # ended (logout, new password or role) or expired: forget the cookie's claim
            session.clear()
        if path == "/api" or path.startswith("/api/"):
            await _plain(send, 401, "login required", [(b"www-authenticate", b"Session")])
            return
        target = path + (
            ("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string") else ""
        )
        location = "/login?next=" + quote(target, safe="")
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [(b"location", location.encode())],
            }
        )
        await send({"type": "http.response.body", "body": b""})


class CSRFProtect:
    """Refuses (403) a state-changing request without the session's CSRF token.

    The token comes from the ``x-csrf-token`` header (scripts) or the ``csrf_token`` field
    of a url-encoded form; the body is read here and replayed to the route unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        expected = (scope.get("session") or {}).get("csrf")
        headers = dict(scope.get("headers") or [])
        given = headers.get(CSRF_HEADER, b"").decode("latin-1")
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_FORM_BYTES:
                await _plain(send, 413, "request body too large", [])
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip()
        if not given and content_type == b"application/x-www-form-urlencoded":
            fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            given = (fields.get(CSRF_FIELD) or [""])[0]
        if not expected or not given or not hmac.compare_digest(str(expected), given):
            await _plain(
                send,
                403,
                "CSRF token missing or wrong: reload the page and try again",
                [],
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class LoginRateLimiter:
    """Failed logins allowed per user name (``per_user``) and per client address
    (``per_address``) within ``window_seconds``; beyond that, logins wait."""

    def __init__(
        self, per_user: int = 5, per_address: int = 20, window_seconds: float = 300.0
    ) -> None:
        self.limits = {"user": per_user, "addr": per_address}
        self.window = window_seconds
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    @staticmethod
    def _keys(username: str, address: str) -> tuple[tuple[str, str], ...]:
        return (("user", username.strip().lower()), ("addr", address))

    def blocked(self, username: str, address: str, now: float | None = None) -> float:
        """Seconds until another attempt is allowed (0 when allowed now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return self._wait(username, address, now)

    def _wait(self, username: str, address: str, now: float) -> float:
        wait = 0.0
        for key in self._keys(username, address):
            times = self._recent(key, now)
            if len(times) >= self.limits[key[0]]:
                wait = max(wait, times[0] + self.window - now)
        return wait

    def begin(
        self, username: str, address: str, now: float | None = None
    ) -> tuple[float, tuple[str, str, float] | None]:
        """Check and take a place in one step (as ``SharedLoginLimiter.begin``, in this
        process's memory): ``(0, ticket)`` to go on, ``(wait, None)`` when blocked."""
        now = time.monotonic() if now is None else now
        with self._lock:
            wait = self._wait(username, address, now)
            if wait > 0:
                return wait, None
            for key in self._keys(username, address):
                self._recent(key, now).append(now)
        return 0.0, (username, address, now)

    def end(self, ticket: tuple[str, str, float], *, succeeded: bool) -> None:
        """A failure keeps its place; a success clears the user's failures and its own."""
        if not succeeded:
            return
        username, address, at = ticket
        with self._lock:
            self._failures.pop(("user", username.strip().lower()), None)
            times = self._failures.get(("addr", address))
            if times and at in times:
                times.remove(at)

    def failed(self, username: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in self._keys(username, address):
                self._recent(key, now).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(("user", username.strip().lower()), None)
