"""Spiders for pages that only show their content after JavaScript ran (through Chromium).

:class:`SocialSpider` opens a social page (a group, a fan page) in the browser, waits for the
first post, scrolls and clicks "load more" until no new post appears (both bounded), then cuts
the rendered page into one :class:`PostItem` per post with the source's CSS selectors.
:class:`RenderedNewsSpider` is the news spider with its HTML pages rendered by the browser.

The parsing half (:func:`parse_posts`, :func:`parse_count`, :func:`post_title`) is pure and
works on any HTML string, so it is tested without a browser.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import scrapy
from parsel import Selector
from scrapy.http import Response, TextResponse

from analysis.site_style import signals_from_fields
from analysis.text import normalize_text
from crawler.extract.dates import parse_iso, parse_vietnamese_date
from crawler.extract.urls import canonical_url, site_of
from crawler.extract.validate import is_web_url
from crawler.items import PostItem
from crawler.processing.tasks import PageResult
from crawler.resources.sources import Selectors, Source, source_policy
from crawler.spiders.news import NewsSpider

__all__ = [
    "ParsedPost",
    "RenderedNewsSpider",
    "SocialSpider",
    "parse_count",
    "parse_posts",
    "post_title",
]

#: Titles longer than this are cut at a word boundary.
TITLE_MAX_CHARS = 120
_PSEUDO = re.compile(r"::(?:text|attr\([^)]*\))\s*$")
_COUNT = re.compile(
    r"(?P<num>\d+(?:[.,\s]\d+)*)\s*(?P<suffix>k|n|nghìn|ngàn|m|tr|triệu|b|tỷ|tỉ)?(?![a-zà-ỹ])",
    re.I,
)
_MULTIPLIER = {
    "k": 1_000,
    "n": 1_000,
    "nghìn": 1_000,
    "ngàn": 1_000,
    "m": 1_000_000,
    "tr": 1_000_000,
    "triệu": 1_000_000,
    "b": 1_000_000_000,
    "tỷ": 1_000_000_000,
    "tỉ": 1_000_000_000,
}
_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)")


def parse_count(text: str | None) -> int | None:
    """Engagement counts as social sites print them: ``"1,2K"`` -> 1200, ``"1.200"`` -> 1200,
    ``"3 N"`` -> 3000, ``"1,5 triệu"`` -> 1500000, ``"12 lượt thích"`` -> 12; ``None`` if no number.

    With a suffix, ``,`` or ``.`` is the decimal mark; without one, a separator followed by
    exactly three digits groups thousands (Vietnamese ``1.200`` and English ``1,200``).
    """
    if not text:
        return None
    match = _COUNT.search(normalize_text(text))
    if not match:
        return None
    number, suffix = match.group("num"), (match.group("suffix") or "").lower()
    if suffix:
        value = float(re.sub(r"\s", "", number).replace(",", "."))
        return round(value * _MULTIPLIER[suffix])
    groups = re.split(r"[.,\s]", number)
    if all(len(group) == 3 for group in groups[1:]):
        return int("".join(groups))
    return round(float(f"{groups[0]}.{groups[1]}"))  # "1,5" without a unit: a decimal


def post_title(text: str, *, max_chars: int = TITLE_MAX_CHARS) -> str:
    """A post has no title: its first sentence, or its start cut at a word boundary."""
    text = " ".join(text.split())
    match = _SENTENCE_END.search(text)
    if match and match.end() <= max_chars:
        return text[: match.end()]
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit(" ", 1)[0]
    return cut.rstrip(",;:–-") + "…"


@dataclass(slots=True)
class ParsedPost:
    """One post cut out of a rendered page, before it becomes a :class:`PostItem`."""

    url: str
    text: str
    author: str = ""
    published_at: datetime | None = None
    engagement: dict[str, int] = field(default_factory=dict)
    #: A permalink that is not the source's to write (another site's article): kept as a
    #: link of the post, never as its identity.
    links: list[str] = field(default_factory=list)


def _element_texts(selector: Selector, css: str) -> list[str]:
    """Values of ``css`` under ``selector``: ``::text``/``::attr`` as written, else the whole
    text of each matched element (paragraph breaks kept as newlines)."""
    if _PSEUDO.search(css):
        return [value for value in selector.css(css).getall() if value.strip()]
    values = []
    for element in selector.css(css):
        text = "".join(element.css("::text, *::text").getall())
        if text.strip():
            values.append(text)
    return values


def _clean_text(raw: str) -> str:
    lines = (" ".join(line.split()) for line in raw.replace("\r", "").split("\n"))
    return normalize_text("\n".join(line for line in lines if line))


def _first(selector: Selector, css: str | None) -> str:
    if not css:
        return ""
    values = _element_texts(selector, css)
    return " ".join(values[0].split()) if values else ""


def _link(selector: Selector, css: str | None, page_url: str) -> str:
    if not css:
        return ""
    if _PSEUDO.search(css):
        value = selector.css(css).get() or ""
    else:
        element = selector.css(css)
        value = element.attrib.get("href", "") if element else ""
        if not value and element:
            value = element.css("a::attr(href)").get() or ""
    return canonical_url(value, base=page_url) if value.strip() else ""


def _time(selector: Selector, css: str | None, fetched_at: datetime) -> datetime | None:
    """``<time datetime>`` when present (absolute), else the shown text ("2 giờ trước")
    resolved against the fetch time."""
    if not css:
        return None
    if _PSEUDO.search(css):
        value = selector.css(css).get() or ""
        return parse_vietnamese_date(value.strip(), now=fetched_at) if value.strip() else None
    element = selector.css(css)
    if not element:
        return None
    attribute = element.attrib.get("datetime") or element.css("[datetime]::attr(datetime)").get()
    if attribute and (value := parse_iso(attribute, now=fetched_at)):
        return value
    shown = " ".join("".join(element[0].css("::text, *::text").getall()).split())
    return parse_vietnamese_date(shown, now=fetched_at) if shown else None


def _fallback_url(page_url: str, author: str, text: str) -> str:
    """A stable address for a post without a permalink: the page plus a hash of the post."""
    digest = hashlib.sha1(f"{author}\x1f{text}".encode()).hexdigest()[:16]
    return f"{canonical_url(page_url)}#post-{digest}"


def _same_site(page_url: str) -> Callable[[str], bool]:
    site = site_of(page_url)
    return lambda url: is_web_url(url) and site_of(url) == site


def parse_posts(
    html: str,
    *,
    page_url: str,
    selectors: Selectors,
    fetched_at: datetime,
    owns: Callable[[str], bool] | None = None,
) -> list[ParsedPost]:
    """Every post of a rendered page, in page order; posts without text are left out.

    A post's permalink is its identity only when ``owns(permalink)`` (default: an http(s)
    URL of the page's own site); another site's URL is kept in ``links`` and the post gets
    the page-and-hash address of a post without a permalink, so a post can never write the
    document of an article it links to. Other schemes (``javascript:``) are dropped.
    """
    owns = owns or _same_site(page_url)
    page = Selector(text=html)
    posts: list[ParsedPost] = []
    seen: set[str] = set()
    for node in page.css(selectors.post):
        texts = _element_texts(node, selectors.text)
        text = _clean_text("\n".join(texts))
        if not text:
            continue
        author = normalize_text(_first(node, selectors.author))
        permalink = _link(node, selectors.link, page_url)
        links = [permalink] if permalink and is_web_url(permalink) else []
        if permalink and owns(permalink):
            url, links = permalink, []
        else:
            url = _fallback_url(page_url, author, text)
        if url in seen:  # a post shown twice (pinned and in the feed) is one document
            continue
        seen.add(url)
        engagement = {}
        for name in ("likes", "comments", "shares"):
            count = parse_count(_first(node, getattr(selectors, name)))
            if count is not None:
                engagement[name] = count
        posts.append(
            ParsedPost(
                url=url,
                text=text,
                author=author,
                published_at=_time(node, selectors.time, fetched_at),
                engagement=engagement,
                links=links,
            )
        )
    return posts


def page_name(html: str) -> tuple[str, str]:
    """The page's name (``og:site_name``, else its ``<title>``) and its footer text."""
    page = Selector(text=html)
    name = page.css("meta[property='og:site_name']::attr(content)").get() or ""
    if not name.strip():
        name = page.css("title::text").get() or ""
    footer = "\n".join(
        " ".join(text.split()) for text in page.css("footer *::text, footer::text").getall()
    )
    return " ".join(name.split()), footer.strip()


