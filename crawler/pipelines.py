"""Item pipelines: normalise -> skip unchanged -> analyse -> store.

The crawl opens its store once (:func:`crawler_store`); with Elasticsearch it comes behind the
outage spool, which is replayed before the first write and reported on at the end.

Each stage is a Scrapy component built ``from_crawler``; outcomes are counted as
``mm/<stage>/<outcome>`` stats, which the run summary and run history read.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from analysis.text import normalize_text
from crawler.alerts import AlertDelivery
from crawler.app import App
from crawler.items import PostItem
from crawler.processing.extension import analyse
from crawler.processing.tasks import PostJob
from crawler.resources.site_profiles import refresh_site_profiles
from crawler.resources.store import SpooledStore, flush_spool, open_configured_store
from index import Document, Store, StoreUnavailable, UpsertResult, document_id
from index.documents import post_fields

__all__ = [
    "AnalysePipeline",
    "NormalizePipeline",
    "SkipUnchangedPipeline",
    "StorePipeline",
    "crawler_store",
]

log = logging.getLogger(__name__)


def crawler_store(crawler: Crawler) -> Store:
    """The one store a crawl writes to, opened on first use and closed when the engine stops."""
    store = getattr(crawler, "_mm_store", None)
    if store is None:
        uri = crawler.settings.get("MM_INDEX_URI")
        if not uri:
            raise NotConfigured("MM_INDEX_URI is not set")
        # Elasticsearch: through the outage spool, bulk writes without refresh.
        store = open_configured_store(
            uri, crawler.settings.getdict("MM_INDEX_OPTIONS"), for_crawl=True
        )
        crawler._mm_store = store  # type: ignore[attr-defined]
        # A bound method of the store the crawler keeps (signals hold weak references).
        crawler.signals.connect(store.close, signal=signals.engine_stopped)
        if isinstance(store, SpooledStore):
            watch_spool(crawler, store)  # replay what waits first; report what waits at the end
    return store


class _SpoolWatch:
    """Crawl hooks of a spooled store: replay first, report what waits at the end."""

    def __init__(self, crawler: Any, store: SpooledStore) -> None:
        self.crawler = crawler
        self.store = store

    def replay(self) -> None:
        if not self.store.waiting():
            return
        report = flush_spool(self.store, config_dir=self.crawler.settings.get("MM_CONFIG_DIR"))
        self.crawler.stats.inc_value("mm/spool/replayed", report.replayed)
        if report.error:
            log.warning("spool not replayed yet (%s): new documents queue behind it", report.error)

    def spider_closed(self) -> None:
        pending = self.store.waiting()
        self.crawler.stats.set_value("mm/docs/spooled", self.store.spooled_total)
        self.crawler.stats.set_value("mm/spool/pending", pending)
        if pending:
            log.warning(
                "%d documents wait in the spool %s (the store was unreachable); they are "
                "written by the next crawl or `misinfo index flush`",
                pending,
                self.store.spool_path,
            )


def watch_spool(crawler: Any, store: SpooledStore) -> None:
    """Replay the spool now, before the crawl writes, and count what waits when it ends
    (``mm/docs/spooled``, ``mm/spool/pending``, ``mm/spool/replayed`` stats)."""
    watch = crawler._mm_spool_watch = _SpoolWatch(crawler, store)  # signals hold weak refs
    crawler.signals.connect(watch.spider_closed, signal=signals.spider_closed)
    watch.replay()


def _app(config_dir: str | None) -> App:
    return App(config_dir=Path(config_dir) if config_dir else None)


#: Documents remembered by skip-unchanged before it forgets those the store has.
_KNOWN_SWEEP = 1000


def content_hash(item: PostItem) -> str:
    """Hash of what an analyst reads: a change here means the page changed."""
    digest = hashlib.sha256()
    for part in (item.title, item.author, item.published_at or "", item.text):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


class NormalizePipeline:
    """NFC + one tone-mark convention for every text field; drops pages with no text."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        return cls(crawler)

    def process_item(self, item: PostItem) -> PostItem:
        item.title = normalize_text(item.title)
        item.text = normalize_text(item.text)
        item.author = normalize_text(item.author)
        item.section = normalize_text(item.section)
        if not item.text:
            self.crawler.stats.inc_value("mm/normalize/empty")
            raise DropItem(f"no text extracted from {item.url}", log_level="INFO")
        return item


