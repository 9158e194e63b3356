"""The configured store with the outage spool in front: how Elasticsearch deployments write.

Every command opens the configured store with :func:`open_app_store`; a crawl, which has
only its Scrapy settings, with :func:`open_configured_store`. When ``settings.yaml`` says
``store: elasticsearch``, :meth:`crawler.app.App.store_options` adds a ``spool_path``
(``<data dir>/es-spool.db``) and :func:`open_configured_store` wraps the backend in a :class:`SpooledStore` (an
:class:`index.spool.SpoolingStore` whose reads also see the spool). Writes that cannot
reach the cluster wait in the spool, in order; the next crawl and ``misinfo index flush``
replay them (:func:`flush_spool`).

A crawl opens the store with ``for_crawl=True``: bulk writes skip the per-request refresh
(nothing searches mid-crawl; the one scan, for site profiles, refreshes first), and reads
the crawl needs to go on (``get``, ``content_hashes``) answer from the spool and treat an
unreachable cluster as "not stored yet" instead of failing the page. That is safe because
the store keeps ``first_seen`` and a review decision when a document is written again,
and upserts by id, so a page crawled twice during an outage is written once.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler.app import SPOOL_FILE, App
from crawler.resources.site_profiles import refresh_site_profiles
from index import open_store
from index.documents import Document
from index.errors import StoreUnavailable
from index.spool import FlushReport, SpooledUpsertResult, SpoolingStore
from index.store import SearchRequest, Store

__all__ = [
    "SPOOL_FILE",
    "SpooledStore",
    "flush_spool",
    "open_app_store",
    "open_configured_store",
    "spool_state",
]

log = logging.getLogger(__name__)

_LOOKUP_CHUNK = 500


class SpooledStore(SpoolingStore):
    """A :class:`SpoolingStore` whose document reads see what is waiting in the spool.

    The spool holds the newest version of a document while it waits, so ``get`` and
    ``content_hashes`` look there first. With ``lenient_reads`` (crawls) an unreachable
    cluster makes them answer "unknown" rather than raise, and site-profile scans are
    skipped while documents wait (the profile would miss them; :func:`flush_spool`
    recomputes those sites once they are delivered).
    """

    def __init__(
        self, inner: Store, spool_path: str | Path, *, lenient_reads: bool = False
    ) -> None:
        super().__init__(inner, spool_path)
        self.lenient_reads = lenient_reads
        #: Documents this process had to spool (a crawl reports it).
        self.spooled_total = 0
        # A connection of our own: reads and progress polls do not wait for a long flush.
        self._reader_lock = threading.Lock()
        self._reader = sqlite3.connect(
            str(self.spool_path), isolation_level=None, check_same_thread=False
        )
        self._reader.execute("CREATE INDEX IF NOT EXISTS spool_doc_id ON spool (doc_id)")

    # -- the spool ------------------------------------------------------------------------

    def waiting(self) -> int:
        """Documents in the spool, readable while another thread flushes."""
        with self._reader_lock:
            return self._reader.execute("SELECT count(*) FROM spool").fetchone()[0]

    def spooled_documents(self, doc_ids: Iterable[str]) -> dict[str, Document]:
        """The newest spooled version of each of ``doc_ids`` that waits in the spool."""
        ids = list(dict.fromkeys(doc_ids))
        found: dict[str, Document] = {}
        with self._reader_lock:
            if not self._reader.execute("SELECT 1 FROM spool LIMIT 1").fetchone():
                return found
            for start in range(0, len(ids), _LOOKUP_CHUNK):
                chunk = ids[start : start + _LOOKUP_CHUNK]
                marks = ", ".join("?" * len(chunk))
                for doc_id, payload in self._reader.execute(
                    f"SELECT doc_id, payload FROM spool WHERE doc_id IN ({marks}) ORDER BY seq",
                    chunk,
                ):
                    found[doc_id] = Document.from_dict(json.loads(payload))
        return found

    def spooled_sites(self) -> list[str]:
        """Sites with documents waiting (their profiles need recomputing after a flush)."""
        with self._reader_lock:
            rows = self._reader.execute(
                "SELECT DISTINCT json_extract(payload, '$.site') FROM spool ORDER BY 1"
            ).fetchall()
        return [row[0] for row in rows if row[0]]

    # -- reads that see the spool -----------------------------------------------------------

    def get(self, doc_id: str) -> Document | None:
        spooled = self.spooled_documents([doc_id]).get(doc_id)
        if spooled is not None:
            return spooled
        try:
            return self.inner.get(doc_id)
        except StoreUnavailable:
            if not self.lenient_reads:
                raise
            return None

    def content_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(doc_ids))
        hashes = {doc_id: doc.content_hash for doc_id, doc in self.spooled_documents(ids).items()}
        rest = [doc_id for doc_id in ids if doc_id not in hashes]
        if rest:
            try:
                hashes.update(self.inner.content_hashes(rest))
            except StoreUnavailable:
                if not self.lenient_reads:
                    raise
        return hashes

    def scan(self, request: SearchRequest) -> Iterator[Document]:
        if not self.lenient_reads:
            yield from self.inner.scan(request)
            return
        if self.waiting():
            log.warning("documents wait in the spool: site profiles are recomputed on flush")
            return
        yielded = False
        try:
            refresh = getattr(self.inner, "refresh_indices", None)
            if refresh is not None and not getattr(self.inner, "refresh", True):
                refresh()  # bulk crawl writes skip refresh: make them searchable first
            for doc in self.inner.scan(request):
                yielded = True
                yield doc
        except StoreUnavailable as exc:
            if yielded:  # half a scan would give a wrong profile: fail loudly
                raise
            log.warning("store unreachable, scan skipped (%s)", exc)

    def upsert_site(self, profile: dict[str, Any]) -> None:
        try:
            self.inner.upsert_site(profile)
        except StoreUnavailable as exc:
            if not self.lenient_reads:
                raise
            log.warning("site profile of %s not stored (%s)", profile.get("site"), exc)

    # -- writes ---------------------------------------------------------------------------

    def upsert(self, documents: Iterable[Document]) -> SpooledUpsertResult:
        result = super().upsert(documents)
        self.spooled_total += result.spooled
        return result

    def close(self) -> None:
        with self._reader_lock:
            self._reader.close()
        super().close()

    def drop(self) -> None:
        with self._reader_lock:
            self._reader.close()
        super().drop()


def open_configured_store(
    uri: str, options: Mapping[str, Any], *, for_crawl: bool = False
) -> Store:
    """Open ``uri`` with backend ``options``; a ``spool_path`` option puts the spool in front.

    ``for_crawl``: bulk writes without refresh, and reads that tolerate an outage (see the
    module docstring); SQLite maps none of its file into memory.
    """
    backend_options = dict(options)
    spool_path = backend_options.pop("spool_path", None)
    if for_crawl and uri.startswith("sqlite:"):
        # A crawl writes and looks up single rows: it maps none of the file, so its RSS does
        # not grow with the index (see index.sqlite.SqliteStore).
        backend_options.setdefault("mmap_bytes", 0)
    if spool_path is None:
        return open_store(uri, **backend_options)
    if for_crawl:
        backend_options.setdefault("refresh", False)
    return SpooledStore(open_store(uri, **backend_options), spool_path, lenient_reads=for_crawl)


def open_app_store(app: App) -> Store:
    """The store ``app`` configures (creating the data directory); Elasticsearch comes behind
    the outage spool. The caller closes it."""
    app.ensure_data_dir()
    return open_configured_store(app.index_uri, app.store_options())


def flush_spool(
    store: SpooledStore, *, config_dir: str | None = None, batch_size: int | None = None
) -> FlushReport:
    """Replay the spool in order; once it is empty, recompute the profiles of its sites."""
    sites = store.spooled_sites()
    report = store.flush(batch_size=batch_size) if batch_size else store.flush()
    if report.complete and report.replayed and sites:
        refresh_site_profiles(store, sites, config_dir=config_dir)
    return report


def spool_state(spool_path: Path) -> tuple[int, int]:
    """(pending, rejected) counts of a spool file, without opening the store (0, 0 if none)."""
    if not spool_path.exists():
        return 0, 0
    conn = sqlite3.connect(f"{spool_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        counts = []
        for table in ("spool", "rejected"):
            try:
                counts.append(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            except sqlite3.OperationalError:  # a spool file from before the table existed
                counts.append(0)
        return counts[0], counts[1]
    finally:
        conn.close()
