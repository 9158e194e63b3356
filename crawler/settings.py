"""Scrapy settings for misinfo-monitor crawls: every ``MM_*`` default lives here.

:func:`crawl_settings` turns the application's ``settings.yaml`` and one source into the
Scrapy ``Settings`` of that source's crawl.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from scrapy.settings import Settings

from crawler.app import App, ConfigError
from crawler.browser_guard import CONTEXT_OPTIONS, browser_network_args
from crawler.extract.validate import HostPolicy
from crawler.frontier.config import Frontier
from crawler.resources.evidence import crawl_evidence_settings
from crawler.resources.sources import Source, source_policy

__all__ = [
    "BASE_SETTINGS",
    "BROWSER_ENV",
    "BrowserNotFound",
    "browser_settings",
    "crawl_settings",
    "find_browser",
    "needs_browser",
]

#: Environment variable naming a Chromium executable (wins over Playwright's own browser).
BROWSER_ENV = "MISINFO_CHROMIUM"
#: Chromium flags for a crawler: no sandbox (containers), no background traffic of its own,
#: and ``*.localhost`` (the demo sites) mapped to the loopback interface.
BROWSER_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--host-resolver-rules=MAP *.localhost 127.0.0.1",
)
_SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

BASE_SETTINGS: dict[str, Any] = {
    # -- misinfo-monitor components ------------------------------------------------------
    "MM_INDEX_URI": None,  # sqlite:///... or elasticsearch+http://...; set per run
    "MM_INDEX_OPTIONS": {},  # backend options (Elasticsearch credentials, index prefix)
    "MM_CONFIG_DIR": None,  # user config directory (None: bundled config only)
    # Values from pages checked first (crawler.boundary.BoundaryPipeline): an item off the
    # source's hosts is dropped, bad fields are dropped or cut with a note.
    "MM_BOUNDARY_ENABLED": True,
    # Requests only to the source's hosts and ports (crawler.host_guard.HostGuardMiddleware).
    "MM_HOST_GUARD_ENABLED": True,
    # A gzip sitemap is unpacked up to this many bytes (crawler.spiders.news).
    "MM_SITEMAP_MAX_BYTES": 20 * 1024 * 1024,
    "MM_ANALYSIS_ENABLED": True,
    "MM_SKIP_UNCHANGED_ENABLED": True,
    "MM_STORE_BATCH_SIZE": 20,
    # Extraction and analysis (crawler.processing): worker processes (None: one per core; 0:
    # none, the work runs in the crawl process), pages or posts per batch, seconds a batch
    # may take before its worker is stopped and replaced (the batch is retried once).
    "MM_PROCESSING_WORKERS": None,
    "MM_PROCESSING_BATCH_SIZE": 8,
    "MM_PROCESSING_TIMEOUT": 300.0,
    # Retries of 5xx/429 with backoff (crawler.middlewares.BackoffRetryMiddleware).
    "MM_RETRY_ENABLED": True,
    "MM_RETRY_BACKOFF_BASE": 0.5,  # seconds before the first retry; doubles each time
    "MM_RETRY_BACKOFF_MAX": 30.0,  # cap on any wait, Retry-After included
    # Crawler traps (crawler.middlewares.TrapFilterMiddleware): bounds per URL shape.
    "MM_TRAPS_ENABLED": True,
    "MM_TRAPS_MAX_URL_LENGTH": 512,
    "MM_TRAPS_MAX_PER_PATTERN": 60,  # URLs per path with digits collapsed (/lich/#/#/#)
    "MM_TRAPS_MAX_QUERY_VARIANTS": 12,  # distinct query-parameter combinations per path
    # Resume after a hard kill (crawler.middlewares.ResumeMiddleware): documents stored since
    # this ISO time by the interrupted run are not fetched again; set per run by the runner.
    "MM_RESUME_SINCE": None,
    # Shared crawl runs on the redis frontier (crawler.frontier.shared_run.SharedRun); the
    # frontier (crawler.frontier.config.Frontier.scrapy_settings) turns it on with scrapy-redis.
    "MM_SHARED_RUN_ENABLED": False,
    "MM_SHARED_RUN_KEY": None,  # <prefix>:<source>:<run>, the prefix of the run's Redis keys
    "MM_SHARED_RUN_TTL": 86_400,  # seconds an unfinished run's keys outlive its last process
    "MM_SHARED_RUN_WORKER_TIMEOUT": 30,  # seconds without a heartbeat: a process is dead
    # Browser for kind: social / render: true sources (crawler.spiders.social).
    "MM_BROWSER_WAIT_MS": 15000,  # wait this long for the first post to appear
    "MM_BROWSER_GROW_MS": 4000,  # after a scroll or click, wait this long for more posts
    "MM_BROWSER_MAX_CLICKS": 50,  # "load more" clicks per page
    # The browser talks only to the source's hosts (crawler.browser_guard).
    "MM_BROWSER_GUARD_ENABLED": True,
    # WARC of every stored document's response (crawler.evidence.warc.WarcExtension), under
    # <MM_DATA_DIR>/warc/<source>/<run>/; set per run from settings.yaml's evidence.warc.
    "MM_WARC_ENABLED": False,
    "MM_WARC_MODE": "all",  # "all" or "flagged" (only pages flagged by the analysis)
    "MM_WARC_MAX_BYTES": 100 * 1024 * 1024,  # a new file past this size
    "MM_DATA_DIR": None,
    # -- Scrapy ----------------------------------------------------------------------------
    "BOT_NAME": "misinfo-monitor",
    "ITEM_PIPELINES": {
        "crawler.boundary.BoundaryPipeline": 50,
        "crawler.pipelines.NormalizePipeline": 100,
        "crawler.pipelines.SkipUnchangedPipeline": 200,
        "crawler.pipelines.AnalysePipeline": 300,
        "crawler.pipelines.StorePipeline": 400,
    },
    # Items of one response in the pipelines at once. Scrapy starts this many asyncio tasks
    # for every response's output, and most pages yield one item: its default of 100 cost
    # more CPU in the crawl process than the pipelines themselves. Two processing batches'
    # worth (MM_PROCESSING_BATCH_SIZE) still fill a batch from a page of many posts.
    "CONCURRENT_ITEMS": 16,
    "ROBOTSTXT_OBEY": True,
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 0.25,
    "AUTOTHROTTLE_MAX_DELAY": 30.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
    "DOWNLOAD_DELAY": 0.25,
    "DOWNLOAD_TIMEOUT": 20,
    "DOWNLOAD_MAXSIZE": 5 * 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 2 * 1024 * 1024,
    "REDIRECT_MAX_TIMES": 5,
    "RETRY_TIMES": 2,
    "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
    "DOWNLOADER_MIDDLEWARES": {
        "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
        "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
        "crawler.middlewares.RobotsTxtMiddleware": 100,
        "crawler.middlewares.BackoffRetryMiddleware": 550,
        "crawler.middlewares.ResumeMiddleware": 50,
        "crawler.host_guard.HostGuardMiddleware": 40,
        "crawler.browser_guard.BrowserGuardMiddleware": 45,
    },
    "SPIDER_MIDDLEWARES": {"crawler.middlewares.TrapFilterMiddleware": 800},
    "EXTENSIONS": {
        "crawler.processing.extension.Processing": 400,
        "crawler.frontier.shared_run.SharedRun": 500,
        "crawler.evidence.warc.WarcExtension": 600,
    },
    "COOKIES_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "DNS_RESOLVER": "crawler.resolver.LocalhostAwareResolver",
    "TWISTED_DNS_RESOLVER": "crawler.resolver.LocalhostAwareResolver",
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    "LOG_LEVEL": "WARNING",
    "LOG_FORMAT": "%(levelname)s: %(message)s",
    "DEFAULT_DROPITEM_LOG_LEVEL": "DEBUG",
    "HTTPERROR_ALLOW_ALL": False,
}


def crawl_settings(
    app: App,
    source: Source,
    *,
    index_uri: str,
    overrides: dict[str, Any] | None = None,
    frontier: Frontier | None = None,
) -> Settings:
    """Scrapy settings for one crawl of ``source`` from the app's ``settings.yaml``.

    ``frontier`` (default: local) decides the scheduler and duplicate filter: Scrapy's own,
    or scrapy-redis's on a Redis shared by every process crawling the source.
    """
    crawl = app.settings.get("crawl", {})
    settings = Settings()
    settings.setdict(BASE_SETTINGS, priority="default")
    configured = {
        "USER_AGENT": crawl.get("user_agent"),
        "DOWNLOAD_TIMEOUT": crawl.get("download_timeout"),
        "DOWNLOAD_MAXSIZE": crawl.get("max_page_bytes"),
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.get("concurrent_per_domain"),
        "DOWNLOAD_DELAY": crawl.get("download_delay"),
        "AUTOTHROTTLE_ENABLED": crawl.get("autothrottle"),
        "ROBOTSTXT_OBEY": crawl.get("obey_robots"),
        "CLOSESPIDER_PAGECOUNT": source.max_pages or crawl.get("max_pages"),
        "RETRY_TIMES": crawl.get("retry_times"),
        "REDIRECT_MAX_TIMES": crawl.get("max_redirects"),
        "MM_PROCESSING_WORKERS": _workers(app, crawl.get("workers")),
    }
    settings.setdict(
        {key: value for key, value in configured.items() if value is not None}, priority="project"
    )
    settings.setdict(
        {
            "MM_INDEX_URI": index_uri,
            "MM_INDEX_OPTIONS": app.store_options(),
            "MM_CONFIG_DIR": str(app.config_dir) if app.config_dir else None,
        },
        priority="project",
    )
    settings.setdict(crawl_evidence_settings(app), priority="project")
    if frontier is not None:
        settings.setdict(frontier.scrapy_settings(source.name), priority="project")
    if needs_browser(source):
        settings.setdict(
            browser_settings(
                require_browser(app),
                timeout=settings.getfloat("DOWNLOAD_TIMEOUT") or 20,
                hosts=source_policy(source),
            ),
            priority="project",
        )
    if overrides:
        settings.setdict(overrides, priority="cmdline")
    return settings


def _workers(app: App, value: Any) -> int | None:
    """``crawl.workers``: a whole number of processes, 0 for none (``None``: one per core)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"{app.config_path('settings.yaml')}: field 'crawl.workers': {value!r} is not a "
            "whole number of worker processes (0: none, the crawl process does the work)"
        )
    return value


