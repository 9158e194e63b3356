"""Turn one fetched HTML page into the fields of a post.

Body text comes from trafilatura (boilerplate removal is its job, not ours); metadata comes
from the page's own tags first (Open Graph, ``article:*``, schema.org, ``<time>``), then from
the visible byline and date line in the formats Vietnamese sites print.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

import trafilatura
from parsel import Selector

from crawler.extract.dates import parse_iso, parse_vietnamese_date
from crawler.extract.urls import canonical_url, site_of

__all__ = ["ExtractedPage", "extract_page"]

_AUTHOR_PREFIX = re.compile(
    r"^\s*(?:phóng viên|pv|tác giả|bài(?: và ảnh)?|biên tập|theo|by|nhóm pv)\s*[:.\-–]?\s*", re.I
)
_AUTHOR_SELECTORS = (
    "meta[name='author']::attr(content)",
    "meta[property='article:author']::attr(content)",
    "[itemprop='author'] [itemprop='name']::attr(content)",
    "[itemprop='author'] [itemprop='name']::text",
    "[itemprop='author']::attr(content)",
    "[itemprop='author']::text",
    "[rel='author']::text",
    ".author-name::text",
    ".author::text",
    ".byline::text",
    ".article-author::text",
)
_DATE_META = (
    "meta[property='article:published_time']::attr(content)",
    "meta[property='og:published_time']::attr(content)",
    "meta[name='pubdate']::attr(content)",
    "meta[name='publishdate']::attr(content)",
    "meta[itemprop='datePublished']::attr(content)",
    "[itemprop='datePublished']::attr(datetime)",
    "article time[datetime]::attr(datetime)",
)
#: Visible date lines, outside the footer, sidebars and menus (whose dates are not the page's).
_DATE_TEXT = (
    "//*[self::time or contains(@class, 'date') or contains(@class, 'time')"
    " or contains(@class, 'publish')]"
    "[not(ancestor-or-self::footer or ancestor::aside or ancestor::nav"
    " or ancestor::*[contains(@class, 'footer') or contains(@class, 'sidebar')"
    " or contains(@class, 'related') or contains(@class, 'comment')])]"
)
_TITLE_SUFFIX = re.compile(r"\s+[|\-–—]\s+[^|\-–—]{2,60}$")
_MAX_OUTLINKS = 500
#: Without ``og:type``, an article has at least this much body text...
DEFAULT_MIN_ARTICLE_CHARS = 400
#: ...and at most this share of it made of link texts (a listing page is mostly headlines).
DEFAULT_MAX_HEADLINE_SHARE = 0.3
#: ...and fewer teasers than this (``<article>`` blocks or linked headings).
DEFAULT_LISTING_TEASERS = 4


@dataclass(slots=True)
class ExtractedPage:
    url: str
    canonical_url: str
    site: str
    title: str = ""
    text: str = ""
    author: str = ""
    section: str = ""
    published_at: datetime | None = None
    site_name: str = ""
    is_article: bool = False
    outlinks: list[str] = field(default_factory=list)


def _first(selector: Selector, queries: tuple[str, ...]) -> list[str]:
    values: list[str] = []
    for query in queries:
        values.extend(value.strip() for value in selector.css(query).getall() if value.strip())
    return values


def _json_ld(selector: Selector) -> list[dict]:
    found: list[dict] = []
    for raw in selector.css("script[type='application/ld+json']::text").getall():
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, a 5000-digit number, 100k deep
            continue
        # Any JSON is valid here: ``42``, ``{"@graph": 5}``; only objects are read.
        if isinstance(data, dict):
            data = data.get("@graph", [data])
        items = data if isinstance(data, list) else [data]
        found.extend(item for item in items if isinstance(item, dict))
    return found


def _clean_author(value: str) -> str:
    value = re.sub(r"\s+", " ", value).strip(" ,;|-–")
    value = _AUTHOR_PREFIX.sub("", value).strip(" ,;|-–")
    if not value or value.startswith("http") or len(value) > 80:
        return ""
    return value


def _author(selector: Selector, fallback: str | None) -> str:
    for ld in _json_ld(selector):
        author = ld.get("author")
        if isinstance(author, list) and author:
            author = author[0]
        if isinstance(author, dict):
            author = author.get("name")
        if isinstance(author, str) and (name := _clean_author(author)):
            return name
    for value in _first(selector, _AUTHOR_SELECTORS):
        if name := _clean_author(value):
            return name
    return _clean_author(fallback or "")


def _published(selector: Selector, fetched_at: datetime) -> datetime | None:
    """The page's own date: metadata first, then a visible date line in the content."""
    candidates = _first(selector, _DATE_META)
    candidates.extend(
        str(ld["datePublished"]) for ld in _json_ld(selector) if ld.get("datePublished")
    )
    for value in candidates:
        parsed = parse_iso(value, now=fetched_at) or parse_vietnamese_date(value, now=fetched_at)
        if parsed is not None:
            return parsed
    for element in selector.xpath(_DATE_TEXT):
        value = " ".join(" ".join(element.xpath(".//text()").getall()).split())
        parsed = parse_vietnamese_date(value, now=fetched_at)
        if parsed is not None:
            return parsed
    return None


