"""The local frontier's duplicate filter, on disk: memory does not grow with a crawl's pages.

Scrapy's ``RFPDupeFilter`` keeps every request fingerprint it has seen in a set (and, with
``JOBDIR``, appends it to ``requests.seen``, read back whole on resume): a crawl of a
million URLs holds a million fingerprints. :class:`DiskDupeFilter` keeps them in an SQLite
table in the job directory (``requests.seen.db``; a temporary file without one), behind a
small page cache. The same fingerprints (``REQUEST_FINGERPRINTER_CLASS``), the same answers,
and the same life as ``requests.seen``: kept by a paused run, deleted with the job directory
of a finished or killed one (:class:`crawler.service.runner.JobDir`).
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from scrapy.dupefilters import BaseDupeFilter
from scrapy.http import Request
from scrapy.utils.job import job_dir
from scrapy.utils.request import RequestFingerprinterProtocol, referer_str

__all__ = ["SEEN_FILE", "DiskDupeFilter"]

log = logging.getLogger(__name__)

SEEN_FILE = "requests.seen.db"
#: Inserts per transaction: a killed run loses at most these (its job directory is wiped).
COMMIT_EVERY = 1000
#: SQLite page cache, KiB: what the filter holds in memory whatever the crawl's size.
CACHE_KIB = 2048


class DiskDupeFilter(BaseDupeFilter):
    """Request fingerprints seen, in SQLite (see the module docstring)."""

    def __init__(
        self, path: str | None, *, fingerprinter: RequestFingerprinterProtocol, debug: bool = False
    ) -> None:
        self.fingerprinter = fingerprinter
        self.debug = debug
        self.logdupes = True
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        if path is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="mm-seen-")
            path = self._temporary.name
        self.path = Path(path) / SEEN_FILE
        self._conn = sqlite3.connect(str(self.path), isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = MEMORY")
        self._conn.execute("PRAGMA synchronous = OFF")
        self._conn.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
        self._conn.execute("CREATE TABLE IF NOT EXISTS seen (fp BLOB PRIMARY KEY) WITHOUT ROWID")
        self._conn.execute("BEGIN")
        self._pending = 0

    @classmethod
    def from_crawler(cls, crawler: Any) -> DiskDupeFilter:
        return cls(
            job_dir(crawler.settings),
            fingerprinter=crawler.request_fingerprinter,
            debug=crawler.settings.getbool("DUPEFILTER_DEBUG"),
        )

    def request_seen(self, request: Request) -> bool:
        fingerprint = self.fingerprinter.fingerprint(request)
        inserted = self._conn.execute(
            "INSERT OR IGNORE INTO seen (fp) VALUES (?)", (fingerprint,)
        ).rowcount
        if inserted:
            self._pending += 1
            if self._pending >= COMMIT_EVERY:
                self._conn.execute("COMMIT")
                self._conn.execute("BEGIN")
                self._pending = 0
        return not inserted

    def close(self, reason: str) -> None:
        self._conn.execute("COMMIT")
        self._conn.close()
        if self._temporary is not None:
            self._temporary.cleanup()

    def log(self, request: Request, spider: Any) -> None:
        if self.debug:
            log.debug(
                "Filtered duplicate request: %(request)s (referer: %(referer)s)",
                {"request": request, "referer": referer_str(request)},
                extra={"spider": spider},
            )
        elif self.logdupes:
            log.debug(
                "Filtered duplicate request: %(request)s - no more duplicates will be shown"
                " (see DUPEFILTER_DEBUG to show all duplicates)",
                {"request": request},
                extra={"spider": spider},
            )
            self.logdupes = False
        spider.crawler.stats.inc_value("dupefilter/filtered")
