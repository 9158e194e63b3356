"""Run crawls of one or more sources in this process and report what they did.

``misinfo crawl`` and ``misinfo demo`` call :func:`run_crawls`; the scheduler runs each crawl
in a subprocess of its own through the same function (Twisted's reactor cannot restart).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import scrapy
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from crawler.app import App
from crawler.frontier.config import COMPLETE_REASONS, Frontier
from crawler.resources.sources import Source
from crawler.service.history import RunHistory, RunRecord
from crawler.settings import BASE_SETTINGS, crawl_settings
from crawler.spiders.news import NewsSpider
from crawler.spiders.social import RenderedNewsSpider, SocialSpider

__all__ = [
    "CrawlProgress",
    "JobDir",
    "run_crawls",
    "spider_class",
    "summary_from_stats",
]

_MAX_ERRORS = 10
_MARKER = "mm-run.json"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def summary_from_stats(stats: dict[str, Any]) -> dict[str, int]:
    """Pages fetched, new, updated, unchanged and errors from a crawler's stats."""
    errors = stats.get("log_count/ERROR", 0) + stats.get("httperror/response_ignored_count", 0)
    return {
        "fetched": int(stats.get("response_received_count", 0)),
        "new": int(stats.get("mm/docs/new", 0)),
        "updated": int(stats.get("mm/docs/updated", 0)),
        "unchanged": int(stats.get("mm/docs/unchanged", 0)),
        # Written to the local spool while Elasticsearch was away (replayed later).
        "spooled": int(stats.get("mm/docs/spooled", 0)),
        "failed": int(errors),
    }


def spider_class(source: Source) -> type[scrapy.Spider]:
    """Social pages need the post-by-post spider; ``render: true`` news goes through Chromium."""
    if source.kind == "social":
        return SocialSpider
    if source.render:
        return RenderedNewsSpider
    return NewsSpider