class BrowserNotFound(ConfigError):
    """No Chromium for a source that needs one; the message names the setting to fix."""


def needs_browser(source: Source) -> bool:
    """Social pages and ``render: true`` sources are fetched through Chromium."""
    return source.kind == "social" or source.render


@lru_cache(maxsize=1)
def _playwright_chromium() -> str | None:
    """The Chromium ``playwright install chromium`` put in place, if it did (asked once per
    process: it starts Playwright's driver)."""
    from playwright.sync_api import sync_playwright

    def locate() -> str | None:
        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
        return path if path and Path(path).exists() else None

    # The sync API refuses to run in a thread with an asyncio loop (the crawl's reactor).
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(locate).result(timeout=30)
    except Exception:  # driver missing or broken: treat as "no Playwright browser"
        return None


def find_browser(app: App) -> str | None:
    """Chromium to use: ``browser.executable_path`` in settings.yaml, else ``$MISINFO_CHROMIUM``,
    else Playwright's own browser, else a system Chromium on ``PATH``; ``None`` if none.

    A path that is configured but does not exist is an error, never silently replaced.
    """
    configured = str((app.settings.get("browser") or {}).get("executable_path") or "").strip()
    if configured:
        if not Path(configured).is_file():
            raise BrowserNotFound(
                f"{app.config_path('settings.yaml')}: field 'browser.executable_path': "
                f"{configured} does not exist"
            )
        return configured
    if env := os.environ.get(BROWSER_ENV, "").strip():
        if not Path(env).is_file():
            raise BrowserNotFound(f"${BROWSER_ENV}={env} does not exist")
        return env
    if bundled := _playwright_chromium():
        return bundled
    for name in _SYSTEM_BROWSERS:
        if found := shutil.which(name):
            return found
    return None


def require_browser(app: App) -> str:
    """:func:`find_browser`, or :class:`BrowserNotFound` with a one-line fix."""
    path = find_browser(app)
    if path is None:
        raise BrowserNotFound(
            "no Chromium found for social/render sources: set browser.executable_path in "
            f"settings.yaml or ${BROWSER_ENV}, or run `playwright install chromium`"
        )
    return path


def browser_settings(
    executable_path: str, *, timeout: float = 20, hosts: HostPolicy | None = None
) -> dict[str, Any]:
    """Scrapy settings that route ``meta={"playwright": True}`` requests through Chromium.

    Only crawls that need a browser get these: other requests of such a crawl still go
    through Scrapy's own HTTP handler, and news crawls never start Chromium at all. With
    ``hosts`` (the source's), the browser reaches nothing else (``crawler.browser_guard``).
    """
    handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    network = browser_network_args(hosts) if hosts is not None else []
    return {
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": executable_path,
            "headless": True,
            "args": [*BROWSER_ARGS, *network],
            "timeout": 30_000,
        },
        "PLAYWRIGHT_CONTEXTS": {"default": dict(CONTEXT_OPTIONS)},
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 2,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": int(timeout * 1000),
    }