def _title(selector: Selector, fallback: str | None, site_name: str) -> str:
    for value in (
        selector.css("meta[property='og:title']::attr(content)").get(),
        selector.css("article h1::text, h1.title::text, h1::text").get(),
        fallback,
        selector.css("title::text").get(),
    ):
        if value and value.strip():
            title = re.sub(r"\s+", " ", value).strip()
            if site_name and title.endswith(site_name):
                title = _TITLE_SUFFIX.sub("", title)
            return title
    return ""


def _section(selector: Selector, url: str) -> str:
    meta = selector.css("meta[property='article:section']::attr(content)").get()
    if meta and meta.strip():
        return meta.strip()
    crumbs = [
        text.strip()
        for text in selector.css(
            ".breadcrumb a::text, nav[aria-label='breadcrumb'] a::text, [itemtype*='BreadcrumbList'] [itemprop='name']::text"
        ).getall()
        if text.strip()
    ]
    crumbs = [crumb for crumb in crumbs if crumb.lower() not in ("trang chủ", "home")]
    return crumbs[0] if crumbs else ""


def _looks_like_listing(selector: Selector, text: str) -> bool:
    """A home or section page: many teasers (``<article>``s or linked headlines), or a body
    that is mostly the text of links."""
    teasers = len(selector.css("article"))
    headline_links = len(selector.css("h2 a[href], h3 a[href], h4 a[href]"))
    if teasers >= DEFAULT_LISTING_TEASERS or headline_links >= DEFAULT_LISTING_TEASERS:
        return True
    anchors = {
        " ".join(" ".join(anchor.css("::text").getall()).split())
        for anchor in selector.css("a[href]")
    }
    covered = sum(len(anchor) for anchor in anchors if len(anchor) >= 20 and anchor in text)
    return covered / max(len(text), 1) > DEFAULT_MAX_HEADLINE_SHARE


def _outlinks(selector: Selector, base: str) -> list[str]:
    links: dict[str, None] = {}
    for href in selector.css("a::attr(href)").getall():
        href = href.strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        absolute = canonical_url(href, base=base)
        if absolute.startswith(("http://", "https://")):
            links[absolute] = None
        if len(links) >= _MAX_OUTLINKS:
            break
    return list(links)


def extract_page(
    html: str,
    url: str,
    *,
    fetched_at: datetime,
    article_pattern: re.Pattern[str] | None = None,
) -> ExtractedPage:
    """Extract title, text, author, date, section and links from ``html`` fetched at ``url``."""
    selector = Selector(text=html)
    canonical_href = selector.css("link[rel='canonical']::attr(href)").get()
    canonical = canonical_url(url)
    if canonical_href:
        candidate = canonical_url(canonical_href, base=url)
        # A canonical link to another site is a syndication hint, not this page's identity.
        if site_of(candidate) == site_of(url):
            canonical = candidate
    site_name = (selector.css("meta[property='og:site_name']::attr(content)").get() or "").strip()
    extracted = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        favor_precision=True,
        deduplicate=False,
    )
    text = (extracted.text or "") if extracted is not None else ""
    meta_title = extracted.title if extracted is not None else None
    meta_author = extracted.author if extracted is not None else None
    meta_date = extracted.date if extracted is not None else None
    published = _published(selector, fetched_at)
    og_type = (selector.css("meta[property='og:type']::attr(content)").get() or "").lower()
    if article_pattern is not None:
        is_article = bool(article_pattern.search(url))
    elif og_type:
        is_article = og_type == "article"
    else:
        is_article = (
            published is not None
            and len(text) >= DEFAULT_MIN_ARTICLE_CHARS
            and not _looks_like_listing(selector, text)
        )
    if published is None and is_article and meta_date:
        # trafilatura's guess (htmldate) only dates a page already known to be an article.
        published = parse_iso(meta_date, now=fetched_at)
    return ExtractedPage(
        url=url,
        canonical_url=canonical,
        site=site_of(canonical),
        title=_title(selector, meta_title, site_name),
        text=text.strip(),
        author=_author(selector, meta_author),
        section=_section(selector, url),
        published_at=published,
        site_name=site_name
        or (extracted.sitename if extracted is not None and extracted.sitename else ""),
        is_article=is_article,
        outlinks=_outlinks(selector, url),
    )