@dataclass(frozen=True, slots=True)
class JobDir:
    """The Scrapy ``JOBDIR`` of one source, kept only while a run of it is unfinished.

    A marker file records when the unfinished run started and whether it stopped cleanly
    (SIGTERM/SIGINT: Scrapy saved its queue and duplicate filter, which are trusted) or was
    killed (its queue and filter are half-written and thrown away; the documents it stored
    since ``started_at`` are skipped by ``ResumeMiddleware`` instead).
    """

    path: Path
    started_at: str
    #: A previous run of this source did not finish.
    resumed: bool

    @classmethod
    def prepare(cls, data_dir: Path, source: str, *, now: str) -> JobDir:
        path = data_dir / "jobs" / source
        marker = path / _MARKER
        previous: dict[str, Any] = {}
        if marker.exists():
            try:
                previous = json.loads(marker.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                previous = {}
        if path.exists() and previous.get("state") != "paused":
            shutil.rmtree(path)  # killed (or unreadable): Scrapy's saved state is unreliable
        path.mkdir(parents=True, exist_ok=True)
        started_at = str(previous.get("started_at") or now)
        marker.write_text(
            json.dumps({"started_at": started_at, "state": "running"}), encoding="utf-8"
        )
        return cls(path=path, started_at=started_at, resumed=bool(previous))

    def settings(self) -> dict[str, Any]:
        return {
            "JOBDIR": str(self.path),
            "MM_RESUME_SINCE": self.started_at if self.resumed else None,
        }

    def close(self, finish_reason: str) -> None:
        """Delete after a complete run; otherwise mark it paused (Scrapy closed it cleanly)."""
        if finish_reason in COMPLETE_REASONS:
            shutil.rmtree(self.path, ignore_errors=True)
        elif self.path.exists():
            (self.path / _MARKER).write_text(
                json.dumps({"started_at": self.started_at, "state": "paused"}), encoding="utf-8"
            )


class _ErrorCollector(logging.Handler):
    """Keeps the first error messages of each spider for the run history."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.by_source: dict[str, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        spider = getattr(record, "spider", None)
        name = getattr(spider, "name", None) or "?"
        messages = self.by_source.setdefault(name, [])
        if len(messages) < _MAX_ERRORS:
            try:
                messages.append(record.getMessage().splitlines()[0][:300])
            except Exception:  # a broken log record must not break the crawl
                messages.append(str(record.msg)[:300])


def _drop_foreign_root_handlers() -> None:
    """Remove root handlers that libraries added on import (underthesea adds one at NOTSET,
    which would print Scrapy's whole debug log past ``LOG_LEVEL``)."""
    from scrapy.utils.log import get_scrapy_root_handler

    root = logging.getLogger()
    keep = get_scrapy_root_handler()
    for handler in list(root.handlers):
        if handler is not keep and isinstance(handler, logging.StreamHandler):
            root.removeHandler(handler)


class CrawlProgress:
    """A live one-line progress display on a terminal, periodic lines otherwise."""

    def __init__(self, stream: TextIO = sys.stderr, *, interval: float = 0.5):
        self.stream = stream
        self.interval = interval
        self.tty = stream.isatty()
        self._ticks = 0

    def update(self, crawlers: dict[str, Crawler]) -> None:
        self._ticks += 1
        parts = []
        for name, crawler in crawlers.items():
            counts = summary_from_stats(crawler.stats.get_stats() if crawler.stats else {})
            parts.append(
                f"{name}: {counts['fetched']} pages, {counts['new']} new, {counts['updated']} updated,"
                f" {counts['unchanged']} unchanged, {counts['failed']} errors"
            )
        line = " | ".join(parts)
        if self.tty:
            self.stream.write("\r\033[K" + line)
            self.stream.flush()
        elif self._ticks % 20 == 0:  # every ~10 s in logs and CI
            self.stream.write(line + "\n")

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def run_crawls(
    app: App,
    sources: list[Source],
    *,
    trigger: str = "manual",
    progress: CrawlProgress | None = None,
    overrides: dict[str, Any] | None = None,
    on_finish: Callable[[RunRecord], None] | None = None,
    frontier: Frontier | None = None,
) -> list[RunRecord]:
    """Crawl ``sources`` concurrently until done; record and return one run per source.

    ``frontier`` defaults to the one ``settings.yaml`` names. With the local frontier each
    source resumes from its ``JOBDIR``; with the redis frontier the shared Redis queue is the
    resumable state, so no job directory is kept.
    """
    from scrapy.utils.reactor import install_reactor, is_reactor_installed

    if not is_reactor_installed():
        # Install before any crawler is built: each crawler below has settings of its own.
        install_reactor(BASE_SETTINGS["TWISTED_REACTOR"])
    from twisted.internet import task

    if frontier is None:
        frontier = Frontier.from_app(app)
    # Before any run row: an unreachable Redis fails the command with one line.
    frontier.check_reachable()
    app.ensure_data_dir()
    history = RunHistory(app.state_path)
    index_uri = app.index_uri
    base = Settings()
    base.setdict(BASE_SETTINGS, priority="default")
    if overrides:
        base.setdict(overrides, priority="cmdline")
    # Scrapy owns logging for the run: LOG_LEVEL / LOG_FORMAT decide what reaches stderr.
    base.set("LOG_INSTALL_ROOT_HANDLER", True, priority="cmdline")
    process = CrawlerProcess(base)
    _drop_foreign_root_handlers()
    collector = _ErrorCollector()
    scrapy_logger = logging.getLogger()
    scrapy_logger.addHandler(collector)

    # Every source's settings first: a missing browser fails the command before any run row.
    all_settings = {
        source.name: crawl_settings(
            app, source, index_uri=index_uri, overrides=overrides, frontier=frontier
        )
        for source in sources
    }
    crawlers: dict[str, Crawler] = {}
    runs: dict[str, tuple[int, RunRecord]] = {}
    jobs: dict[str, JobDir] = {}
    for source in sources:
        settings = all_settings[source.name]
        if not frontier.shared:
            job = jobs[source.name] = JobDir.prepare(app.data_dir, source.name, now=_now())
            settings.setdict(job.settings(), priority="cmdline")
        crawler = Crawler(spider_class(source), settings)
        crawlers[source.name] = crawler
        record = RunRecord(source=source.name, trigger=trigger, started_at=_now())
        runs[source.name] = (history.start(source.name, trigger, record.started_at), record)
        process.crawl(crawler, source=source)

    ticker = None
    if progress is not None:
        ticker = task.LoopingCall(progress.update, crawlers)
        ticker.start(progress.interval, now=False)
    try:
        process.start(stop_after_crawl=True, install_signal_handlers=True)
    finally:
        if ticker is not None and ticker.running:
            ticker.stop()
        if progress is not None:
            progress.update(crawlers)
            progress.finish()
        scrapy_logger.removeHandler(collector)

    records: list[RunRecord] = []
    for name, crawler in crawlers.items():
        run_id, record = runs[name]
        stats = crawler.stats.get_stats() if crawler.stats else {}
        counts = summary_from_stats(stats)
        record.finished_at = _now()
        record.fetched = counts["fetched"]
        record.new = counts["new"]
        record.updated = counts["updated"]
        record.unchanged = counts["unchanged"]
        record.failed = counts["failed"]
        record.flags = {
            key.removeprefix("mm/flags/"): int(value)
            for key, value in stats.items()
            if key.startswith("mm/flags/")
        }
        record.errors = collector.by_source.get(name, [])
        reason = stats.get("finish_reason", "unknown")
        if name in jobs:
            jobs[name].close(reason)
        if reason not in COMPLETE_REASONS or (record.fetched == 0 and record.failed):
            record.status = "failed"
            if reason not in COMPLETE_REASONS:
                record.errors.insert(0, f"finish reason: {reason}")
        elif record.new + record.updated + record.unchanged + counts["spooled"] == 0:
            record.status = "empty"
        else:
            record.status = "ok"
        history.finish(run_id, record)
        record.id = run_id
        if on_finish is not None:
            on_finish(record)
        records.append(record)
    return records
