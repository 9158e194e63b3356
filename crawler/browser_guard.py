"""The browser of a ``render: true`` or social crawl talks only to its source's hosts.

A rendered page runs the site's JavaScript: left alone, its ``<img>``, ``<iframe>``, CSS,
scripts, ``fetch()`` and redirects made Chromium request any host and port, the crawler's
own network included (a blind SSRF). Two layers, so that one missing case in either is
caught by the other:

* in the network stack: Chromium is launched with every request going to a proxy that
  does not exist, except those to the source's hosts and ports (the proxy bypass list, with
  ``<-loopback>`` so loopback addresses get no implicit pass). Redirects, WebSockets,
  workers and popups all go through it: what is not the source's fails to connect;
* per page: a Playwright route (installed by scrapy-playwright's page-init callback, which
  :class:`BrowserGuardMiddleware` sets on every browser request) aborts requests off the
  source's hosts before they leave and answers navigations away with "204 No Content" (the
  page stays), popups are closed and downloads cancelled; browser contexts refuse
  downloads and service workers.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.extract.validate import HostPolicy, is_web_url
from crawler.resources.sources import source_policy

__all__ = [
    "BLACKHOLE_PROXY",
    "CONTEXT_OPTIONS",
    "BrowserGuardMiddleware",
    "browser_network_args",
    "guard_page",
]

log = logging.getLogger(__name__)

#: A proxy that cannot exist (``.invalid`` never resolves, RFC 2606): a request sent to it
#: fails to connect, and Chromium never falls back to a direct connection.
BLACKHOLE_PROXY = "http://blackhole.invalid:9"
#: ``Request.meta`` key holding the policy a page's route checks (plain data: requests may
#: be written to a disk queue).
POLICY_META = "mm_browser_hosts"
CONTEXT_OPTIONS: dict[str, Any] = {"accept_downloads": False, "service_workers": "block"}


def _bypass_rules(policy: HostPolicy) -> list[str]:
    """Chromium proxy-bypass rules for the hosts (and ports) of ``policy``."""
    rules = []
    for domain in policy.domains:
        host = f"[{domain}]" if ":" in domain else domain
        patterns = [host] if _is_literal(domain) else [host, f"*.{host}"]
        for pattern in patterns:
            if policy.any_port:
                rules.append(pattern)
            else:
                rules.extend(f"{pattern}:{port}" for port in sorted(policy.ports))
    return rules


def _is_literal(host: str) -> bool:
    return ":" in host or host.replace(".", "").isdigit() or host.endswith("localhost")


def browser_network_args(policy: HostPolicy) -> list[str]:
    """Chromium flags that send everything off the source's hosts to a dead proxy."""
    return [
        f"--proxy-server={BLACKHOLE_PROXY}",
        "--proxy-bypass-list=" + ";".join(["<-loopback>", *_bypass_rules(policy)]),
    ]


def _policy_data(policy: HostPolicy) -> dict[str, Any]:
    return {
        "domains": list(policy.domains),
        "ports": sorted(policy.ports),
        "any_port": policy.any_port,
    }


def _policy_from(data: dict[str, Any]) -> HostPolicy:
    return HostPolicy(tuple(data["domains"]), frozenset(data["ports"]), bool(data["any_port"]))


async def guard_page(page: Any, request: Request) -> None:
    """scrapy-playwright page-init callback: route every request of the page (and of
    popups, which are closed) through the source's policy; cancel downloads.

    Registered after scrapy-playwright's own route, so it runs first (Playwright runs the
    last registered route first) and hands allowed requests on with ``fallback``.
    """
    policy = _policy_from(request.meta[POLICY_META])

    async def route(route: Any, browser_request: Any) -> None:
        url = browser_request.url
        if is_web_url(url) and not policy.allows(url):
            log.debug("browser request blocked: %s", url[:200])
            if browser_request.is_navigation_request():
                # "No Content": the frame stays on its page (an aborted navigation would
                # replace it with an error page, and the crawl would read that).
                await route.fulfill(status=204)
            else:
                await route.abort("blockedbyclient")
            return
        await route.fallback()

    async def close_popup(popup: Any) -> None:
        log.debug("popup closed: %s", popup.url[:200])
        await popup.close()

    async def cancel_download(download: Any) -> None:
        await download.cancel()

    await page.route("**", route)
    page.on("popup", close_popup)
    page.on("download", cancel_download)


class BrowserGuardMiddleware:
    """Downloader middleware: every browser request gets :func:`guard_page` as its page-init
    callback, with the spider's source policy beside it."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._policy: dict[str, Any] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrowserGuardMiddleware:
        if not crawler.settings.getbool("MM_BROWSER_GUARD_ENABLED"):
            raise NotConfigured("MM_BROWSER_GUARD_ENABLED is off")
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not request.meta.get("playwright"):
            return None
        if self._policy is None:
            source = getattr(self.crawler.spider, "source", None)
            if source is None:
                return None
            self._policy = _policy_data(source_policy(source))
        request.meta[POLICY_META] = self._policy
        # An import path (not a function): the meta stays serialisable for disk queues.
        request.meta["playwright_page_init_callback"] = "crawler.browser_guard.guard_page"
        self.crawler.stats.inc_value("mm/browser/guarded_pages")
        return None
