"""Evidence operations over one app and store: capture, list, check, watch, bundle.

The CLI (``misinfo evidence``), the web UI (through :class:`EvidenceActions`) and the
``misinfo run`` worker (:mod:`crawler.service.evidence_jobs`) all go through :class:`EvidenceService`,
so every capture, view, bundle, watch and check lands in the audit log the same way.
"""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.app import App
from crawler.evidence.capture import browser_capture, run_outside_loop
from crawler.evidence.checks import classify, page_text
from crawler.evidence.fetch import FetchError, UrlPolicy, UrlRefused, fetch
from crawler.evidence.warc import exchange_records, tool_versions, warcinfo_record
from crawler.extract.urls import host_of
from crawler.resources.evidence import EvidenceSettings
from index.documents import Document
from index.errors import NotFound, SearchError
from index.evidence import (
    Check,
    EvidenceFile,
    EvidenceStore,
    audit_item_id,
    evidence_store,
)
from index.evidence_files import LocalFileStore
from index.review import FLAG_QUEUES, AuditEntry, format_time
from index.store import SearchRequest, Store

__all__ = ["CaptureResult", "EvidenceError", "EvidenceService"]

log = logging.getLogger("misinfo.evidence")


class EvidenceError(SearchError):
    """A user-facing evidence failure (unknown document, refused URL, failed capture)."""


@dataclass(slots=True)
class CaptureResult:
    doc_id: str
    capture_id: str
    files: list[EvidenceFile]
    blocked: list[str]


def _now() -> datetime:
    return datetime.now(UTC)


