"""Scrapy settings for misinfo-monitor crawls: every ``MM_*`` default lives here.

:func:`crawl_settings` turns the application's ``settings.yaml`` and one source into the
Scrapy ``Settings`` of that source's crawl.
"""

from __future__ import annotations

from typing import Any

from scrapy.settings import Settings

from crawler.app import App
from crawler.sources import Source

__all__ = ["BASE_SETTINGS", "crawl_settings"]

BASE_SETTINGS: dict[str, Any] = {
    # -- misinfo-monitor components ------------------------------------------------------
    "MM_INDEX_URI": None,  # sqlite:///... or elasticsearch+http://...; set per run
    "MM_INDEX_OPTIONS": {},  # backend options (Elasticsearch credentials, index prefix)
    "MM_CONFIG_DIR": None,  # user config directory (None: bundled config only)
    "MM_ANALYSIS_ENABLED": True,
    "MM_SKIP_UNCHANGED_ENABLED": True,
    "MM_STORE_BATCH_SIZE": 20,
    # -- Scrapy ----------------------------------------------------------------------------
    "BOT_NAME": "misinfo-monitor",
    "ITEM_PIPELINES": {
        "crawler.pipelines.NormalizePipeline": 100,
        "crawler.pipelines.SkipUnchangedPipeline": 200,
        "crawler.pipelines.AnalysePipeline": 300,
        "crawler.pipelines.StorePipeline": 400,
    },
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
    app: App, source: Source, *, index_uri: str, overrides: dict[str, Any] | None = None
) -> Settings:
    """Scrapy settings for one crawl of ``source`` from the app's ``settings.yaml``."""
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
    if overrides:
        settings.setdict(overrides, priority="cmdline")
    return settings
