"""The analyst web UI as a Starlette application, built from injected dependencies.

``index`` never imports ``crawler``: the caller (``crawler/cli/web.py``) passes a store
factory, the user store, the signing key and optional providers for crawl runs and for
appending known claims. Tests pass an in-memory store and a temporary user database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from index.store import Store
from index.web import (
    views_auth,
    views_cases,
    views_clusters,
    views_posts,
    views_queues,
    views_report,
    views_search,
    views_sites,
)
from index.web.context import (
    KnownClaimsAppender,
    RunsProvider,
    StorePool,
    SubjectRegister,
    TipSubmitter,
    WebContext,
)
from index.web.login_limits import SharedLoginLimiter
from index.web.render import STATIC_DIR, make_environment
from index.web.security import (
    CSRFProtect,
    LoginRateLimiter,
    LoginRequired,
    SecurityHeaders,
    ServerErrors,
)
from index.web.sessions import SessionRegistry
from index.web.users import UserStore
from index.web.views_evidence import EvidenceActions
from index.web.views_evidence import routes as evidence_routes

__all__ = ["SESSION_COOKIE", "SESSION_MAX_AGE", "create_app"]

SESSION_COOKIE = "misinfo_session"
#: A working day and a half: analysts log in once a day.
SESSION_MAX_AGE = 36 * 3600


def _routes() -> list[Route | Mount]:
    item = "/queues/{queue}/items/{item_id}"
    return [
        Route("/", views_search.search_page, name="search"),
        Route("/export", views_search.export, name="export"),
        Route("/posts/{doc_id}", views_posts.post_page, name="post"),
        *evidence_routes(),
        Route("/queues", views_queues.queues_page, name="queues"),
        Route("/queues/{queue}", views_queues.queue_page, name="queue"),
        Route(item, views_queues.item_page, name="queue_item"),
        Route(item + "/claim", views_queues.claim_item, methods=["POST"], name="claim"),
        Route(item + "/decide", views_queues.decide_item, methods=["POST"], name="decide"),
        Route(item + "/reopen", views_queues.reopen_item, methods=["POST"], name="reopen"),
        Route(item + "/skip", views_queues.skip_item, methods=["POST"], name="skip"),
        Route(
            item + "/known-claim",
            views_queues.add_known_claim,
            methods=["POST"],
            name="known_claim",
        ),
        Route("/clusters", views_clusters.clusters_page, name="clusters"),
        Route("/clusters/{cluster_id}", views_clusters.cluster_page, name="cluster"),
        Route(
            "/clusters/{cluster_id}/decide",
            views_clusters.decide_cluster_view,
            methods=["POST"],
            name="decide_cluster",
        ),
        Route("/trends", views_clusters.trends_page, name="trends"),
        Route("/alerts", views_clusters.alerts_page, name="alerts"),
        Route("/watches", views_clusters.add_watch, methods=["POST"], name="add_watch"),
        Route(
            "/watches/{watch_id}/delete",
            views_clusters.delete_watch,
            methods=["POST"],
            name="delete_watch",
        ),
        Route("/api/clusters/{cluster_id}", views_clusters.api_cluster, name="api_cluster"),
        Route("/sites", views_sites.sites_page, name="sites"),
        Route("/sites/{site}", views_sites.site_page, name="site"),
        Route("/status", views_sites.status_page, name="status"),
        *views_cases.routes(),
        *views_report.routes(),
        Route("/login", views_auth.login_form, methods=["GET"], name="login"),
        Route("/login", views_auth.login_submit, methods=["POST"], name="login_submit"),
        Route("/logout", views_auth.logout, methods=["POST"], name="logout"),
        Route("/api/search", views_search.api_search, name="api_search"),
        Route("/api/posts/{doc_id}", views_posts.api_post, name="api_post"),
        Mount("/static", app=StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]


async def _server_error(request: Request, exc: Exception) -> Response:
    # Never echo the exception: it may quote crawled text or paths.
    return PlainTextResponse("internal error: see the server log", status_code=500)


def _session_check(users: UserStore, sessions: SessionRegistry) -> Callable[[Any], bool]:
    """A session is logged in while its server-side record lives and the user's password
    and role are those it logged in with."""

    def check(session: Any) -> bool:
        user = session.get("user")
        stamp = users.credential_stamp(user) if isinstance(user, str) else None
        return sessions.valid(session.get("sid"), user, stamp)

    return check


def create_app(
    *,
    store_factory: Callable[[], Store],
    users: UserStore,
    secret_key: str,
    runs_provider: RunsProvider | None = None,
    known_claims_appender: KnownClaimsAppender | None = None,
    subject_register: SubjectRegister | None = None,
    tip_submitter: TipSubmitter | None = None,
    store_pool_size: int = 4,
    https_only: bool = False,
    login_limiter: LoginRateLimiter | SharedLoginLimiter | None = None,
    sessions: SessionRegistry | None = None,
    evidence: EvidenceActions | None = None,
    debug: bool = False,
) -> Starlette:
    """The web UI. ``store_factory`` is called lazily, up to ``store_pool_size`` times.

    ``https_only`` marks the session cookie Secure (set it behind a TLS proxy). Failed
    logins and sessions are kept beside the accounts (``users.path``, the state database)
    unless ``login_limiter`` / ``sessions`` are given, so every server process shares them.
    """
    if len(secret_key) < 32:
        raise ValueError("secret_key must be at least 32 characters (use secrets.token_urlsafe)")
    context = WebContext(
        stores=StorePool(store_factory, store_pool_size),
        users=users,
        templates=make_environment(),
        runs_provider=runs_provider,
        known_claims_appender=known_claims_appender,
        subject_register=subject_register,
        tip_submitter=tip_submitter,
        limiter=login_limiter or SharedLoginLimiter(users.path),
        sessions=sessions or SessionRegistry(users.path, max_age=SESSION_MAX_AGE),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        context.stores.close()

    app = Starlette(
        debug=debug,
        routes=_routes(),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(ServerErrors),
            Middleware(
                SessionMiddleware,
                secret_key=secret_key,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE,
                same_site="lax",
                https_only=https_only,
            ),
            Middleware(
                LoginRequired,
                user_exists=lambda name: users.get(name) is not None,
                session_check=_session_check(users, context.sessions),
            ),
            Middleware(CSRFProtect),
        ],
        exception_handlers={500: _server_error},
        lifespan=lifespan,
    )
    app.state.web = context
    app.state.evidence = evidence  # capture/check/bundle: see index.web.views_evidence
    return app
