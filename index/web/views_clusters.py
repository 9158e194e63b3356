"""Rumour spread in the UI: clusters, a cluster's spread, trends, watches and alerts.

Actions are POST forms (CSRF-checked by the middleware) that redirect back (303) with a
one-line message, as the review queues do.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from index.errors import NotFound, QuerySyntaxError, ReviewError
from index.query import to_utc_iso
from index.review import POST_VERDICTS
from index.spread import (
    SpreadStore,
    cluster_summary,
    decide_cluster,
    list_clusters,
    member_order,
)
from index.trends import parse_duration, trends
from index.watches import WatchStore, new_watch
from index.web.context import current_user, flash, web
from index.web.render_clusters import spread_svg
from index.web.security import safe_next

__all__ = [
    "add_watch",
    "alerts_page",
    "api_cluster",
    "cluster_page",
    "clusters_page",
    "decide_cluster_view",
    "delete_watch",
    "trends_page",
]

SINCE_CHOICES = ("", "24h", "7d", "30d")
WINDOW_CHOICES = ("6h", "24h", "3d", "7d")
ALERTS_PAGE = 100


def _unavailable(request: Request) -> Response:
    return web(request).render(
        request, "not_found.html", {"what": "clusters (this store keeps none)"}, status_code=404
    )


def clusters_page(request: Request) -> Response:
    context = web(request)
    since = request.query_params.get("since", "")
    since = since if since in SINCE_CHOICES else ""
    flagged = request.query_params.get("flagged") == "1"
    with context.stores.store() as store:
        if not isinstance(store, SpreadStore):
            return _unavailable(request)
        since_utc = (
            to_utc_iso((datetime.now(UTC) - parse_duration(since)).isoformat()) if since else None
        )
        summaries = list_clusters(store, since=since_utc, flagged=flagged, limit=100)
        stale = bool(getattr(store, "clusters_stale", lambda: False)())
    return context.render(
        request,
        "clusters.html",
        {
            "summaries": summaries,
            "since": since,
            "flagged": flagged,
            "since_choices": SINCE_CHOICES,
            "stale": stale,
        },
    )


def _cluster(request: Request) -> tuple[Any, list[Any]] | None:
    cluster_id = request.path_params["cluster_id"]
    with web(request).stores.store() as store:
        if not isinstance(store, SpreadStore):
            return None
        summary = cluster_summary(store, cluster_id)
        if summary is None:
            return None
        members = sorted(store.cluster_members(cluster_id), key=member_order)
    return summary, members


def cluster_page(request: Request) -> Response:
    context = web(request)
    found = _cluster(request)
    if found is None:
        return context.render(
            request,
            "not_found.html",
            {"what": f"cluster {request.path_params['cluster_id']}"},
            status_code=404,
        )
    summary, members = found
    return context.render(
        request,
        "cluster.html",
        {
            "summary": summary,
            "members": members,
            "timeline": spread_svg(members),
            "verdicts": POST_VERDICTS,
        },
    )


def api_cluster(request: Request) -> Response:
    found = _cluster(request)
    if found is None:
        return JSONResponse({"error": "no such cluster"}, status_code=404)
    summary, members = found
    return JSONResponse(
        {
            **summary.to_dict(),
            "members": [
                {
                    "id": m.document.id,
                    "time": m.time,
                    "site": m.document.site,
                    "author": m.document.author,
                    "title": m.document.title,
                    "url": m.document.url,
                    "review_status": m.document.review_status,
                    "joined": {"how": m.how, "matched": m.matched_id, "similarity": m.similarity},
                }
                for m in members
            ],
        }
    )


async def decide_cluster_view(request: Request) -> Response:
    cluster_id = request.path_params["cluster_id"]
    form = await request.form()
    user = current_user(request)
    assert user is not None  # LoginRequired let the request through
    verdict = str(form.get("verdict") or "")
    note = str(form.get("note") or "").strip()
    pool = web(request).stores
    back = f"/clusters/{cluster_id}"

    def run():
        with pool.store() as store:
            return decide_cluster(store, cluster_id, user.username, verdict, note)

    if verdict not in POST_VERDICTS:
        flash(request, f"{verdict!r} is not a verdict for posts", "error")
        return RedirectResponse(back, status_code=303)
    try:
        outcome = await run_in_threadpool(run)
    except (ReviewError, NotFound) as exc:
        flash(request, str(exc), "error")
        return RedirectResponse(back, status_code=303)
    message = (
        f"{verdict} applied to the cluster: {len(outcome.decided)} decided, "
        f"{len(outcome.already)} already decided"
    )
    if outcome.skipped:
        message += f", {len(outcome.skipped)} skipped (claimed by someone else)"
    flash(request, message, "error" if outcome.skipped else "info")
    return RedirectResponse(back, status_code=303)


def trends_page(request: Request) -> Response:
    context = web(request)
    window = request.query_params.get("window", "24h")
    window = window if window in WINDOW_CHOICES else "24h"
    with context.stores.store() as store:
        if not isinstance(store, SpreadStore):
            return _unavailable(request)
        found = trends(store, window=parse_duration(window), limit=20)
    return context.render(
        request,
        "trends.html",
        {"trends": found, "window": window, "window_choices": WINDOW_CHOICES},
    )


def alerts_page(request: Request) -> Response:
    context = web(request)
    with context.stores.store() as store:
        if not isinstance(store, WatchStore):
            return _unavailable(request)
        watches = store.watch_list()
        alerts = store.alerts_list(limit=ALERTS_PAGE)
    names = {watch.id: watch.name for watch in watches}
    return context.render(
        request,
        "alerts.html",
        {
            "watches": watches,
            "alerts": alerts,
            "names": names,
            "q": request.query_params.get("q", ""),
        },
    )


async def add_watch(request: Request) -> Response:
    form = await request.form()
    user = current_user(request)
    assert user is not None
    query = str(form.get("query") or "")
    name = str(form.get("name") or "")
    back = safe_next(str(form.get("next") or "/alerts"))
    try:
        watch = new_watch(name, query, user.username)
    except QuerySyntaxError as exc:
        flash(request, f"not saved: {exc}", "error")
        return RedirectResponse(back, status_code=303)
    pool = web(request).stores

    def run() -> None:
        with pool.store() as store:
            store.watch_save(watch)

    await run_in_threadpool(run)
    flash(request, f"watching {watch.query}: new matching posts raise alerts")
    return RedirectResponse(back, status_code=303)


async def delete_watch(request: Request) -> Response:
    watch_id = request.path_params["watch_id"]
    pool = web(request).stores

    def run() -> None:
        with pool.store() as store:
            store.watch_delete(watch_id)

    try:
        await run_in_threadpool(run)
    except NotFound as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"removed watch {watch_id}")
    return RedirectResponse("/alerts", status_code=303)
