"""Evidence on the post page: captures, takedown checks, and the actions on them.

What is shown comes from the store (:mod:`index.evidence`); what needs the browser, the
network or the data directory (capture, check, bundle, file bytes) comes from an injected
:class:`EvidenceActions` (``crawler.evidence.web`` builds it), since ``index`` never imports
``crawler``. Without one the panel is read-only.

Archived files are served from our own origin with their own content type: the screenshot
as ``image/png``; the rendered DOM and WARC files only as downloads (``text/plain`` /
``application/warc`` attachments), so crawled HTML is never rendered in the UI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from index.documents import Document
from index.errors import NotFound, SearchError
from index.evidence import (
    Check,
    EvidenceFile,
    WatchState,
    evidence_store,
    first_removal,
)
from index.store import Store
from index.web.context import current_user, flash, web

__all__ = ["EvidenceActions", "EvidencePanel", "evidence_panel", "routes"]

_DOWNLOAD_TYPES = {
    "screenshot": ("image/png", "inline", ".png"),
    "dom": ("text/plain; charset=utf-8", "attachment", ".html.txt"),
    "warc": ("application/warc", "attachment", ".warc.gz"),
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class EvidenceActions(Protocol):
    """What the UI asks of the evidence service (each call records who in the audit log)."""

    def capture(self, store: Store, doc_id: str, user: str) -> str:
        """Capture now; returns a one-line summary for the analyst."""
        ...

    def check(self, store: Store, doc_id: str, user: str) -> Check: ...

    def watch(self, store: Store, doc_id: str, user: str, watched: bool) -> None: ...

    def bundle(self, store: Store, doc_ids: list[str], user: str) -> bytes:
        """The WACZ bundle of ``doc_ids``."""
        ...

    def open_file(
        self, store: Store, doc_id: str, file_id: str, user: str
    ) -> tuple[EvidenceFile, bytes]: ...


@dataclass(slots=True)
class Capture:
    capture_id: str
    captured_at: str
    captured_by: str
    origin: str
    files: list[EvidenceFile] = field(default_factory=list)

    @property
    def screenshot(self) -> EvidenceFile | None:
        return next((f for f in self.files if f.kind == "screenshot"), None)


@dataclass(slots=True)
class EvidencePanel:
    captures: list[Capture]
    checks: list[Check]
    first_removal: Check | None
    watch: WatchState | None
    actions: bool

    @property
    def checks_newest_first(self) -> list[Check]:
        return list(reversed(self.checks))


def evidence_panel(request: Request, store: Store, doc: Document) -> EvidencePanel | None:
    """The post page's evidence section (``None`` for a store without evidence)."""
    try:
        meta = evidence_store(store)
    except TypeError:
        return None
    captures: dict[str, Capture] = {}
    for item in meta.files(doc.id):
        group = captures.setdefault(
            item.capture_id or item.id,
            Capture(item.capture_id, item.captured_at, item.captured_by, item.origin),
        )
        group.files.append(item)
    checks = meta.checks(doc.id)
    return EvidencePanel(
        captures=sorted(captures.values(), key=lambda c: c.captured_at, reverse=True),
        checks=checks,
        first_removal=first_removal(checks),
        watch=meta.watch_state(doc.id),
        actions=_actions(request) is not None,
    )


def _actions(request: Request) -> EvidenceActions | None:
    return getattr(request.app.state, "evidence", None)


def _back(doc_id: str) -> RedirectResponse:
    return RedirectResponse(f"/posts/{quote(doc_id)}#evidence", status_code=303)


def _user(request: Request) -> str:
    user = current_user(request)
    return user.username if user else "unknown"


def file_download(request: Request) -> Response:
    context = web(request)
    actions = _actions(request)
    doc_id, file_id = request.path_params["doc_id"], request.path_params["file_id"]
    if actions is None:
        return Response("evidence files are not served here", status_code=404)
    with context.stores.store() as store:
        try:
            item, data = actions.open_file(store, doc_id, file_id, _user(request))
        except NotFound:
            return Response("no such evidence file", status_code=404)
    media_type, disposition, suffix = _DOWNLOAD_TYPES.get(
        item.kind, ("application/octet-stream", "attachment", "")
    )
    name = _SAFE_NAME.sub("-", f"{doc_id}-{item.kind}-{item.sha256[:16]}") + suffix
    return Response(
        data,
        media_type=media_type,
        headers={
            "content-disposition": f'{disposition}; filename="{name}"',
            "cache-control": "private, max-age=3600",
            # An archived file is never a page of ours: no scripts, no plugins, even if opened.
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )


async def _post(request: Request, action: str) -> Response:
    from starlette.concurrency import run_in_threadpool

    context = web(request)
    actions = _actions(request)
    doc_id = request.path_params["doc_id"]
    if actions is None:
        flash(request, "evidence actions are not available on this server", "error")
        return _back(doc_id)
    form = await request.form()
    user = _user(request)

    def run() -> Response:
        with context.stores.store() as store:
            if store.get(doc_id) is None:
                return Response("no such post", status_code=404)
            try:
                if action == "capture":
                    flash(request, actions.capture(store, doc_id, user))
                elif action == "check":
                    check = actions.check(store, doc_id, user)
                    flash(request, f"check: {check.status} {check.detail}".strip())
                elif action == "watch":
                    watched = form.get("watched") == "1"
                    actions.watch(store, doc_id, user, watched)
                    flash(
                        request, "watched: takedown checks will run" if watched else "not watched"
                    )
                elif action == "bundle":
                    data = actions.bundle(store, [doc_id], user)
                    name = _SAFE_NAME.sub("-", f"evidence-{doc_id}") + ".wacz"
                    return Response(
                        data,
                        media_type="application/wacz",
                        headers={"content-disposition": f'attachment; filename="{name}"'},
                    )
            except (SearchError, OSError, ValueError) as exc:
                flash(request, f"{action} failed: {exc}", "error")
        return _back(doc_id)

    return await run_in_threadpool(run)


async def capture_post(request: Request) -> Response:
    return await _post(request, "capture")


async def check_post(request: Request) -> Response:
    return await _post(request, "check")


async def watch_post(request: Request) -> Response:
    return await _post(request, "watch")


async def bundle_post(request: Request) -> Response:
    return await _post(request, "bundle")


def routes() -> list[Route]:
    base = "/posts/{doc_id}"
    return [
        Route(base + "/evidence/{file_id}", file_download, name="evidence_file"),
        Route(base + "/capture", capture_post, methods=["POST"], name="evidence_capture"),
        Route(base + "/check", check_post, methods=["POST"], name="evidence_check"),
        Route(base + "/watch", watch_post, methods=["POST"], name="evidence_watch"),
        Route(base + "/bundle", bundle_post, methods=["POST"], name="evidence_bundle"),
    ]


def panel_context(request: Request, store: Store, doc: Document) -> dict[str, Any]:
    """Template values for ``_evidence.html`` (merged into the post page's context)."""
    return {"evidence_panel": evidence_panel(request, store, doc)}
