"""Site profiles (newspaper-style score with its evidence) and crawl status."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from index.errors import NotFound, SearchError
from index.review import VERDICTS, item_id
from index.store import SearchRequest
from index.web.context import web

__all__ = ["RUNS_PER_SOURCE", "site_page", "sites_page", "status_page"]

RUNS_PER_SOURCE = 5
FLAGGED_POSTS = 50


def sites_page(request: Request) -> Response:
    context = web(request)
    with context.stores.store() as store:
        profiles = store.list_sites()
        per_site = store.counts_by("site")
    profiles.sort(key=lambda p: (-float(p.get("score") or 0.0), str(p.get("site", ""))))
    return context.render(request, "sites.html", {"profiles": profiles, "per_site": per_site})


def site_page(request: Request) -> Response:
    context = web(request)
    site = request.path_params["site"]
    with context.stores.store() as store:
        profile = store.get_site(site)
        try:
            flagged = store.search(
                SearchRequest(
                    query="flags:*", filters={"site": [site]}, sort="score", limit=FLAGGED_POSTS
                )
            )
            total = store.search(
                SearchRequest(filters={"site": [site]}, limit=0, highlight=False)
            ).total
        except SearchError:
            flagged, total = None, 0
        try:
            item = store.review_get(item_id("site", site))
            history = store.review_history(item.id)
        except NotFound:
            item, history = None, []
    if profile is None and total == 0:
        return context.render(request, "not_found.html", {"what": f"site {site}"}, status_code=404)
    return context.render(
        request,
        "site.html",
        {
            "site": site,
            "profile": profile or {},
            "flagged": flagged,
            "total": total,
            "item": item,
            "history": history,
            "verdicts": VERDICTS["site"],
        },
    )


def _group_runs(runs: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        source = str(run.get("source", ""))
        if len(grouped[source]) < RUNS_PER_SOURCE:
            grouped[source].append(run)
    return sorted(grouped.items())


def status_page(request: Request) -> Response:
    context = web(request)
    runs = [dict(run) for run in context.runs_provider()] if context.runs_provider else []
    with context.stores.store() as store:
        per_source = store.counts_by("source")
        total = store.count()
        review = store.review_counts()
    grouped = _group_runs(runs)
    for source in per_source:
        if source not in dict(grouped):
            grouped.append((source, []))
    grouped.sort()
    return context.render(
        request,
        "status.html",
        {
            "grouped": grouped,
            "per_source": per_source,
            "total": total,
            "review": review,
            "has_runs": context.runs_provider is not None,
        },
    )
