"""Log in and out. The session cookie is signed (Starlette ``SessionMiddleware``), HttpOnly,
SameSite=Lax; a login starts a fresh session (new CSRF token) so a planted cookie is useless."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from index.web.context import current_user, web
from index.web.security import csrf_token, safe_next

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
    wait = context.limiter.blocked(username, address)
    if wait > 0:
        return context.render(
            request,
            "login.html",
            {"next": target, "error": f"Too many failed logins: try again in {int(wait) + 1} s."},
            status_code=429,
        )
    user = await run_in_threadpool(context.users.authenticate, username, password)
    if user is None:
        context.limiter.failed(username, address)
        return context.render(
            request,
            "login.html",
            {"next": target, "error": "Wrong user name or password."},
            status_code=401,
        )
    context.limiter.succeeded(username)
    request.session.clear()
    request.session.update({"user": user.username, "role": user.role})
    csrf_token(request.session)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
