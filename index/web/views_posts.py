"""One post with everything an analyst needs to judge it: text, flags and their evidence,
copies on other sites, review history and actions."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from index.documents import Document
from index.errors import NotFound, SearchError
from index.review import FLAG_QUEUES, VERDICTS, AuditEntry, ReviewItem, item_id
from index.store import SearchRequest, Store
from index.web.context import web
from index.web.views_evidence import panel_context

__all__ = [
    "api_post",
    "audit_json",
    "distinctive_phrase",
    "near_duplicates",
    "post_page",
    "review_items",
]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
#: Words of the phrase searched for copies: long enough to be distinctive, short enough to
#: survive small edits elsewhere in the sentence.
PHRASE_WORDS = 12
MIN_PHRASE_WORDS = 6
NEAR_DUPLICATES = 10


def distinctive_phrase(text: str) -> str | None:
    """A quoted phrase from the post's longest sentence (``None`` for very short posts).

    Copies of a story keep its sentences; the longest one is the least likely to occur by
    chance. Only word characters are kept so the phrase is always valid query syntax.
    """
    sentences = [_WORD.findall(part) for part in _SENTENCE.split(text or "")]
    best = max(sentences, key=len, default=[])
    if len(best) < MIN_PHRASE_WORDS:
        return None
    middle = max(0, (len(best) - PHRASE_WORDS) // 2)
    return '"' + " ".join(best[middle : middle + PHRASE_WORDS]) + '"'


def near_duplicates(store: Store, doc: Document) -> tuple[str | None, list[Document]]:
    """Other documents sharing the post's distinctive phrase (the phrase, the documents)."""
    phrase = distinctive_phrase(doc.text)
    if phrase is None:
        return None, []
    try:
        response = store.search(
            SearchRequest(query=phrase, limit=NEAR_DUPLICATES + 1, highlight=False)
        )
    except SearchError:
        return phrase, []
    return phrase, [hit.document for hit in response.hits if hit.document.id != doc.id][
        :NEAR_DUPLICATES
    ]


def review_items(store: Store, doc: Document) -> list[tuple[ReviewItem, list[AuditEntry]]]:
    """The post's items in the post queues, each with its history."""
    found = []
    for queue in dict.fromkeys(FLAG_QUEUES.values()):
        try:
            item = store.review_get(item_id(queue, doc.id))
        except NotFound:
            continue
        found.append((item, store.review_history(item.id)))
    return found


def _evidence(doc: Document) -> dict[str, Any]:
    analysis = doc.analysis or {}
    covid = analysis.get("covid") or {}
    claim = analysis.get("claim") or {}
    return {
        "covid": covid if isinstance(covid, dict) else {},
        "claim": claim if isinstance(claim, dict) else {},
        "entities": analysis.get("entities") or [],
        "page_signals": analysis.get("page_signals") or {},
    }


def post_page(request: Request) -> Response:
    context = web(request)
    doc_id = request.path_params["doc_id"]
    with context.stores.store() as store:
        doc = store.get(doc_id)
        if doc is None:
            return context.render(
                request, "not_found.html", {"what": f"post {doc_id}"}, status_code=404
            )
        phrase, duplicates = near_duplicates(store, doc)
        items = review_items(store, doc)
        sizes = getattr(store, "cluster_sizes", lambda ids: {})([doc.cluster_id or ""])
        evidence = panel_context(request, store, doc)
    return context.render(
        request,
        "post.html",
        {
            "cluster_size": sizes.get(doc.cluster_id or "", 1),
            "doc": doc,
            "evidence": _evidence(doc),
            "phrase": phrase,
            "duplicates": duplicates,
            "items": items,
            "verdicts": VERDICTS,
            "can_add_claims": context.known_claims_appender is not None,
            **evidence,
        },
    )


def api_post(request: Request) -> Response:
    context = web(request)
    doc_id = request.path_params["doc_id"]
    with context.stores.store() as store:
        doc = store.get(doc_id)
        if doc is None:
            return JSONResponse({"error": f"no post {doc_id}"}, status_code=404)
        phrase, duplicates = near_duplicates(store, doc)
        items = review_items(store, doc)
    data = doc.to_dict()
    data.pop("segmented", None)
    data["near_duplicates"] = {
        "phrase": phrase,
        "documents": [
            {"id": d.id, "site": d.site, "url": d.url, "title": d.title} for d in duplicates
        ],
    }
    data["review"] = [
        {"item": item.to_dict(), "history": [audit_json(entry) for entry in history]}
        for item, history in items
    ]
    return JSONResponse(data)


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "item_id": entry.item_id,
        "at": entry.at,
        "user": entry.user,
        "action": entry.action,
        "note": entry.note,
        "before": entry.before,
        "after": entry.after,
    }
