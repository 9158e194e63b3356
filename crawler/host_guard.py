"""Every request a crawl sends stays on its source's hosts and ports.

Scrapy's offsite check compares host names only, so a page linking ``http://x.vn:8081/``
(another service on the same machine as the site) sent the crawl there. This downloader
middleware sees every request, redirects included, and lets through only http(s) URLs that
the source's :class:`~crawler.extract.validate.HostPolicy` allows: its hosts, on the
default ports and those of its entry URLs (any port with ``other_ports: true``). What it
drops is counted as ``mm/hosts/<reason>`` stats.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.extract.validate import HostPolicy, is_web_url
from crawler.resources.sources import source_policy

__all__ = ["HostGuardMiddleware"]


class HostGuardMiddleware:
    """Drop requests off the source's hosts or ports (downloader middleware)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._policy: HostPolicy | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostGuardMiddleware:
        if not crawler.settings.getbool("MM_HOST_GUARD_ENABLED"):
            raise NotConfigured("MM_HOST_GUARD_ENABLED is off")
        return cls(crawler)

    def policy(self) -> HostPolicy | None:
        if self._policy is None:
            source = getattr(self.crawler.spider, "source", None)
            if source is not None:
                self._policy = source_policy(source)
        return self._policy

    def process_request(self, request: Request) -> None:
        policy = self.policy()
        if policy is None or policy.allows(request.url):
            return None
        if not is_web_url(request.url):
            reason = "not_web_url"
        elif policy.owns(request.url):
            reason = "other_port"
        else:
            reason = "offsite"
        self.crawler.stats.inc_value(f"mm/hosts/{reason}")
        parts = urlsplit(request.url)
        raise IgnoreRequest(f"{reason}: {parts.scheme}://{parts.netloc} is not the source's")