def _css_only(css: str) -> str:
    """A parsel selector as the browser understands it (no ``::text``/``::attr``)."""
    return _PSEUDO.sub("", css).strip() or css


class SocialSpider(scrapy.Spider):
    """Crawl a social source: each start URL is a feed page rendered in Chromium."""

    name = "social"

    def __init__(self, source: Source, **kwargs: Any):
        super().__init__(name=source.name, **kwargs)
        if source.selectors is None:
            raise ValueError(f"source {source.name!r} has no selectors")
        self.source = source
        self.selectors = source.selectors
        self.allowed_domains = source.domains

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.source.start_urls:
            yield scrapy.Request(
                url,
                callback=self.parse_feed,
                errback=self.feed_failed,
                meta={"playwright": True, "playwright_include_page": True},
            )

    async def parse_feed(self, response: Response) -> AsyncIterator[PostItem]:
        page = response.meta["playwright_page"]
        settings = self.crawler.settings
        try:
            html = await self._expand(
                page,
                wait_ms=settings.getint("MM_BROWSER_WAIT_MS"),
                grow_ms=settings.getint("MM_BROWSER_GROW_MS"),
                max_clicks=settings.getint("MM_BROWSER_MAX_CLICKS"),
            )
        finally:
            await page.close()
        if html is None:
            return
        for item in self.items_from_html(html, response.url):
            yield item

    async def feed_failed(self, failure: Any) -> None:
        page = failure.request.meta.get("playwright_page")
        if page is not None:
            await page.close()
        self.crawler.stats.inc_value("mm/social/page_failed")
        self.logger.error("cannot load %s: %s", failure.request.url, failure.value)

    async def _expand(
        self, page: Any, *, wait_ms: int, grow_ms: int, max_clicks: int
    ) -> str | None:
        """Scroll ``source.scroll`` times and click ``load_more`` while shown (bounded); each
        step waits until more posts appear. ``None`` when no post ever appeared."""
        post_css = _css_only(self.selectors.post)
        try:
            await page.wait_for_selector(post_css, timeout=wait_ms)
        except Exception as exc:  # playwright's TimeoutError: the page shows no post
            self.crawler.stats.inc_value("mm/social/no_posts")
            self.logger.error("no post matching %r on %s (%s)", post_css, page.url, exc)
            return None

        async def count() -> int:
            return int(await page.eval_on_selector_all(post_css, "els => els.length"))

        async def grew(before: int) -> bool:
            try:
                await page.wait_for_function(
                    "([css, n]) => document.querySelectorAll(css).length > n",
                    arg=[post_css, before],
                    timeout=grow_ms,
                )
            except Exception:  # no new post within grow_ms: the feed is exhausted
                return False
            return True

        for _ in range(self.source.scroll):
            before = await count()
            await page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            if not await grew(before):
                break
            self.crawler.stats.inc_value("mm/social/scrolls")
        if self.source.load_more:
            button = page.locator(_css_only(self.source.load_more)).first
            for _ in range(max_clicks):
                if not await button.is_visible():
                    break
                before = await count()
                await button.click(timeout=grow_ms)
                if not await grew(before):
                    break
                self.crawler.stats.inc_value("mm/social/clicks")
        return str(await page.content())

    def items_from_html(self, html: str, page_url: str) -> Iterator[PostItem]:
        """One :class:`PostItem` per post of the rendered page."""
        fetched_at = datetime.now(UTC)
        posts = parse_posts(
            html,
            page_url=page_url,
            selectors=self.selectors,
            fetched_at=fetched_at,
            owns=source_policy(self.source).owns,
        )
        self.crawler.stats.inc_value("mm/social/posts", len(posts))
        yield from posts_to_items(
            posts, html=html, page_url=page_url, source=self.source, fetched_at=fetched_at
        )


