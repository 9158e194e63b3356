"""Crawl hygiene against hostile or broken sites: retries with backoff, trap bounds, resume.

- :class:`BackoffRetryMiddleware` (downloader) retries 5xx/429 and network errors through
  Scrapy's own :func:`~scrapy.downloadermiddlewares.retry.get_retry_request`, waiting an
  exponential backoff or the server's ``Retry-After`` (seconds or an HTTP date), capped.
- :class:`TrapFilterMiddleware` (spider) bounds what link-following can reach: URL length,
  repeated path segments, URLs per path shape (``/lich/2026/11/27`` -> ``/lich/#/#/#``) and
  query-parameter combinations per path. Everything it drops is a ``mm/traps/<reason>`` stat.
- :class:`RobotsTxtMiddleware` (downloader) is Scrapy's, with every request that arrives while
  a host's robots.txt is downloading held until the rules are known.
- :class:`ResumeMiddleware` (downloader) skips pages that an interrupted run of the same
  source already stored, so a rerun after a hard kill continues instead of starting over.

Politeness (delays, per-domain concurrency), redirect, size and page caps are plain Scrapy
settings in ``crawler/settings.py``.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict, defaultdict
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object
from scrapy.utils.response import response_status_message

from crawler.extract.urls import canonical_url
from crawler.pipelines import crawler_store
from index import document_id

__all__ = [
    "BackoffRetryMiddleware",
    "ResumeMiddleware",
    "RobotsTxtMiddleware",
    "TrapFilterMiddleware",
    "backoff_delay",
    "path_pattern",
    "retry_after_seconds",
]

_DIGITS = re.compile(r"\d+")
#: Query parameters that page through one listing: never a new combination of filters.
_PAGINATION_PARAMS = frozenset({"page", "trang", "p", "offset", "start", "pg"})


# -- retries -------------------------------------------------------------------------------
def retry_after_seconds(value: str | bytes | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: ``"120"`` or an HTTP date; ``None`` if unusable."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(
    attempt: int, *, base: float, cap: float, retry_after: float | None = None
) -> float:
    """Seconds before retry number ``attempt`` (1, 2, ...): the server's ``Retry-After`` when
    given, else ``base * 2**(attempt-1)``; never more than ``cap``."""
    wanted = retry_after if retry_after is not None else base * 2 ** max(0, attempt - 1)
    return max(0.0, min(cap, wanted))


class BackoffRetryMiddleware:
    """Scrapy's retry policy plus a wait before each retry (replaces ``RetryMiddleware``).

    The wait happens in this middleware's coroutine: other requests, to this site and others,
    go on meanwhile; only the retried request is held back.
    """

    def __init__(
        self,
        crawler: Crawler,
        *,
        max_retry_times: int,
        retry_http_codes: set[int],
        exceptions: tuple[type[Exception], ...],
        base: float,
        cap: float,
    ):
        self.crawler = crawler
        self.max_retry_times = max_retry_times
        self.retry_http_codes = retry_http_codes
        self.exceptions = exceptions
        self.base = base
        self.cap = cap

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured("RETRY_ENABLED is off")
        if not settings.getbool("MM_RETRY_ENABLED"):
            raise NotConfigured("MM_RETRY_ENABLED is off")
        return cls(
            crawler,
            max_retry_times=settings.getint("RETRY_TIMES"),
            retry_http_codes={int(code) for code in settings.getlist("RETRY_HTTP_CODES")},
            exceptions=tuple(load_object(path) for path in settings.getlist("RETRY_EXCEPTIONS")),
            base=settings.getfloat("MM_RETRY_BACKOFF_BASE"),
            cap=settings.getfloat("MM_RETRY_BACKOFF_MAX"),
        )

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        retry = self._retry_request(request, response_status_message(response.status))
        if retry is None:
            return response
        await self._wait(retry, retry_after_seconds(response.headers.get(b"Retry-After")))
        return retry

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if request.meta.get("dont_retry") or not isinstance(exception, self.exceptions):
            return None
        retry = self._retry_request(request, exception)
        if retry is None:
            return None
        await self._wait(retry, None)
        return retry

    def _retry_request(self, request: Request, reason: str | Exception) -> Request | None:
        assert self.crawler.spider is not None
        return get_retry_request(
            request,
            spider=self.crawler.spider,
            reason=reason,
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
        )

    async def _wait(self, retry: Request, retry_after: float | None) -> None:
        delay = backoff_delay(
            int(retry.meta.get("retry_times", 1)),
            base=self.base,
            cap=self.cap,
            retry_after=retry_after,
        )
        if retry_after is not None:
            self.crawler.stats.inc_value("mm/retry/retry_after")
            if retry_after > self.cap:
                self.crawler.stats.inc_value("mm/retry/retry_after_capped")
        self.crawler.stats.inc_value("mm/retry/wait_ms", int(delay * 1000))
        if delay > 0:
            await asyncio.sleep(delay)


# -- traps -----------------------------------------------------------------------------------
def path_pattern(url: str) -> str:
    """The shape of a URL: host and path with digit runs collapsed, query values too
    (``/lich/2026/11/27`` and ``/lich/1999/1/2`` share ``host/lich/#/#/#``)."""
    parts = urlsplit(url)
    query = "&".join(
        sorted(f"{key}={_DIGITS.sub('#', value)}" for key, value in parse_qsl(parts.query))
    )
    return f"{parts.netloc}{_DIGITS.sub('#', parts.path)}?{query}"


def _query_variant(url: str) -> tuple[str, str]:
    """(host+path, query without pagination and with numbers collapsed): pages of one
    listing are one variant; they are bounded by the per-pattern limit instead."""
    parts = urlsplit(url)
    variant = "&".join(
        sorted(
            f"{key}={_DIGITS.sub('#', value)}"
            for key, value in parse_qsl(parts.query)
            if key.lower() not in _PAGINATION_PARAMS
        )
    )
    return f"{parts.netloc}{parts.path}", variant


def _repeated_segments(path: str, limit: int = 3) -> bool:
    """``/a/b/a/b/a/b/`` (relative links resolved against themselves) repeats a segment."""
    counts: dict[str, int] = defaultdict(int)
    for segment in path.split("/"):
        if segment:
            counts[segment] += 1
            if counts[segment] >= limit:
                return True
    return False


class _RecentSets:
    """A set per key for the ``capacity`` keys used most recently: a trap fills its pattern's
    set fast, so it stays; the patterns of ordinary links (most seen once) are forgotten,
    and memory stays bounded however long the crawl."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._sets: OrderedDict[str, set[str]] = OrderedDict()

    def __getitem__(self, key: str) -> set[str]:
        found = self._sets.get(key)
        if found is None:
            found = self._sets[key] = set()
            if len(self._sets) > self.capacity:
                self._sets.popitem(last=False)
        else:
            self._sets.move_to_end(key)
        return found

    def __len__(self) -> int:
        return len(self._sets)


#: URL patterns (and paths) whose links the trap filter remembers at once.
TRAP_MEMORY = 20_000


class TrapFilterMiddleware(BaseSpiderMiddleware):
    """Drop followed links that look like crawler traps; count each as ``mm/traps/<reason>``.

    Start requests and article candidates from feeds and sitemaps are never dropped: traps
    live in link-following. Counts are of distinct URLs, so navigation links repeated on
    every page do not use up a pattern's budget.
    """

    def __init__(
        self, crawler: Crawler, *, max_url_length: int, max_per_pattern: int, max_variants: int
    ):
        super().__init__(crawler)
        self.max_url_length = max_url_length
        self.max_per_pattern = max_per_pattern
        self.max_variants = max_variants
        self.by_pattern = _RecentSets(TRAP_MEMORY)
        self.variants = _RecentSets(TRAP_MEMORY)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TrapFilterMiddleware:
        settings = crawler.settings
        if not settings.getbool("MM_TRAPS_ENABLED"):
            raise NotConfigured("MM_TRAPS_ENABLED is off")
        return cls(
            crawler,
            max_url_length=settings.getint("MM_TRAPS_MAX_URL_LENGTH"),
            max_per_pattern=settings.getint("MM_TRAPS_MAX_PER_PATTERN"),
            max_variants=settings.getint("MM_TRAPS_MAX_QUERY_VARIANTS"),
        )

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        if response is None or request.meta.get("mm_via") in ("feed", "sitemap"):
            return request
        reason = self.trap_reason(canonical_url(request.url))
        if reason is None:
            return request
        self.crawler.stats.inc_value(f"mm/traps/{reason}")
        return None

    def trap_reason(self, url: str) -> str | None:
        """Why ``url`` is dropped, or ``None`` to let it through (and count it)."""
        if len(url) > self.max_url_length:
            return "url_too_long"
        if _repeated_segments(urlsplit(url).path):
            return "repeated_segments"
        path, variant = _query_variant(url)
        variants = self.variants[path]
        if variant not in variants and len(variants) >= self.max_variants:
            return "query_combinations"
        pattern = self.by_pattern[path_pattern(url)]
        if url not in pattern and len(pattern) >= self.max_per_pattern:
            return "url_pattern"
        variants.add(variant)
        pattern.add(url)
        return None


# -- robots.txt ----------------------------------------------------------------------------
class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with every request that waits for a host's rules getting them.

    Scrapy (2.19) lets the requests that arrive while a host's robots.txt is downloading await
    one shared Deferred through ``asFuture``, whose callback returns ``None``: the first waiter
    gets the rules, every later one gets ``None`` ("no rules") and is let through, so a crawl
    that starts many requests at once (a shared Redis queue, a burst of links) fetched pages
    that robots.txt forbids. Here the first request of a host asks Scrapy for the parser and
    the others await an asyncio future that hands the same result to each of them.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._rules_by_host: dict[str, asyncio.Future[RobotParser | None]] = {}

    async def robot_parser(self, request: Request) -> RobotParser | None:
        host = urlparse_cached(request).netloc
        rules = self._rules_by_host.get(host)
        if rules is not None:
            # shield: a cancelled waiter must not cancel the rules of every other request
            return await asyncio.shield(rules)
        rules = self._rules_by_host[host] = asyncio.get_running_loop().create_future()
        try:
            parser = await super().robot_parser(request)
        except BaseException as error:
            # the next request of the host asks again instead of inheriting this failure
            del self._rules_by_host[host]
            rules.set_exception(error)
            rules.exception()  # retrieved: waiters may be none, asyncio must not warn
            raise
        rules.set_result(parser)
        return parser


# -- resume ----------------------------------------------------------------------------------
class ResumeMiddleware:
    """Skip requests for documents the interrupted run of this source stored already.

    The runner sets ``MM_RESUME_SINCE`` to the start time of a run that never finished (its
    job directory is still there); a page stored since then is not fetched again. Listing
    pages are no documents, so they are fetched again and rediscover what remained.
    """

    def __init__(self, crawler: Crawler, since: datetime):
        self.crawler = crawler
        self.since = since

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResumeMiddleware:
        raw = crawler.settings.get("MM_RESUME_SINCE")
        if not raw:
            # The usual case (no killed run to resume): disabled without a warning.
            raise NotConfigured
        since = datetime.fromisoformat(str(raw))
        return cls(crawler, since if since.tzinfo else since.replace(tzinfo=UTC))

    def process_request(self, request: Request) -> None:
        if request.meta.get("dont_resume_skip") or request.url.endswith("/robots.txt"):
            return None
        document = crawler_store(self.crawler).get(document_id(canonical_url(request.url)))
        if document is None or not document.fetched_at:
            return None
        fetched = datetime.fromisoformat(document.fetched_at)
        if (fetched if fetched.tzinfo else fetched.replace(tzinfo=UTC)) >= self.since:
            self.crawler.stats.inc_value("mm/resume/skipped")
            raise IgnoreRequest(f"stored by the interrupted run: {request.url}")
        return None
