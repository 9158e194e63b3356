"""The Scrapy side: :class:`Processing`, where spiders extract pages and pipelines analyse
posts, in ``crawl.workers`` worker processes (default: one per core) or, with
``crawl.workers: 0``, in the crawl process itself (the same code, without processes).

The crawl process keeps the reactor, the downloads, the raw responses (the WARC extension
archives them), the pipelines' bookkeeping and the store; the workers get HTML and give back
fields, and get post text and give back its analysis. Crawls that share a process
(``misinfo crawl --all``) share its workers. Outcomes are stats: ``mm/extract/failed`` and
``mm/analyse/failed`` (pages recorded as failed; each is also logged as an error, so it is
in the run history), ``mm/extract/batches``, ``mm/analyse/batches``, and the workers'
``mm/workers/started``, ``mm/workers/died`` and ``mm/workers/retried``.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from crawler.app import App, ConfigError
from crawler.processing.pool import WorkerPool
from crawler.processing.stage import Stage
from crawler.processing.tasks import (
    AnalysedPost,
    AnalysisContext,
    Outcome,
    PageJob,
    PageResult,
    PostJob,
    analyse_posts,
    extract_pages,
    prepare,
)
from crawler.resources.analysis import thresholds_from_settings

__all__ = ["Processing", "analyse", "default_workers", "extract"]

log = logging.getLogger(__name__)


def default_workers() -> int:
    """The cores this process may run on (``crawl.workers`` when it is not set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _analysis_context(config_dir: str | None) -> AnalysisContext:
    """The analysis's configuration directory and its thresholds (``settings.yaml``); with
    clustering on, the workers also draw each post's near-duplicate sketch."""
    app = App(config_dir=Path(config_dir) if config_dir else None)
    try:
        clusters = app.cluster_settings()
    except ConfigError:  # the store says so when it opens; the analysis does not need it
        clusters = None
    params = clusters.params if clusters is not None and clusters.enabled else None
    return AnalysisContext(config_dir, thresholds_from_settings(app), params)


class _SharedPools:
    """Crawls in one process share one pool per size: N sources never start N x workers."""

    def __init__(self) -> None:
        self._pools: dict[tuple[int, float], tuple[WorkerPool, int]] = {}

    def acquire(self, size: int, timeout: float, initializer: Any) -> WorkerPool:
        key = (size, timeout)
        pool, users = self._pools.get(key, (None, 0))
        if pool is None:
            pool = WorkerPool(size, initializer=initializer, timeout=timeout)
        self._pools[key] = (pool, users + 1)
        return pool

    def release(self, pool: WorkerPool) -> bool:
        """Whether ``pool`` has no user left (the caller shuts it down)."""
        for key, (known, users) in list(self._pools.items()):
            if known is pool:
                if users > 1:
                    self._pools[key] = (known, users - 1)
                    return False
                del self._pools[key]
                return True
        return False


_POOLS = _SharedPools()


def _deferred(future: Future[Any]) -> Deferred[Any]:
    """A Deferred fired in the reactor thread when ``future`` (done in a pool thread) is."""
    from twisted.internet import reactor

    result: Deferred[Any] = Deferred()

    def fire(done: Future[Any]) -> None:
        error = done.exception()
        if error is not None:
            result.errback(Failure(error))
        else:
            result.callback(done.result())

    future.add_done_callback(lambda done: reactor.callFromThread(fire, done))
    return result


class Processing:
    """Extraction and analysis stages of one crawl, over a worker pool or in-process."""

    def __init__(
        self,
        crawler: Crawler,
        *,
        workers: int,
        batch_size: int,
        timeout: float,
        analysis: AnalysisContext | None,
        config_dir: str | None,
    ) -> None:
        self.crawler = crawler
        self.workers = workers
        self.timeout = timeout
        self.analysis = analysis
        self.config_dir = config_dir
        self.pool: WorkerPool | None = None
        # Out at once: one batch per worker, so the next batch gathers what waits meanwhile.
        # Held: two batches' worth per worker, enough to keep every worker busy.
        out = max(1, workers)
        held = 2 * batch_size * out
        self.extract_stage: Stage[PageJob, PageResult] = Stage(
            self._extract_batch, batch_size=batch_size, max_batches=out, max_jobs=held
        )
        self.analyse_stage: Stage[PostJob, AnalysedPost] = Stage(
            self._analyse_batch, batch_size=batch_size, max_batches=out, max_jobs=held
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Processing:
        settings = crawler.settings
        configured = settings.get("MM_PROCESSING_WORKERS")
        workers = default_workers() if configured in (None, "") else int(configured)
        if workers < 0:
            raise ValueError(f"MM_PROCESSING_WORKERS must be 0 or more, not {workers}")
        config_dir = settings.get("MM_CONFIG_DIR")
        analysis = (
            _analysis_context(config_dir) if settings.getbool("MM_ANALYSIS_ENABLED") else None
        )
        extension = cls(
            crawler,
            workers=workers,
            batch_size=settings.getint("MM_PROCESSING_BATCH_SIZE"),
            timeout=settings.getfloat("MM_PROCESSING_TIMEOUT"),
            analysis=analysis,
            config_dir=config_dir,
        )
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    @property
    def in_process(self) -> bool:
        """``crawl.workers: 0``: no worker processes, the work runs on the reactor."""
        return self.workers == 0

    # -- signals ---------------------------------------------------------------------------
    async def spider_opened(self) -> None:
        """Start the workers (or load the models here) before the first page is fetched."""
        warm = partial(prepare, self.config_dir, self.analysis is not None)
        if self.in_process:
            warm()
            return
        self.pool = _POOLS.acquire(self.workers, self.timeout, warm)
        try:
            await maybe_deferred_to_future(_deferred(self.pool.ready()))
        except Exception as exc:
            log.error(
                "processing workers could not start: %s", exc, extra={"spider": self.crawler.spider}
            )
            raise CloseSpider("processing_unavailable") from exc

    async def spider_closed(self) -> None:
        stats = self.crawler.stats
        for name, stage in (("extract", self.extract_stage), ("analyse", self.analyse_stage)):
            stats.set_value(f"mm/{name}/batches", stage.counts.batches)
        pool, self.pool = self.pool, None
        if pool is None:
            return
        stats.set_value("mm/workers/count", pool.size)
        stats.set_value("mm/workers/started", pool.stats.started)
        stats.set_value("mm/workers/died", pool.stats.died)
        stats.set_value("mm/workers/retried", pool.stats.retried)
        if _POOLS.release(pool):
            await maybe_deferred_to_future(deferToThread(pool.shutdown))

    # -- batches ---------------------------------------------------------------------------
    def _extract_batch(self, jobs: list[PageJob]) -> Any:
        if self.pool is None:
            return extract_pages(jobs)
        return _deferred(self.pool.submit(extract_pages, jobs))

    def _analyse_batch(self, jobs: list[PostJob]) -> Any:
        context = self.analysis or AnalysisContext(self.config_dir)
        if self.pool is None:
            return analyse_posts(context, jobs)
        return _deferred(self.pool.submit(analyse_posts, context, jobs))


def _processing(crawler: Crawler | None) -> Processing | None:
    if crawler is None:
        return None
    try:
        return crawler.get_extension(Processing)
    except RuntimeError:  # no extension manager (a spider driven by hand, in a test)
        return None


async def extract(crawler: Crawler | None, job: PageJob) -> Outcome[PageResult]:
    """``job``'s extraction through the crawl's :class:`Processing` (in the order pages came),
    or here and now when the crawl has none."""
    processing = _processing(crawler)
    if processing is None:
        return extract_pages([job])[0]
    return await maybe_deferred_to_future(processing.extract_stage.submit(job))


async def analyse(crawler: Crawler | None, job: PostJob) -> Outcome[AnalysedPost]:
    """``job``'s analysis through the crawl's :class:`Processing`, or here and now."""
    processing = _processing(crawler)
    if processing is None:
        config_dir = crawler.settings.get("MM_CONFIG_DIR") if crawler is not None else None
        return analyse_posts(_analysis_context(config_dir), [job])[0]
    return await maybe_deferred_to_future(processing.analyse_stage.submit(job))
