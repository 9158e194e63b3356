"""The evidence jobs of ``misinfo run``: capture newly queued posts, run due takedown checks.

One background thread beside the crawl scheduler (whose APScheduler jobs follow the
sources file): every ``evidence.capture_interval`` seconds it captures posts that entered a
review queue and have no screenshot yet (when ``evidence.capture_on_flag``), and runs the
takedown checks that are due (``evidence.check_interval`` per post). Failures are logged,
never fatal: the next round tries again.
"""

from __future__ import annotations

import logging
import threading
import time

from crawler.app import App
from crawler.resources.evidence import EvidenceSettings
from crawler.resources.store import open_app_store

__all__ = ["EvidenceWorker"]

log = logging.getLogger("misinfo.evidence")

#: Seconds between two looks for due takedown checks (each post is still checked only
#: every ``evidence.check_interval`` seconds).
CHECK_POLL = 60.0
#: Seconds before a failed capture of a post is tried again.
RETRY_FAILED = 3600.0


class EvidenceWorker:
    def __init__(self, app: App, settings: EvidenceSettings | None = None) -> None:
        self.app = app
        self.settings = settings or EvidenceSettings.from_app(app)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_checks = 0.0
        #: doc id -> monotonic time before which a failed capture is not retried.
        self._retry_after: dict[str, float] = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="evidence", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        interval = min(self.settings.capture_interval, CHECK_POLL)
        while not self._stop.wait(interval):
            self.run_once()

    def run_once(self) -> tuple[int, int]:
        """One round; returns (captures made, checks recorded)."""
        from crawler.evidence.service import EvidenceService

        captured = checked = 0
        try:
            store = open_app_store(self.app)
        except Exception as exc:  # store away: try again next round
            log.error("evidence: store unavailable: %s", exc)
            return 0, 0
        try:
            service = EvidenceService(self.app, store, settings=self.settings)
            if self.settings.capture_on_flag:
                for doc_id in service.pending_captures():
                    if self._stop.is_set():
                        break
                    if self._retry_after.get(doc_id, 0.0) > time.monotonic():
                        continue
                    try:
                        result = service.capture(doc_id, "scheduler")
                        captured += 1
                        log.info("evidence: captured %s (%s)", doc_id, result.capture_id)
                    except Exception as exc:
                        self._retry_after[doc_id] = time.monotonic() + RETRY_FAILED
                        log.error("evidence: capture of %s failed: %s", doc_id, exc)
            now = time.monotonic()
            if now - self._last_checks >= CHECK_POLL or self._last_checks == 0.0:
                self._last_checks = now
                for outcome in service.check_due():
                    if isinstance(outcome, tuple):
                        log.error("evidence: check of %s refused: %s", *outcome)
                        continue
                    checked += 1
                    log.info("evidence: %s is %s", outcome.doc_id, outcome.status)
        except Exception as exc:
            log.error("evidence: round failed: %s", exc)
        finally:
            store.close()
        return captured, checked