class SkipUnchangedPipeline:
    """Drop pages whose content hash matches the stored document: nothing to re-analyse."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        # Documents of this run on their way to the store; once stored, the store answers
        # for them and they are forgotten, so memory does not grow with a long crawl.
        self.known: dict[str, str] = {}
        self._sweep_at = _KNOWN_SWEEP

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SkipUnchangedPipeline:
        if not crawler.settings.getbool("MM_SKIP_UNCHANGED_ENABLED"):
            raise NotConfigured("MM_SKIP_UNCHANGED_ENABLED is off")
        return cls(crawler)

    def _forget_stored(self) -> None:
        stored = crawler_store(self.crawler).content_hashes(list(self.known))
        for doc_id, stored_hash in stored.items():
            if self.known.get(doc_id) == stored_hash:
                del self.known[doc_id]
        self._sweep_at = max(_KNOWN_SWEEP, 2 * len(self.known))

    def process_item(self, item: PostItem) -> PostItem:
        doc_id = document_id(item.canonical_url)
        new_hash = content_hash(item)
        stored = crawler_store(self.crawler).content_hashes([doc_id]).get(doc_id)
        if stored == new_hash or self.known.get(doc_id) == new_hash:
            self.crawler.stats.inc_value("mm/docs/unchanged")
            raise DropItem(f"unchanged: {item.canonical_url}", log_level="DEBUG")
        # Two URLs of one canonical page in one run: the second is the same document.
        self.known[doc_id] = new_hash
        if len(self.known) >= self._sweep_at:
            self._forget_stored()
        return item


class AnalysePipeline:
    """Run the Vietnamese analysis (segmentation, Covid, claims) on new or changed posts, in
    the crawl's processing workers (``crawler.processing``), batched with other posts; items
    come out in the order they went in."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AnalysePipeline:
        if not crawler.settings.getbool("MM_ANALYSIS_ENABLED"):
            raise NotConfigured("MM_ANALYSIS_ENABLED is off")
        return cls(crawler)

    async def process_item(self, item: PostItem) -> PostItem:
        job = PostJob(item.text, item.title, item.url, item.published_at, item.engagement)
        outcome = await analyse(self.crawler, job)
        if outcome.value is None:
            self.crawler.stats.inc_value("mm/analyse/failed")
            raise DropItem(f"not analysed: {item.url}: {outcome.error}", log_level="ERROR")
        item.analysis = result = outcome.value.analysis
        drawn = outcome.value.drawn
        if drawn is not None:
            # Stores that cluster (SQLite, Elasticsearch) have a clusterer; others do not.
            clusterer = getattr(crawler_store(self.crawler), "clusterer", None)
            if clusterer is not None:
                clusterer.remember(drawn.text_hash, drawn.sketch, drawn.params)
        for flag in ("covid", "claim"):
            if result.get(flag, {}).get("flag"):
                self.crawler.stats.inc_value(f"mm/flags/{flag}")
        return item


class StorePipeline:
    """Write documents in batches; count new and updated; refresh touched site profiles."""

    def __init__(self, crawler: Crawler, batch_size: int):
        self.crawler = crawler
        self.batch_size = batch_size
        self.pending: list[Document] = []
        self.sites: set[str] = set()
        # Watch alerts the writes raise go to the webhook (crawler/alerts.py).
        self.alerts = AlertDelivery.from_app(_app(crawler.settings.get("MM_CONFIG_DIR")))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler, crawler.settings.getint("MM_STORE_BATCH_SIZE"))

    def process_item(self, post: PostItem) -> PostItem:
        store = crawler_store(self.crawler)
        doc_id = document_id(post.canonical_url)
        previous = store.get(doc_id)
        self.pending.append(_to_document(post, doc_id, previous))
        if post.site:
            self.sites.add(post.site)
        if len(self.pending) >= self.batch_size:
            self._flush()
        return post

    def _flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        store = crawler_store(self.crawler)
        try:
            results = [store.upsert(batch)]
        except StoreUnavailable:
            raise  # the store is away: nothing one document did; the run reports it
        except Exception:
            # One bad document must not cost the batch: write them one at a time, and
            # lose (and log) only those that still fail.
            log.warning("a batch of %d documents failed; writing them one by one", len(batch))
            results = [result for doc in batch if (result := self._write_one(store, doc))]
        for result in results:
            self.crawler.stats.inc_value("mm/docs/new", result.created)
            self.crawler.stats.inc_value("mm/docs/updated", result.updated)
            if result.refused:
                self.crawler.stats.inc_value("mm/docs/refused", result.refused)
        self.alerts.after_write(store)

    def _write_one(self, store: Store, doc: Document) -> UpsertResult | None:
        try:
            return store.upsert([doc])
        except StoreUnavailable:
            raise
        except Exception:
            self.crawler.stats.inc_value("mm/docs/failed")
            log.exception("cannot store %s", doc.canonical_url[:200])
            return None

    def close_spider(self) -> None:
        self._flush()
        self.alerts.close(crawler_store(self.crawler))
        if self.sites:
            refresh_site_profiles(
                crawler_store(self.crawler),
                sorted(self.sites),
                config_dir=self.crawler.settings.get("MM_CONFIG_DIR"),
            )


def _to_document(post: PostItem, doc_id: str, previous: Document | None) -> Document:
    analysis = post.analysis
    covid = analysis.get("covid", {})
    claim = analysis.get("claim", {})
    flags = [name for name, part in (("covid", covid), ("claim", claim)) if part.get("flag")]
    scores = {
        name: float(part["score"])
        for name, part in (("covid", covid), ("claim", claim))
        if "score" in part
    }
    stored_analysis = {key: value for key, value in analysis.items() if key != "segmented"}
    stored_analysis["page_signals"] = post.page_signals
    if post.notes:
        stored_analysis["notes"] = list(post.notes)
    return Document(
        **post_fields(post),
        id=doc_id,
        first_seen=previous.first_seen if previous else post.fetched_at,
        lang=analysis.get("lang", "vi"),
        content_hash=content_hash(post),
        segmented=analysis.get("segmented", ""),
        flags=flags,
        scores=scores,
        analysis=stored_analysis,
        review_status=previous.review_status if previous else "none",
        cluster_id=previous.cluster_id if previous else None,
    )
