"""Review queues: lists by priority, one item with its audit log, and the review actions.

Every action is a POST form (CSRF-checked by the middleware) that redirects back (303) with a
one-line message; a conflict or a lease held by someone else is such a message, never a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from index.errors import NotFound, ReviewError
from index.review import QUEUES, VERDICTS, ReviewItem
from index.web.context import current_user, flash, web
from index.web.security import safe_next

__all__ = [
    "QUEUE_PAGE",
    "add_known_claim",
    "claim_item",
    "decide_item",
    "item_page",
    "queue_page",
    "queues_page",
    "reopen_item",
    "skip_item",
]

QUEUE_PAGE = 50
#: Items a user may skip before the oldest skip is forgotten (kept in the session cookie,
#: which must stay under 4 KB).
MAX_SKIPPED = 40
QUEUE_LABELS = {
    "covid": "Covid-19 posts",
    "claim": "Likely false claims",
    "site": "Newspaper-style sites",
    "tips": "Citizen reports",
}


def _target_link(item: ReviewItem) -> str:
    return f"/sites/{item.target_id}" if item.queue == "site" else f"/posts/{item.target_id}"


def queues_page(request: Request) -> Response:
    context = web(request)
    with context.stores.store() as store:
        counts = store.review_counts()
    rows = [
        (
            queue,
            QUEUE_LABELS[queue],
            counts.get(queue, {}).get("open", 0),
            counts.get(queue, {}).get("decided", 0),
        )
        for queue in QUEUES
    ]
    return context.render(request, "queues.html", {"rows": rows})


def queue_page(request: Request) -> Response:
    context = web(request)
    queue = request.path_params["queue"]
    if queue not in QUEUES:
        return context.render(
            request, "not_found.html", {"what": f"queue {queue}"}, status_code=404
        )
    status = request.query_params.get("status", "open")
    if status not in ("open", "decided", "all"):
        status = "open"
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    with context.stores.store() as store:
        items = store.review_list(
            queue, status=status, limit=QUEUE_PAGE + 1, offset=(page - 1) * QUEUE_PAGE
        )
        counts = store.review_counts().get(queue, {})
    more = len(items) > QUEUE_PAGE
    items = items[:QUEUE_PAGE]
    skipped = set(request.session.get("skipped", []))
    # Skipped items go last (in priority order among themselves), for this analyst only.
    items.sort(key=lambda item: item.id in skipped)
    return context.render(
        request,
        "queue.html",
        {
            "queue": queue,
            "label": QUEUE_LABELS[queue],
            "status": status,
            "items": items,
            "skipped": skipped,
            "counts": counts,
            "page": page,
            "more": more,
            "verdicts": VERDICTS[queue],
            "now": datetime.now(UTC),
            "target_link": _target_link,
        },
    )


def item_page(request: Request) -> Response:
    context = web(request)
    queue = request.path_params["queue"]
    try:
        item, history = _item_with_history(request)
    except NotFound as exc:
        return context.render(request, "not_found.html", {"what": str(exc)}, status_code=404)
    user = current_user(request)
    offer_claim = (
        queue == "claim" and item.verdict == "false" and context.known_claims_appender is not None
    )
    return context.render(
        request,
        "item.html",
        {
            "queue": queue,
            "label": QUEUE_LABELS.get(queue, queue),
            "item": item,
            "history": history,
            "verdicts": VERDICTS[item.queue],
            "now": datetime.now(UTC),
            "target_link": _target_link(item),
            "offer_claim": offer_claim,
            "default_source": f"{user.username if user else 'analyst'}, {datetime.now(UTC).date().isoformat()}",
        },
    )


def _item_with_history(request: Request):
    queue = request.path_params["queue"]
    wanted = request.path_params["item_id"]
    with web(request).stores.store() as store:
        item = store.review_get(wanted)
        if item.queue != queue:
            raise NotFound(f"no item {wanted} in the {queue} queue")
        return item, store.review_history(item.id)


def _may_reopen(item: ReviewItem, username: str, is_admin: bool) -> bool:
    """Admins reopen anything; analysts only their own decisions."""
    return item.status == "decided" and (is_admin or item.decided_by == username)


def _back(request: Request, form, default: str) -> RedirectResponse:
    return RedirectResponse(safe_next(form.get("next") or default), status_code=303)


async def _act(request: Request, action) -> Response:
    """Run ``action(store, item_id, user, form)`` in a worker thread; errors become messages."""
    queue = request.path_params["queue"]
    wanted = request.path_params["item_id"]
    form = await request.form()
    user = current_user(request)
    assert user is not None  # LoginRequired let the request through
    pool = web(request).stores

    def run():
        with pool.store() as store:
            item = store.review_get(wanted)
            if item.queue != queue:
                raise NotFound(f"no item {wanted} in the {queue} queue")
            return action(store, item, user, form)

    default = f"/queues/{queue}"
    try:
        message, target = await run_in_threadpool(run)
    except (ReviewError, NotFound, ValueError) as exc:
        flash(request, str(exc), "error")
        return _back(request, form, default)
    flash(request, message)
    return RedirectResponse(target or safe_next(form.get("next") or default), status_code=303)


async def claim_item(request: Request) -> Response:
    def action(store, item, user, form):
        claimed = store.review_claim(item.id, user.username)
        return f"claimed {claimed.title or claimed.id} until {claimed.lease_until}", None

    return await _act(request, action)


async def decide_item(request: Request) -> Response:
    context = web(request)

    def action(store, item, user, form):
        verdict = str(form.get("verdict") or "")
        note = str(form.get("note") or "").strip()
        version = str(form.get("version") or "")
        decided = store.review_decide(
            item.id, user.username, verdict, note, expected_version=version
        )
        target = None
        if decided.queue == "claim" and verdict == "false" and context.known_claims_appender:
            # Offer to add the claim to the known claims (the item page has the form).
            target = f"/queues/claim/items/{decided.id}"
        return f"decided {decided.title or decided.id}: {verdict}", target

    return await _act(request, action)


async def reopen_item(request: Request) -> Response:
    def action(store, item, user, form):
        if not _may_reopen(item, user.username, user.is_admin):
            raise ReviewError("only an admin or the analyst who decided it can reopen this item")
        note = str(form.get("note") or "").strip()
        version = str(form.get("version") or "")
        store.review_reopen(item.id, user.username, note, expected_version=version)
        return f"reopened {item.title or item.id}", None

    return await _act(request, action)


async def skip_item(request: Request) -> Response:
    """Move an item to the end of this analyst's list (nothing changes for others)."""
    queue = request.path_params["queue"]
    wanted = request.path_params["item_id"]
    form = await request.form()
    skipped = [entry for entry in request.session.get("skipped", []) if entry != wanted]
    request.session["skipped"] = [*skipped, wanted][-MAX_SKIPPED:]
    flash(request, f"skipped {wanted}")
    return _back(request, form, f"/queues/{queue}")


async def add_known_claim(request: Request) -> Response:
    context = web(request)
    appender = context.known_claims_appender

    def action(store, item, user, form):
        if appender is None:
            raise ReviewError("adding known claims is not configured on this server")
        if item.queue != "claim" or item.verdict != "false":
            raise ReviewError("only claims decided as false can be added to the known claims")
        text = str(form.get("claim") or "").strip()
        source = str(form.get("source") or "").strip()
        if not text:
            raise ValueError("write the claim as one sentence before adding it")
        claim_id = appender(text, source or user.username)
        return f"added known false claim {claim_id}; new crawls will match it", None

    return await _act(request, action)
