"""Subjects, cases and citizen reports (tips) in the web UI.

Every change is a POST form (CSRF-checked by the middleware) that redirects (303) with a
one-line message; a conflict, a refused role or a bad value is such a message, never a 500.
Recording a sanction and closing a case are refused unless the user is a supervisor or an
admin (the rule lives in :func:`index.cases.move_case`; the form is shown to everyone).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from index.cases import CASE_STATUSES, FINAL_OUTCOMES, TIP_CHANNELS, TIP_STATUSES
from index.errors import NotFound, ReviewError, SearchError
from index.report import local_today
from index.review import VERDICTS
from index.subjects import Subject
from index.web.context import current_user, flash, web
from index.web.security import safe_next, safe_url

__all__ = ["routes", "subject_path"]

CASES_PAGE = 200


def routes() -> list[Route]:
    return [
        Route("/subjects", subjects_page, name="subjects"),
        Route("/subjects/edit", edit_subject, methods=["POST"], name="subject_edit"),
        Route("/subjects/{subject_id:path}", subject_page, name="subject"),
        Route("/cases", cases_page, name="cases"),
        Route("/cases", open_case, methods=["POST"], name="case_open"),
        Route("/cases/new", new_case_page, name="case_new"),
        Route("/cases/{case_id}", case_page, name="case"),
        Route("/cases/{case_id}/move", move_case, methods=["POST"], name="case_move"),
        Route("/cases/{case_id}/edit", edit_case, methods=["POST"], name="case_edit"),
        Route("/tips", tips_page, name="tips"),
        Route("/tips", add_tip, methods=["POST"], name="tip_add"),
        Route("/tips/{tip_id}", tip_page, name="tip"),
        Route("/tips/{tip_id}/answer", answer_tip, methods=["POST"], name="tip_answer"),
    ]


def subject_path(subject_id: str) -> str:
    return "/subjects/" + quote(subject_id, safe="/.:-_")


def _with_register(request: Request, subjects: list[Subject]) -> list[Subject]:
    lookup = web(request).subject_register
    if lookup is not None:
        for subject in subjects:
            entry = lookup(subject)
            subject.register = dict(entry) if entry else None
            if not subject.name and subject.register:
                subject.name = str(subject.register.get("name") or "")
    return subjects


def _not_found(request: Request, what: str) -> Response:
    return web(request).render(request, "not_found.html", {"what": what}, status_code=404)


async def _act(
    request: Request, action: Callable[[Any, Any, Any], tuple[str, str]], back: str
) -> Response:
    """Run ``action(store, user, form)`` in a worker thread; errors become messages."""
    form = await request.form()
    user = current_user(request)
    assert user is not None  # LoginRequired let the request through
    pool = web(request).stores

    def run() -> tuple[str, str]:
        with pool.store() as store:
            return action(store, user, form)

    try:
        message, target = await run_in_threadpool(run)
    except (ReviewError, NotFound, SearchError, ValueError) as exc:
        flash(request, str(exc), "error")
        return RedirectResponse(safe_next(str(form.get("next") or back)), status_code=303)
    flash(request, message)
    return RedirectResponse(target, status_code=303)


async def _record_page(
    request: Request,
    what: str,
    load: Callable[[Any], tuple[Any, list[Any]]],
    name: str,
    extra: dict[str, Any],
) -> Response:
    """The page ``{name}.html`` of one record and its history, ``load(store)`` run in a
    worker thread; a record that does not exist is a 404 page naming ``what``."""
    context = web(request)

    def run() -> tuple[Any, list[Any]]:
        with context.stores.store() as store:
            return load(store)

    try:
        record, history = await run_in_threadpool(run)
    except NotFound:
        return _not_found(request, what)
    return context.render(request, f"{name}.html", {name: record, "history": history, **extra})


def _text(form: Any, name: str) -> str:
    return str(form.get(name) or "").strip()


# -- subjects ----------------------------------------------------------------------------------


async def subjects_page(request: Request) -> Response:
    context = web(request)
    flagged = request.query_params.get("flagged") == "1"

    def load() -> list[Subject]:
        with context.stores.store() as store:
            return store.subject_list(flagged=flagged)

    subjects = _with_register(request, await run_in_threadpool(load))
    return context.render(
        request,
        "subjects.html",
        {"subjects": subjects, "flagged": flagged, "subject_path": subject_path},
    )


async def subject_page(request: Request) -> Response:
    context = web(request)
    subject_id = request.path_params["subject_id"]

    def load():
        with context.stores.store() as store:
            subject = store.subject_get(subject_id)
            return subject, store.subject_history(subject_id), store.case_list(subject=subject_id)

    try:
        subject, history, cases = await run_in_threadpool(load)
    except NotFound:
        return _not_found(request, f"subject {subject_id}")
    _with_register(request, [subject])
    return context.render(
        request,
        "subject.html",
        {"subject": subject, "history": history, "cases": cases, "subject_path": subject_path},
    )


async def edit_subject(request: Request) -> Response:
    def action(store, user, form):
        subject_id = _text(form, "subject")
        updated = store.subject_update(
            subject_id,
            user.username,
            expected_version=_text(form, "version"),
            name=_text(form, "name"),
            licence=_text(form, "licence"),
            owner=_text(form, "owner"),
            note=_text(form, "note"),
        )
        return f"saved {updated.id}", subject_path(updated.id)

    return await _act(request, action, "/subjects")


# -- cases -------------------------------------------------------------------------------------


async def cases_page(request: Request) -> Response:
    context = web(request)
    status = request.query_params.get("status") or None
    if status not in CASE_STATUSES:
        status = None

    def load():
        with context.stores.store() as store:
            return store.case_list(status=status, limit=CASES_PAGE)

    cases = await run_in_threadpool(load)
    return context.render(
        request,
        "cases.html",
        {"cases": cases, "status": status, "statuses": CASE_STATUSES, "subject_path": subject_path},
    )


async def new_case_page(request: Request) -> Response:
    """The form to open a case, prefilled from a subject or a confirmed review item."""
    context = web(request)
    subject_id = request.query_params.get("subject", "")
    items = request.query_params.getlist("item")

    def load():
        with context.stores.store() as store:
            subject = store.subject_get(subject_id) if subject_id else None
            if subject is None and items:
                item = store.review_get(items[0])
                subject = _subject_of_item(store, item)
            return subject

    try:
        subject = await run_in_threadpool(load)
    except NotFound as exc:
        return _not_found(request, str(exc))
    return context.render(
        request, "case_new.html", {"subject": subject, "items": items, "subject_path": subject_path}
    )


def _subject_of_item(store: Any, item: Any) -> Subject:
    from index.subjects import subject_ref

    if item.queue == "site":
        ref = subject_ref(item.target_id, "", "news")
    else:
        doc = store.get(item.target_id)
        if doc is None:
            raise NotFound(f"no document {item.target_id}")
        ref = subject_ref(doc.site, doc.url, doc.kind)
    if ref is None:
        raise NotFound(f"no subject for {item.id}")
    return store.subject_get(ref.id)


async def open_case(request: Request) -> Response:
    def action(store, user, form):
        items = [line.strip() for line in _text(form, "items").split() if line.strip()]
        case = store.case_open(
            _text(form, "subject"),
            user.username,
            items=items,
            note=_text(form, "note"),
            legal_basis=_text(form, "legal_basis"),
            title=_text(form, "title"),
        )
        return f"opened case {case.id} on {case.subject}", f"/cases/{case.id}"

    return await _act(request, action, "/cases")


async def case_page(request: Request) -> Response:
    case_id = request.path_params["case_id"]

    def load(store: Any) -> tuple[Any, list[Any]]:
        case = store.case_get(case_id)
        return case, store.case_history(case.id)

    extra = {
        "subject_path": subject_path,
        "outcomes": FINAL_OUTCOMES,
        "today": local_today().isoformat(),
    }
    return await _record_page(request, f"case {case_id}", load, "case", extra)


def _fine(value: str) -> int | None:
    text = value.replace(".", "").replace(",", "").replace(" ", "").removesuffix("đ")
    if not text:
        return None
    if not text.isdigit() or len(text) > 15:  # the store refuses over 10 billion đồng
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise ValueError(f"the fine {shown!r} is not an amount in đồng (e.g. 7500000)")
    return int(text)


async def move_case(request: Request) -> Response:
    case_id = request.path_params["case_id"]

    def action(store, user, form):
        status = _text(form, "status")
        sanction = status == "sanctioned"
        moved = store.case_move(
            case_id,
            user.username,
            user.role,
            status,
            expected_version=_text(form, "version"),
            note=_text(form, "note"),
            fine=_fine(_text(form, "fine")) if sanction else None,
            decision=_text(form, "decision") if sanction else "",
            decision_date=(_text(form, "decision_date") or None) if sanction else None,
        )
        return f"case {moved.id} is now {moved.status}", f"/cases/{moved.id}"

    return await _act(request, action, f"/cases/{case_id}")


async def edit_case(request: Request) -> Response:
    case_id = request.path_params["case_id"]

    def action(store, user, form):
        items = [line.strip() for line in _text(form, "items").split() if line.strip()]
        updated = store.case_update(
            case_id,
            user.username,
            expected_version=_text(form, "version"),
            legal_basis=_text(form, "legal_basis"),
            add_items=items,
            note=_text(form, "note"),
        )
        return f"case {updated.id} updated", f"/cases/{updated.id}"

    return await _act(request, action, f"/cases/{case_id}")


# -- tips --------------------------------------------------------------------------------------


async def tips_page(request: Request) -> Response:
    context = web(request)
    status = request.query_params.get("status") or None
    if status not in TIP_STATUSES:
        status = None

    def load():
        with context.stores.store() as store:
            return store.tip_list(status=status)

    tips = await run_in_threadpool(load)
    return context.render(
        request,
        "tips.html",
        {
            "tips": tips,
            "status": status,
            "statuses": TIP_STATUSES,
            "channels": TIP_CHANNELS,
            "today": local_today().isoformat(),
            "can_fetch": context.tip_submitter is not None,
        },
    )


async def add_tip(request: Request) -> Response:
    submitter = web(request).tip_submitter

    def action(store, user, form):
        if submitter is None:
            raise ReviewError("recording tips is not configured on this server")
        url = _text(form, "url")
        if not safe_url(url):
            raise ValueError(f"{url!r} is not an http(s) URL")
        note = _text(form, "note")
        if not note:
            raise ValueError("write what the reporter said")
        channel = _text(form, "channel") or "web"
        if channel not in TIP_CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        tip = submitter(
            url, user.username, note, channel, _text(form, "reporter"),
            _text(form, "received") or None,
        )  # fmt: skip
        fetched = "" if tip.get("doc_id") else f" (not fetched: {tip.get('fetch_error')})"
        return f"recorded tip {tip['id']}{fetched}", f"/tips/{tip['id']}"

    return await _act(request, action, "/tips")


async def tip_page(request: Request) -> Response:
    tip_id = request.path_params["tip_id"]

    def load(store: Any) -> tuple[Any, list[Any]]:
        tip = store.tip_get(tip_id)
        return tip, store.tip_history(tip.id)

    return await _record_page(request, f"tip {tip_id}", load, "tip", {"verdicts": VERDICTS["tips"]})


async def answer_tip(request: Request) -> Response:
    tip_id = request.path_params["tip_id"]

    def action(store, user, form):
        tip = store.tip_answer(
            tip_id, user.username, _text(form, "answer"), expected_version=_text(form, "version")
        )
        return f"tip {tip.id} answered", f"/tips/{tip.id}"

    return await _act(request, action, f"/tips/{tip_id}")
