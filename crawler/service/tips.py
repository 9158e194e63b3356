"""Fetch and analyse the URL of a citizen report (tip) through the crawl's own spiders.

The URL's host picks the spider: a host of a configured source is fetched as that source
would fetch it (rendered in Chromium when the source says ``render: true``, the social
spider for ``kind: social``); any other host goes through the generic article path (the
news spider) under a synthetic ``tips`` source. Either way the crawl's settings apply
(user agent, politeness, robots.txt, page size) plus :mod:`crawler.ssrf`'s guard, and the
page goes through the same pipelines (normalise, analyse, store). Only that page is
fetched: links are not followed.

One fetch per process (Scrapy's reactor cannot restart): ``misinfo tips add`` is one
process, and the web UI runs that command in a subprocess (:func:`tip_subprocess`).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.http import TextResponse
from scrapy.settings import Settings

from crawler.app import App
from crawler.extract.article import extract_page
from crawler.extract.urls import canonical_url, host_of, in_domains
from crawler.items import PostItem
from crawler.resources.sources import Source, load_sources
from crawler.resources.store import open_app_store
from crawler.settings import BASE_SETTINGS, crawl_settings
from crawler.spiders.news import NewsSpider
from crawler.spiders.social import RenderedNewsSpider, SocialSpider
from crawler.ssrf import UnsafeTarget, check_target
from index import document_id

__all__ = ["TIP_SOURCE", "TipFetch", "fetch_tip", "tip_source", "tip_subprocess"]

#: The source name of tips on hosts no source covers.
TIP_SOURCE = "tips"
#: Seconds the web UI waits for a tip's fetch subprocess.
SUBPROCESS_TIMEOUT = 180


@dataclass(frozen=True, slots=True)
class TipFetch:
    """What fetching a tip's URL gave: the stored document, or why there is none."""

    url: str
    source: str
    doc_id: str | None = None
    error: str = ""


class _TipPage:
    """For a tip the reported page is the point: it is kept even when it does not look
    like an article (a home page, a listing), as long as it has text."""

    source: Source
    crawler: Crawler

    def page_results(
        self, response: TextResponse, depth: int, fetched_at: Any, extracted: Any
    ) -> Iterator[Any]:
        produced = False
        results = super().page_results(  # type: ignore[misc]
            response, self.source.follow_depth, fetched_at, extracted
        )
        for result in results:
            if isinstance(result, PostItem):
                produced = True
                yield result
        if produced or not isinstance(response, TextResponse):
            return
        from datetime import UTC, datetime

        from analysis.site_style import page_signals

        fetched_at = datetime.now(UTC)
        page = extract_page(response.text, response.url, fetched_at=fetched_at)
        if not (page.text or page.title):
            return
        yield PostItem(
            url=response.url,
            canonical_url=page.canonical_url or canonical_url(response.url),
            source=self.source.name,
            site=page.site,
            kind=self.source.kind,
            title=page.title,
            text=page.text or page.title,
            author=page.author,
            section=page.section,
            published_at=page.published_at.isoformat() if page.published_at else None,
            fetched_at=fetched_at.isoformat(timespec="seconds"),
            site_name=page.site_name,
            outlinks=page.outlinks,
            page_signals=page_signals(response.text, response.url, kind=self.source.kind).to_dict(),
        )


class TipNewsSpider(_TipPage, NewsSpider):
    name = "tip"


class TipRenderedSpider(_TipPage, RenderedNewsSpider):
    name = "tip-rendered"


def tip_source(url: str, sources: list[Source]) -> tuple[Source, type[scrapy.Spider]]:
    """The source (a copy limited to ``url``) and spider that fetch a tip's URL."""
    limits = {"start_urls": [url], "feeds": [], "sitemaps": [], "follow_depth": 0, "max_pages": 3}
    for source in sources:
        if in_domains(url, source.domains):
            copy = source.model_copy(update={**limits, "allowed_domains": source.domains})
            if source.kind == "social":
                return copy.model_copy(update={"scroll": 0, "load_more": None}), SocialSpider
            return copy, TipRenderedSpider if source.render else TipNewsSpider
    generic = Source(
        name=TIP_SOURCE,
        kind="news",
        allowed_domains=[host_of(url)],
        description="citizen reports on hosts no source covers",
        **limits,
    )
    return generic, TipNewsSpider


def _source_domains(sources: list[Source]) -> list[str]:
    return sorted({domain for source in sources for domain in source.domains})


