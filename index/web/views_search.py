"""The search page, its JSON twin and the export of a whole result set."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from index.errors import QuerySyntaxError, QueryTooExpensive, SearchError
from index.export import csv_chunks, jsonl_line
from index.query import parse_query
from index.store import Hit, SearchResponse
from index.web.context import web
from index.web.params import FILTER_FIELDS, PAGE_SIZE, SORTS, ParamError, SearchParams, roll_up
from index.web.render import histogram_svg

__all__ = ["api_search", "collapse_hits", "export", "hit_json", "search_page"]

FACET_LABELS = {
    "source": "Source",
    "site": "Site",
    "kind": "Kind",
    "flags": "Flags",
    "review_status": "Review status",
}


def hit_json(hit: Hit) -> dict[str, Any]:
    doc = hit.document
    return {
        "id": doc.id,
        "url": doc.url,
        "title": doc.title,
        "author": doc.author,
        "source": doc.source,
        "site": doc.site,
        "kind": doc.kind,
        "section": doc.section,
        "published_at": doc.published_at,
        "first_seen": doc.first_seen,
        "flags": doc.flags,
        "scores": doc.scores,
        "review_status": doc.review_status,
        "cluster_id": doc.cluster_id,
        "cluster_size": hit.cluster_size,
        "score": hit.score,
        "snippet": [[text, match] for text, match in hit.snippet],
    }


def _run_search(request: Request) -> tuple[SearchParams, SearchResponse]:
    params = SearchParams.from_query(request.query_params.multi_items())
    with web(request).stores.store() as store:
        response = store.search(params.request(facets=True, histogram="day"))
    return params, response


def _params_or_bare(request: Request) -> SearchParams:
    """The page's parameters, or just its query text when another parameter is bad."""
    try:
        return SearchParams.from_query(request.query_params.multi_items())
    except ParamError:
        return SearchParams(q=request.query_params.get("q", ""))


def search_page(request: Request) -> Response:
    context = web(request)
    try:
        params, response = _run_search(request)
    except (ParamError, QuerySyntaxError, SearchError) as exc:
        # A bad, too large or too expensive query is the analyst's to fix (400); anything
        # else the store's.
        mine = ParamError | QuerySyntaxError | QueryTooExpensive
        status = 400 if isinstance(exc, mine) else 503
        return context.render(
            request,
            "search.html",
            {"params": _params_or_bare(request), "error": str(exc), "response": None, **_choices()},
            status_code=status,
        )
    interval, bars = roll_up(response.histogram)
    shown = collapse_hits(response.hits) if params.collapse else [(hit, 0) for hit in response.hits]
    links = [params.with_dates(first, last).url("/") for first, last, _ in bars]
    pages = max(1, -(-response.total // PAGE_SIZE))
    return context.render(
        request,
        "search.html",
        {
            "params": params,
            "error": None,
            "response": response,
            "interval": interval,
            "histogram": histogram_svg(bars, links),
            "bars": bars,
            "pages": pages,
            "first_index": (params.page - 1) * PAGE_SIZE + 1,
            "shown": shown,
            "facet_labels": FACET_LABELS,
            **_choices(),
        },
    )


def collapse_hits(hits: list[Hit]) -> list[tuple[Hit, int]]:
    """One hit per near-duplicate cluster on the page (its first, in page order), with the
    number of other copies the cluster holds in all (``cluster_size - 1``)."""
    seen: set[str] = set()
    shown = []
    for hit in hits:
        cluster = hit.document.cluster_id
        if cluster and hit.cluster_size > 1:
            if cluster in seen:
                continue
            seen.add(cluster)
        shown.append((hit, max(0, hit.cluster_size - 1)))
    return shown


def _choices() -> dict[str, Any]:
    return {"sorts": SORTS, "filter_fields": FILTER_FIELDS}


def api_search(request: Request) -> Response:
    try:
        params, response = _run_search(request)
    except (ParamError, QuerySyntaxError, QueryTooExpensive) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    except SearchError as exc:
        return JSONResponse({"error": str(exc)}, status_code=503)
    return JSONResponse(
        {
            "total": response.total,
            "page": params.page,
            "hits": [hit_json(hit) for hit in response.hits],
            "facets": {
                name: [{"key": b.key, "count": b.count} for b in buckets]
                for name, buckets in response.facets.items()
            },
            "histogram": [{"key": b.key, "count": b.count} for b in response.histogram],
        }
    )


def export(request: Request) -> Response:
    """Every document matching the page's query and filters, as CSV or JSON lines.

    Streamed from ``Store.scan`` page by page: memory stays flat for any result size. The
    query is parsed first so a bad one is a 400, not a truncated download.
    """
    fmt = request.query_params.get("format", "csv")
    if fmt not in ("csv", "jsonl"):
        return PlainTextResponse("format must be csv or jsonl", status_code=400)
    try:
        params = SearchParams.from_query(request.query_params.multi_items())
        parse_query(params.q)
    except (ParamError, QuerySyntaxError) as exc:
        return PlainTextResponse(f"cannot export: {exc}", status_code=400)
    search = params.request()
    pool = web(request).stores

    def rows() -> Iterator[str]:
        with pool.store() as store:
            documents = store.scan(search)
            if fmt == "csv":
                yield from csv_chunks(documents)
            else:
                yield from (jsonl_line(doc) for doc in documents)

    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson; charset=utf-8"
    filename = f"misinfo-export.{fmt}"
    return StreamingResponse(
        rows(),
        media_type=media,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
