"""The news spider: discovers articles from feeds, sitemaps and listing pages of one source."""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.utils.sitemap import Sitemap

from crawler.extract.urls import canonical_url, in_domains
from crawler.items import PostItem
from crawler.processing.extension import extract
from crawler.processing.tasks import PageContext, PageJob, PageResult
from crawler.resources.sources import Source

__all__ = ["GZIP_MAGIC", "NewsSpider", "gunzip_bounded"]

GZIP_MAGIC = b"\x1f\x8b"

_PAGINATION_TEXT = re.compile(
    r"^\s*(trang sau|trang tiếp|tiếp|sau|xem thêm|next|»|›|>|\d{1,4})\s*$", re.I
)
_PAGINATION_URL = re.compile(r"(?:[/_-](?:trang|page|p)[-_/]?\d+|[?&](?:page|trang|p)=\d+)", re.I)
_SKIP_EXTENSIONS = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|ico|css|js|pdf|zip|rar|mp3|mp4|avi|mov|docx?|xlsx?|pptx?)$", re.I
)


class NewsSpider(scrapy.Spider):
    """Crawl one news-style source.

    Feed and sitemap entries are article candidates; pages reached from ``start_urls`` are
    followed up to ``follow_depth`` links deep (pagination does not count), and every page
    that looks like an article becomes a :class:`PostItem`.
    """

    name = "news"

    def __init__(self, source: Source, **kwargs: Any):
        super().__init__(name=source.name, **kwargs)
        self.source = source
        self.allowed_domains = source.domains
        self.article_pattern = (
            re.compile(source.article_pattern) if source.article_pattern else None
        )
        # What the workers need to extract this source's pages (rules compile there).
        self.page_context = PageContext.of(
            source.kind,
            source.article_pattern,
            source.extract.model_dump() if source.extract else None,
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.source.feeds:
            yield scrapy.Request(url, callback=self.parse_feed, meta={"mm_via": "feed"})
        for url in self.source.sitemaps:
            yield scrapy.Request(url, callback=self.parse_sitemap, meta={"mm_via": "sitemap"})
        for url in self.source.start_urls:
            yield scrapy.Request(url, callback=self.parse_page, cb_kwargs={"depth": 0})

    # -- discovery -------------------------------------------------------------------------
    def _article_request(self, url: str, via: str) -> scrapy.Request | None:
        url = canonical_url(url)
        if not in_domains(url, self.allowed_domains) or _SKIP_EXTENSIONS.search(url):
            self.crawler.stats.inc_value(f"mm/discovery/{via}/offsite_or_skipped")
            return None
        self.crawler.stats.inc_value(f"mm/discovery/{via}/links")
        return scrapy.Request(
            url,
            callback=self.parse_page,
            cb_kwargs={"depth": self.source.follow_depth},
            meta={"mm_via": via},
        )

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        """RSS 2.0 ``<item><link>`` and Atom ``<entry><link href>``."""
        response = _as_xml(response)
        links = response.xpath("//item/link/text()").getall()
        links += response.xpath(
            "//*[local-name()='entry']/*[local-name()='link'][not(@rel) or @rel='alternate']/@href"
        ).getall()
        if not links:
            self.logger.warning("no entries in feed %s", response.url)
            self.crawler.stats.inc_value("mm/discovery/feed/empty")
        for link in links:
            if request := self._article_request(link.strip(), "feed"):
                yield request

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        """A sitemap index (followed) or a urlset (article candidates); gzip allowed."""
        body = response.body
        if body[:2] == GZIP_MAGIC:
            # A .xml.gz sitemap: unpacked up to a cap (a 1 MB gzip bomb is 1 GB of XML).
            limit = self.crawler.settings.getint("MM_SITEMAP_MAX_BYTES")
            try:
                body = gunzip_bounded(body, limit)
            except ValueError as exc:
                self.logger.warning("sitemap %s: %s", response.url, exc)
                self.crawler.stats.inc_value("mm/discovery/sitemap/bad_gzip")
                return
        try:
            sitemap = Sitemap(body)
        except Exception:  # lxml raises several types on garbage; any of them means "not XML"
            self.logger.warning("not a sitemap: %s", response.url)
            self.crawler.stats.inc_value("mm/discovery/sitemap/invalid")
            return
        for entry in sitemap:
            loc = entry.get("loc", "").strip()
            if not loc:
                continue
            if sitemap.type == "sitemapindex":
                if in_domains(loc, self.allowed_domains):
                    yield scrapy.Request(
                        loc, callback=self.parse_sitemap, meta={"mm_via": "sitemap"}
                    )
            elif request := self._article_request(loc, "sitemap"):
                yield request

    # -- pages -----------------------------------------------------------------------------
    async def parse_page(
        self, response: Response, depth: int
    ) -> AsyncIterator[PostItem | scrapy.Request]:
        """Extract the page in the crawl's processing workers (``crawler.processing``), then
        yield its post and the links to follow (:meth:`page_results`)."""
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1").lower()
        if not isinstance(response, TextResponse) or (content_type and "html" not in content_type):
            self.crawler.stats.inc_value("mm/pages/not_html")
            return
        fetched_at = datetime.now(UTC)
        job = PageJob(response.url, response.text, fetched_at, self.page_context)
        outcome = await extract(self.crawler, job)
        if outcome.value is None:
            self.crawler.stats.inc_value("mm/extract/failed")
            self.logger.error("page not extracted: %s: %s", response.url, outcome.error)
            return
        for result in self.page_results(response, depth, fetched_at, outcome.value):
            yield result

    def page_results(
        self, response: TextResponse, depth: int, fetched_at: datetime, result: PageResult
    ) -> Iterator[PostItem | scrapy.Request]:
        """The post of an extracted page (if it is an article) and the links to follow."""
        page = result.page
        if not page.is_article:
            self.crawler.stats.inc_value("mm/pages/not_article")
        if page.is_article and page.text:
            yield PostItem(
                url=response.url,
                canonical_url=page.canonical_url,
                source=self.source.name,
                site=page.site,
                kind=self.source.kind,
                title=page.title,
                text=page.text,
                author=page.author,
                section=page.section,
                published_at=page.published_at.isoformat() if page.published_at else None,
                fetched_at=fetched_at.isoformat(timespec="seconds"),
                site_name=page.site_name,
                outlinks=page.outlinks,
                page_signals=result.signals or {},
            )
        if depth >= self.source.follow_depth:
            return
        # Pagination first: the duplicate filter keeps the first request for a URL, and a
        # "next page" link must not be charged a level of depth.
        for link in _pagination_links(response):
            if in_domains(link, self.allowed_domains):
                yield scrapy.Request(link, callback=self.parse_page, cb_kwargs={"depth": depth})
        for link in page.outlinks:
            if not in_domains(link, self.allowed_domains) or _SKIP_EXTENSIONS.search(link):
                continue
            yield scrapy.Request(link, callback=self.parse_page, cb_kwargs={"depth": depth + 1})


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """``data`` gunzipped, at most ``limit`` bytes of it; ``ValueError`` when it unpacks to
    more (a gzip bomb) or is not gzip. Reads in steps, so a bomb never fills memory."""
    out = bytearray()
    pending = data
    try:
        while pending:  # a gzip file may hold several members, one after the other
            inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
            chunk = inflater.decompress(pending, 65536)
            while True:
                out += chunk
                if len(out) > limit:
                    raise ValueError(f"unpacks to more than {limit} bytes")
                if inflater.eof or not inflater.unconsumed_tail:
                    break
                chunk = inflater.decompress(inflater.unconsumed_tail, 65536)
            pending = inflater.unused_data if inflater.eof else b""
    except zlib.error as exc:
        raise ValueError(f"not valid gzip ({exc})") from exc
    return bytes(out)


def _pagination_links(response: TextResponse) -> list[str]:
    links = response.css("a[rel~='next']::attr(href), link[rel~='next']::attr(href)").getall()
    for anchor in response.css("a[href]"):
        href = anchor.attrib.get("href", "")
        text = " ".join(anchor.css("::text").getall()).strip()
        if _PAGINATION_TEXT.match(text) and _PAGINATION_URL.search(href):
            links.append(href)
    return [canonical_url(link, base=response.url) for link in links]


def _as_xml(response: Response) -> TextResponse:
    if isinstance(response, TextResponse):
        return response
    return TextResponse(url=response.url, body=response.body, encoding="utf-8")
