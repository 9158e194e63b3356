"""The web UI's evidence actions (:class:`index.web.views_evidence.EvidenceActions`) over
:class:`~crawler.evidence.service.EvidenceService`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from crawler.app import App
from crawler.evidence.service import EvidenceService
from index.evidence import Check, EvidenceFile
from index.store import Store

__all__ = ["WebEvidenceActions"]


class WebEvidenceActions:
    """One service per call, on the request's store (stores are not shared across threads)."""

    def __init__(self, app: App) -> None:
        self.app = app

    def _service(self, store: Store) -> EvidenceService:
        return EvidenceService(self.app, store)

    def capture(self, store: Store, doc_id: str, user: str) -> str:
        result = self._service(store).capture(doc_id, user)
        kinds = ", ".join(item.kind for item in result.files)
        blocked = (
            f"; {len(result.blocked)} requests to other hosts blocked" if result.blocked else ""
        )
        return f"captured {kinds} ({result.capture_id}){blocked}"

    def check(self, store: Store, doc_id: str, user: str) -> Check:
        return self._service(store).check(doc_id, user)

    def watch(self, store: Store, doc_id: str, user: str, watched: bool) -> None:
        self._service(store).watch(doc_id, user, watched=watched)

    def bundle(self, store: Store, doc_ids: list[str], user: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="misinfo-bundle-") as tmp:
            out = Path(tmp) / "evidence.wacz"
            self._service(store).bundle(doc_ids, out, user)
            return out.read_bytes()

    def open_file(
        self, store: Store, doc_id: str, file_id: str, user: str
    ) -> tuple[EvidenceFile, bytes]:
        return self._service(store).open_file(doc_id, file_id, user)