def fetch_tip(app: App, url: str) -> TipFetch:
    """Fetch, analyse and store ``url`` (once per process); never raises for a page that
    cannot be fetched: the reason is in ``TipFetch.error``."""
    from scrapy.utils.reactor import install_reactor, is_reactor_installed

    sources = load_sources(app.config_path("sources.yaml"))
    allowed = _source_domains(sources)
    source, spider = tip_source(url, sources)
    try:
        check_target(url, allowed)  # refused before anything starts (and again per request)
    except UnsafeTarget as exc:
        return TipFetch(url, source.name, error=str(exc))
    if not is_reactor_installed():
        install_reactor(BASE_SETTINGS["TWISTED_REACTOR"])
    app.ensure_data_dir()
    settings: Settings = crawl_settings(app, source, index_uri=app.index_uri)
    settings.setdict(
        {
            "MM_SSRF_ENABLED": True,
            "MM_SSRF_ALLOWED_DOMAINS": allowed,
            "MM_SKIP_UNCHANGED_ENABLED": True,
            # One page: worker processes would cost more to start than the page to process.
            "MM_PROCESSING_WORKERS": 0,
            "DOWNLOADER_MIDDLEWARES": {
                **settings.getdict("DOWNLOADER_MIDDLEWARES"),
                "crawler.ssrf.SSRFGuardMiddleware": 10,
            },
            "LOG_LEVEL": "ERROR",
        },
        priority="cmdline",
    )
    # Process-wide settings (DNS resolver that knows *.localhost, reactor) as for crawls.
    base = Settings()
    base.setdict(BASE_SETTINGS, priority="default")
    base.set("LOG_ENABLED", False, priority="cmdline")
    process = CrawlerProcess(base)
    crawler = Crawler(spider, settings)
    seen: list[PostItem] = []
    errors: list[str] = []

    def collect(item: Any, **_: Any) -> None:
        if isinstance(item, PostItem):
            seen.append(item)

    def failed(failure: Any, **_: Any) -> None:
        errors.append(str(failure.value).splitlines()[0][:300])

    crawler.signals.connect(collect, signal=signals.item_scraped)
    crawler.signals.connect(collect, signal=signals.item_dropped)
    crawler.signals.connect(failed, signal=signals.spider_error)
    logging.getLogger("scrapy").setLevel(logging.ERROR)
    process.crawl(crawler, source=source)
    process.start(stop_after_crawl=True, install_signal_handlers=False)
    stats = crawler.stats.get_stats() if crawler.stats else {}
    if not seen:
        reasons = list(stats.get("mm/ssrf/reasons") or []) + errors
        status = {
            k: v for k, v in stats.items() if k.startswith("downloader/response_status_count")
        }
        reasons += [
            "download failed: " + key.rsplit(".", 1)[-1]
            for key in stats
            if key.startswith("downloader/exception_type_count/")
        ]
        if stats.get("robotstxt/forbidden"):
            reasons.append("robots.txt forbids fetching it")
        if not reasons and status:
            reasons.append(
                "answered " + ", ".join(k.rsplit("/", 1)[-1] for k in status) + " with no page text"
            )
        return TipFetch(
            url, source.name, error="; ".join(reasons) or "no page text could be fetched"
        )
    wanted = canonical_url(url)
    chosen = next((item for item in seen if canonical_url(item.url) == wanted), seen[0])
    doc_id = document_id(chosen.canonical_url)
    store = open_app_store(app)
    try:
        stored = store.get(doc_id) is not None
    finally:
        store.close()
    if not stored:
        return TipFetch(url, source.name, error="the page was fetched but could not be stored")
    return TipFetch(url, source.name, doc_id=doc_id)


def tip_subprocess(
    app: App,
    url: str,
    *,
    user: str,
    note: str,
    channel: str,
    reporter: str,
    received: str | None,
) -> dict[str, Any]:
    """Run ``misinfo tips add ... --json`` in a subprocess (for the web UI); returns the
    tip as JSON, or raises ``ValueError`` with the command's one-line error."""
    command = [sys.executable, "-m", "crawler", "--data-dir", str(app.data_dir)]
    if app.config_dir is not None:
        command += ["--config", str(app.config_dir)]
    command += ["tips", "add", url, "--note", note, "--channel", channel, "--user", user, "--json"]
    if reporter:
        command += ["--reporter", reporter]
    if received:
        command += ["--received", received]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ValueError(f"fetching the report's URL took over {SUBPROCESS_TIMEOUT}s") from exc
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise ValueError(lines[-1].removeprefix("Error: ") if lines else "could not record the tip")
    return json.loads(done.stdout)
