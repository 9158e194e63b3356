"""Log in and out. The session cookie is signed (Starlette ``SessionMiddleware``), HttpOnly,
SameSite=Lax; a login starts a fresh session (new CSRF token) so a planted cookie is useless,
and writes its server-side record (``index.web.sessions``), which logout deletes. Failed
logins are counted before the password is hashed (``index.web.login_limits``)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from index.web.context import WebContext, current_user, web
from index.web.login_limits import HASH_SLOTS
from index.web.security import csrf_token, safe_next
from index.web.users import User

__all__ = ["login_form", "login_submit", "logout"]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_form(request: Request) -> Response:
    if current_user(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return web(request).render(
        request, "login.html", {"next": safe_next(request.query_params.get("next")), "error": None}
    )


async def login_submit(request: Request) -> Response:
    context = web(request)
    form = await request.form()
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or "/"))
    address = _client(request)
    # The attempt takes its place in the shared count before any hashing, atomically.
    wait, ticket = await run_in_threadpool(context.limiter.begin, username, address)
    if ticket is None:
        return context.render(
            request,
            "login.html",
            {"next": target, "error": f"Too many failed logins: try again in {int(wait) + 1} s."},
            status_code=429,
        )
    user = await run_in_threadpool(_authenticate, context, username, password)
    await run_in_threadpool(context.limiter.end, ticket, succeeded=user is not None)
    if user is None:
        return context.render(
            request,
            "login.html",
            {"next": target, "error": "Wrong user name or password."},
            status_code=401,
        )
    stamp = context.users.credential_stamp(user.username) or ""
    session_id = await run_in_threadpool(context.sessions.create, user.username, stamp)
    context.sessions.end(request.session.get("sid"))  # a login replaces this browser's session
    request.session.clear()
    request.session.update({"user": user.username, "role": user.role, "sid": session_id})
    csrf_token(request.session)
    return RedirectResponse(target, status_code=303)


def _authenticate(context: WebContext, username: str, password: str) -> User | None:
    with HASH_SLOTS:  # argon2 holds 64 MiB per hash: a few at a time per process
        return context.users.authenticate(username, password)


async def logout(request: Request) -> Response:
    # The server-side record goes: a copy of the cookie saved before is worth nothing.
    web(request).sessions.end(request.session.get("sid"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
