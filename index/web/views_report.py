"""The Report page (the period report with its charts) and the rows behind each count.

Charts are PNG ``data:`` URIs drawn by :mod:`index.report_charts` (the CSP allows
``img-src 'self' data:`` and no script is involved). Each count links to
``/report/rows/<count>``, which lists the documents, sites, subjects, cases or tips it
counted, each linking to its page.
"""

from __future__ import annotations

from datetime import date, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from index.errors import SearchError
from index.report import COUNT_KEYS, build_report, local_today
from index.report_render import COUNT_LABELS, count_links, report_context
from index.web.context import web
from index.web.views_cases import subject_path

__all__ = ["routes"]

DEFAULT_DAYS = 30
ROWS_SHOWN = 1000
#: What the ids behind each count are, for links on the rows page.
ROW_KINDS = {
    "sites_reviewed": "subject",
    "accounts_reviewed": "subject",
    "items_flagged": "post",
    "items_confirmed": "post",
    "sites_confirmed": "site",
    "cases_opened": "case",
    "cases_sanctioned": "case",
    "subjects_sanctioned": "subject",
    "fines_total": "case",
    "cases_removed": "case",
    "cases_dismissed": "case",
    "tips_received": "tip",
    "tips_answered": "tip",
    "removals_confirmed": "check",
}


def routes() -> list[Route]:
    return [
        Route("/report", report_page, name="report"),
        Route("/report/rows/{key}", rows_page, name="report_rows"),
    ]


def _period(request: Request) -> tuple[date, date, str]:
    """``from``/``to`` query parameters (default: the last 30 days) and an error, if any."""
    today = local_today()
    error = ""
    try:
        to_day = date.fromisoformat(request.query_params.get("to") or today.isoformat())
        from_day = date.fromisoformat(
            request.query_params.get("from")
            or (to_day - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        )
    except ValueError:
        to_day, from_day = today, today - timedelta(days=DEFAULT_DAYS - 1)
        error = "dates must look like 2026-11-30; showing the last 30 days"
    if from_day > to_day:
        from_day, to_day = to_day, from_day
        error = "the period was upside down; swapped"
    return from_day, to_day, error


async def report_page(request: Request) -> Response:
    from index.report_charts import chart_images

    context = web(request)
    from_day, to_day, error = _period(request)

    def build():
        with context.stores.store() as store:
            report = build_report(store, from_day, to_day)
        return report, chart_images(report)

    try:
        report, charts = await run_in_threadpool(build)
    except SearchError as exc:
        return context.render(request, "not_found.html", {"what": str(exc)}, status_code=400)
    values = report_context(report, charts, count_links(report))
    return context.render(request, "report.html", {**values, "error": error})


async def rows_page(request: Request) -> Response:
    context = web(request)
    key = request.path_params["key"]
    if key not in COUNT_KEYS:
        return context.render(request, "not_found.html", {"what": f"count {key}"}, status_code=404)
    from_day, to_day, _ = _period(request)

    def build():
        with context.stores.store() as store:
            report = build_report(store, from_day, to_day)
            ids = report.rows[key]
            titles = {}
            if ROW_KINDS[key] == "post":
                for doc_id in ids[:ROWS_SHOWN]:
                    doc = store.get(doc_id)
                    titles[doc_id] = (doc.title or doc.url) if doc else doc_id
            return report, ids, titles

    report, ids, titles = await run_in_threadpool(build)
    return context.render(
        request,
        "report_rows.html",
        {
            "report": report,
            "key": key,
            "label": COUNT_LABELS[key],
            "kind": ROW_KINDS[key],
            "ids": ids[:ROWS_SHOWN],
            "more": max(0, len(ids) - ROWS_SHOWN),
            "total": report.counts[key],
            "titles": titles,
            "subject_path": subject_path,
        },
    )