class EvidenceService:
    """Evidence of ``store``'s documents, files under ``app.data_dir``."""

    def __init__(
        self,
        app: App,
        store: Store,
        *,
        settings: EvidenceSettings | None = None,
        browser: str | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.settings = settings or EvidenceSettings.from_app(app)
        self.files = LocalFileStore(app.data_dir)
        self._browser = browser
        self._domains: dict[str, tuple[str, ...]] | None = None

    @property
    def meta(self) -> EvidenceStore:
        return evidence_store(self.store)

    @property
    def user_agent(self) -> str:
        return str((self.app.settings.get("crawl") or {}).get("user_agent") or "misinfo-monitor")

    # -- documents and rules ---------------------------------------------------------------
    def document(self, doc_id: str) -> Document:
        doc = self.store.get(doc_id)
        if doc is None:
            raise EvidenceError(f"no document {doc_id!r} (ids are in `misinfo search --json`)")
        return doc

    def policy(self, doc: Document) -> UrlPolicy:
        """The crawl's rules for ``doc``: its source's hosts (the document's own host when
        the source is no longer configured)."""
        if self._domains is None:
            from crawler.resources.sources import load_sources

            try:
                sources = load_sources(self.app.config_path("sources.yaml"))
            except Exception as exc:  # a broken sources file: fall back to the doc's host
                log.warning("sources file unreadable, using document hosts: %s", exc)
                sources = []
            self._domains = {source.name: tuple(source.domains) for source in sources}
        domains = self._domains.get(doc.source) or (host_of(doc.url),)
        return UrlPolicy(domains=domains)

    def _audit(self, doc_id: str, user: str, action: str, note: str = "", **after: Any) -> None:
        self.meta.audit(
            AuditEntry(
                item_id=audit_item_id(doc_id),
                at=format_time(_now()),
                user=user,
                action=action,
                note=note,
                after=after or None,
            )
        )

    # -- capture ---------------------------------------------------------------------------
    def browser_path(self) -> str:
        if self._browser is None:
            from crawler.app import ConfigError
            from crawler.settings import require_browser

            try:
                self._browser = require_browser(self.app)
            except ConfigError as exc:  # one line for the CLI and the UI alike
                raise EvidenceError(str(exc)) from exc
        return self._browser

    def capture(self, doc_id: str, user: str) -> CaptureResult:
        """Screenshot, rendered DOM and raw response of the document's URL, now.

        Adds files (a capture never replaces an earlier one) and an audit entry."""
        from crawler.settings import BROWSER_ARGS

        doc = self.document(doc_id)
        policy = self.policy(doc)
        try:
            policy.check(doc.url)
            exchange, visited = fetch(
                doc.url, policy, user_agent=self.user_agent, timeout=self.settings.capture_timeout
            )
            shot = run_outside_loop(
                browser_capture,
                doc.url,
                policy,
                executable_path=self.browser_path(),
                args=list(BROWSER_ARGS),
                user_agent=self.user_agent,
                timeout=self.settings.capture_timeout,
            )
        except UrlRefused as exc:
            raise EvidenceError(f"capture of {doc_id} refused: {exc}") from exc
        except FetchError as exc:
            raise EvidenceError(str(exc)) from exc
        capture_id = f"cap-{shot.captured_at.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"
        captured_at = format_time(shot.captured_at)
        tools = {**tool_versions(), **shot.tools}
        records, record_id = exchange_records(exchange)
        warc = warcinfo_record(f"{capture_id}.warc.gz", {"software": "misinfo-monitor"}) + records
        stored: list[EvidenceFile] = []
        for kind, data, suffix, content_type, url, status, extra in (
            (
                "warc",
                warc,
                ".warc.gz",
                "application/warc",
                exchange.url,
                exchange.status,
                {"record_id": record_id},
            ),
            (
                "screenshot",
                shot.screenshot,
                ".png",
                "image/png",
                shot.final_url,
                shot.http_status,
                {},
            ),
            (
                "dom",
                shot.dom.encode("utf-8"),
                ".html",
                "text/html; charset=utf-8",
                shot.final_url,
                shot.http_status,
                {},
            ),
        ):
            key, digest = self.files.put(data, suffix=suffix)
            stored.append(
                EvidenceFile(
                    id=f"{doc_id}:{kind}:{digest[:20]}:{capture_id}",
                    doc_id=doc_id,
                    kind=kind,
                    sha256=digest,
                    size=len(data),
                    captured_at=captured_at,
                    url=(visited[0] if visited and kind == "warc" else doc.url),
                    final_url=url,
                    http_status=status,
                    origin="capture",
                    capture_id=capture_id,
                    captured_by=user,
                    path=key,
                    content_type=content_type,
                    tools=tools,
                    **extra,
                )
            )
        self.meta.add_files(stored)
        self._audit(
            doc_id,
            user,
            "capture",
            f"{len(shot.blocked)} requests blocked" if shot.blocked else "",
            capture_id=capture_id,
            files=[{"kind": f.kind, "sha256": f.sha256} for f in stored],
        )
        return CaptureResult(doc_id, capture_id, stored, shot.blocked)

    def pending_captures(self, limit: int = 20) -> list[str]:
        """Open review items of posts that have no screenshot yet, highest priority first."""
        wanted: list[str] = []
        for queue in dict.fromkeys(FLAG_QUEUES.values()):
            wanted += [item.target_id for item in self.store.review_list(queue, limit=200)]
        wanted = list(dict.fromkeys(wanted))
        done = self.meta.docs_with_files(wanted, "screenshot")
        return [doc_id for doc_id in wanted if doc_id not in done][:limit]

    # -- reading ---------------------------------------------------------------------------
    def list(self, doc_id: str | None = None) -> list[EvidenceFile]:
        if doc_id is not None:
            self.document(doc_id)
        return self.meta.files(doc_id)

    def read(self, item: EvidenceFile) -> bytes:
        """The stored bytes of ``item``, checked against its SHA-256."""
        if item.offset is not None and item.length is not None:
            data = self.files.read_range(item.path, item.offset, item.length)
        else:
            data = self.files.read(item.path)
        if hashlib.sha256(data).hexdigest() != item.sha256:
            raise EvidenceError(f"{item.path}: stored bytes do not match their SHA-256")
        return data

    def open_file(self, doc_id: str, file_id: str, user: str) -> tuple[EvidenceFile, bytes]:
        """A file of ``doc_id`` for a person to look at (the view goes to the audit log)."""
        item = self.meta.get_file(file_id)
        if item is None or item.doc_id != doc_id:
            raise NotFound(f"no evidence file {file_id!r} for {doc_id}")
        data = self.read(item)
        self._audit(doc_id, user, "view", f"{item.kind} {item.sha256[:16]}", file=item.id)
        return item, data

    def record_view(self, doc_id: str, user: str, what: str) -> None:
        self._audit(doc_id, user, "view", what)

    # -- watches and checks ----------------------------------------------------------------
    def watch(self, doc_id: str, user: str, *, watched: bool = True, reason: str = "") -> None:
        self.document(doc_id)
        self.meta.set_watch(doc_id, watched, user=user, reason=reason, at=format_time(_now()))
        self._audit(doc_id, user, "watch" if watched else "unwatch", reason)

    def confirmed(self) -> list[str]:
        """Posts whose review verdict confirms them (``evidence.check_verdicts``)."""
        if not self.settings.check_verdicts:
            return []
        request = SearchRequest(filters={"review_status": list(self.settings.check_verdicts)})
        return [doc.id for doc in self.store.scan(request)]

    def due(self, now: datetime | None = None) -> list[str]:
        """Confirmed and watched posts not checked for ``evidence.check_interval`` seconds."""
        now = now or _now()
        watched = [state.doc_id for state in self.meta.watches()]
        candidates = list(dict.fromkeys([*self.confirmed(), *watched]))
        last = self.meta.last_checks(candidates)
        cutoff = format_time(now - timedelta(seconds=self.settings.check_interval))
        return [doc_id for doc_id in candidates if last.get(doc_id, "") <= cutoff]

    def captured_text(self, doc: Document) -> str:
        """The post's text as first archived (what was flagged), else the stored text."""
        for item in self.meta.files(doc.id):
            if item.kind != "warc":
                continue
            try:
                html, url = _response_html(self.read(item))
            except (OSError, ValueError, EvidenceError) as exc:
                log.warning("cannot read %s: %s", item.id, exc)
                continue
            text, _ = page_text(html, url)
            if text:
                return text
        return doc.text

    def check(self, doc_id: str, user: str = "scheduler") -> Check:
        """Fetch the post's URL now and record what came back (with retries)."""
        import time

        doc = self.document(doc_id)
        policy = self.policy(doc)
        exchange = None
        visited: list[str] = []
        error = ""
        for attempt in range(self.settings.check_retries + 1):
            try:
                exchange, visited = fetch(
                    doc.url,
                    policy,
                    user_agent=self.user_agent,
                    timeout=self.settings.capture_timeout,
                )
            except UrlRefused as exc:
                raise EvidenceError(f"check of {doc_id} refused: {exc}") from exc
            except FetchError as exc:
                error, exchange = str(exc), None
            if exchange is not None and exchange.status < 500:
                break
            if attempt < self.settings.check_retries:
                time.sleep(min(2.0**attempt, 10.0))
        html = ""
        if exchange is not None:
            html = exchange.body.decode(_charset(exchange.response_headers), errors="replace")
        verdict = classify(
            http_status=exchange.status if exchange is not None else None,
            html=html,
            url=exchange.url if exchange is not None else doc.url,
            captured_text=self.captured_text(doc),
            redirected=bool(visited),
            removed_patterns=self.settings.removed_patterns,
            error=error,
        )
        checked_at = format_time(_now())
        check = Check(
            id=f"{doc_id}:check:{uuid.uuid4().hex[:12]}",
            doc_id=doc_id,
            checked_at=checked_at,
            url=doc.url,
            status=verdict.status,
            http_status=exchange.status if exchange is not None else None,
            final_url=exchange.url if exchange is not None else "",
            response_sha256=hashlib.sha256(exchange.body).hexdigest() if exchange else "",
            diff=verdict.diff,
            detail=verdict.detail,
            checked_by=user,
        )
        self.meta.add_check(check)
        self._audit(doc_id, user, "check", verdict.detail, status=check.status, check=check.id)
        return check

    def check_due(self, user: str = "scheduler") -> Iterator[Check | tuple[str, str]]:
        """Check every due post; yields checks, or (doc id, error) for refused ones."""
        for doc_id in self.due():
            try:
                yield self.check(doc_id, user)
            except EvidenceError as exc:
                yield doc_id, str(exc)

    # -- bundles ---------------------------------------------------------------------------
    def bundle(self, doc_ids: list[str], out: Path, user: str) -> Any:
        from crawler.evidence.bundle import BundleDocument, write_wacz

        docs = []
        for doc_id in dict.fromkeys(doc_ids):
            doc = self.document(doc_id)
            files = self.meta.files(doc_id)
            docs.append(
                BundleDocument(
                    document=doc,
                    files=[(item, self.read(item)) for item in files],
                    review=_review(self.store, doc_id),
                    audit=self.meta.audit_history(doc_id),
                    checks=self.meta.checks(doc_id),
                )
            )
        report = write_wacz(out, docs, signing_key=self.settings.signing_key)
        for doc in docs:
            self._audit(doc.document.id, user, "bundle", out.name, sha256=report.sha256)
        return report


def _review(store: Store, doc_id: str) -> list[dict[str, Any]]:
    from index.review import item_id

    found = []
    for queue in dict.fromkeys(FLAG_QUEUES.values()):
        try:
            item = store.review_get(item_id(queue, doc_id))
        except NotFound:
            continue
        found.append(
            {
                "item": item.to_dict(),
                "history": [vars_of(entry) for entry in store.review_history(item.id)],
            }
        )
    return found


def vars_of(entry: AuditEntry) -> dict[str, Any]:
    return {
        "item_id": entry.item_id,
        "at": entry.at,
        "user": entry.user,
        "action": entry.action,
        "note": entry.note,
        "before": entry.before,
        "after": entry.after,
    }


def _charset(headers: list[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "content-type" and "charset=" in value.lower():
            return value.lower().split("charset=")[1].split(";")[0].strip() or "utf-8"
    return "utf-8"


def _response_html(data: bytes) -> tuple[str, str]:
    """(HTML, URL) of the first response record in WARC bytes."""
    from warcio.archiveiterator import ArchiveIterator

    for record in ArchiveIterator(io.BytesIO(data)):
        if record.rec_type == "response":
            headers = record.http_headers.headers if record.http_headers else []
            body = record.content_stream().read()
            return (
                body.decode(_charset(headers), errors="replace"),
                record.rec_headers.get_header("WARC-Target-URI"),
            )
    raise ValueError("no response record")