def posts_to_items(
    posts: Iterable[ParsedPost],
    *,
    html: str,
    page_url: str,
    source: Source,
    fetched_at: datetime,
) -> Iterator[PostItem]:
    """:class:`ParsedPost` -> :class:`PostItem` with the page's name and per-post signals."""
    site_name, footer = page_name(html)
    for post in posts:
        yield PostItem(
            url=post.url,
            canonical_url=post.url,
            source=source.name,
            site=site_of(post.url),
            kind="social",
            title=post_title(post.text),
            text=post.text,
            author=post.author,
            published_at=post.published_at.isoformat() if post.published_at else None,
            fetched_at=fetched_at.isoformat(timespec="seconds"),
            site_name=site_name,
            outlinks=post.links,
            engagement=post.engagement,
            page_signals=signals_from_fields(
                url=post.url,
                site_name=site_name,
                text=post.text,
                author=post.author,
                footer=footer,
                kind="post",
            ).to_dict(),
        )


class RenderedNewsSpider(NewsSpider):
    """The news spider with its HTML pages (not feeds, sitemaps or robots.txt) rendered by
    Chromium: every request for :meth:`parse_page` carries ``meta["playwright"]``."""

    name = "news-rendered"

    def _render(self, results: Iterable[Any]) -> Iterator[Any]:
        for result in results:
            if isinstance(result, scrapy.Request) and result.callback == self.parse_page:
                result.meta["playwright"] = True
            yield result

    async def start(self) -> AsyncIterator[scrapy.Request]:
        async for request in super().start():
            yield next(self._render([request]))

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        yield from self._render(super().parse_feed(response))

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        yield from self._render(super().parse_sitemap(response))

    def page_results(
        self, response: TextResponse, depth: int, fetched_at: datetime, result: PageResult
    ) -> Iterator[PostItem | scrapy.Request]:
        yield from self._render(super().page_results(response, depth, fetched_at, result))
