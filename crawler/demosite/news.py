"""Routes and page contexts of a news site (home, sections, articles, feeds, bait pages).

One :class:`NewsSite` serves one catalogue (loaded from JSONL or generated for the bench)
under one base URL; it returns ``None`` for paths it does not know so the caller can 404.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable
from datetime import datetime

from jinja2 import Environment

from analysis.text import fold_diacritics
from crawler.demosite.content import Catalog
from crawler.demosite.feeds import FeedLink, robots_txt, rss_feed, sitemap_index, urlset
from crawler.demosite.model import Article, Section
from crawler.demosite.render import comments_for, render
from crawler.demosite.responses import Response, html, redirect, text
from crawler.demosite.vndates import PAGE_DATE_STYLES, format_page_date

__all__ = ["HOME_LATEST", "PAGE_SIZE", "RSS_LATEST", "NewsSite"]

PAGE_SIZE = 10
HOME_LATEST = 15
RSS_LATEST = 20
LATEST_FEED = "tin-moi-nhat"
_RELATED = 4
_SEARCH_LIMIT = 20

_SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_ARTICLE = re.compile(rf"^/(?P<section>{_SLUG})/(?P<slug>{_SLUG})-(?P<id>\d+)\.html$")
_LISTING = re.compile(rf"^/(?P<section>{_SLUG})/(?:trang-(?P<page>\d+)\.html)?$")
_RSS = re.compile(rf"^/rss/(?P<feed>{_SLUG})\.rss$")
_URLSET = re.compile(rf"^/sitemaps/(?P<section>{_SLUG})\.xml$")

_REPORTER = re.compile(r"^\s*(?:phóng viên|nhóm pv|pv)\b", re.IGNORECASE)
_XML = "application/xml; charset=utf-8"
_RSS_TYPE = "application/rss+xml; charset=utf-8"


class NewsSite:
    """A news site: pages rendered on request from its catalogue."""

    def __init__(self, catalog: Catalog, env: Environment, base: str) -> None:
        self.catalog = catalog
        self.site = catalog.site
        self.env = env
        self.base = base
        self._exact: dict[str, Callable[[dict[str, list[str]]], Response]] = {
            "/": self._home,
            "/robots.txt": self._robots,
            "/sitemap.xml": self._sitemap_index,
            "/rss.html": self._rss_index,
            "/tim-kiem": self._search,
            "/tim-kiem/": self._search,
            "/admin/": self._admin,
            "/admin": self._admin,
        }

    # -- dispatch -------------------------------------------------------------------------

    def handle(self, path: str, query: dict[str, list[str]]) -> Response | None:
        """The response for ``path``, or ``None`` when the site has no such page."""
        if path in self._exact:
            return self._exact[path](query)
        if path.startswith("/admin/"):
            return self._admin(query)
        if match := _RSS.match(path):
            return self._rss(match["feed"])
        if match := _URLSET.match(path):
            return self._urlset(match["section"])
        if match := _LISTING.match(path):
            if match["page"] == "1":  # page 1 lives at /<section>/ only
                return redirect(f"/{match['section']}/")
            return self._listing(match["section"], int(match["page"] or 1))
        if match := _ARTICLE.match(path):
            return self._article(match["section"], match["slug"], int(match["id"]))
        return None

    # -- shared context -------------------------------------------------------------------

    def _section(self, slug: str) -> Section | None:
        return next((s for s in self.catalog.sections if s.slug == slug), None)

    def _most_read(self) -> list[Article]:
        """Five "most read" articles: a stable pick among recent ones."""
        recent = self.catalog.listing(None, 0, 40)
        recent.sort(key=lambda a: zlib.crc32(a.slug.encode()))
        return recent[:5]

    def _trending(self) -> list[str]:
        tags: dict[str, None] = {}
        for article in self.catalog.listing(None, 0, 30):
            for tag in article.tags[:1]:
                tags.setdefault(tag)
        return list(tags)[:5]

    def _page(self, template: str, current_section: str = "", **context: object) -> str:
        return render(
            self.env,
            template,
            site=self.site,
            sections=self.catalog.sections,
            base=self.base,
            current_section=current_section,
            trending=self._trending(),
            most_read=self._most_read(),
            **context,
        )

    # -- pages ----------------------------------------------------------------------------

    def _home(self, query: dict[str, list[str]]) -> Response:
        latest = self.catalog.listing(None, 0, HOME_LATEST)
        boxes = [
            {"section": section, "articles": self.catalog.listing(section.slug, 0, 3)}
            for section in self.catalog.sections
            if self.catalog.count(section.slug)
        ]
        body = self._page("home.html", latest=latest, section_boxes=boxes)
        return html(body, last_modified=self.catalog.last_modified())

    def _listing(self, slug: str, page: int) -> Response | None:
        section = self._section(slug)
        if section is None:
            return None
        pages = max(1, math.ceil(self.catalog.count(slug) / PAGE_SIZE))
        if not 1 <= page <= pages:
            return None
        articles = self.catalog.listing(slug, (page - 1) * PAGE_SIZE, PAGE_SIZE)

        def page_path(number: int) -> str:
            return f"/{slug}/" if number == 1 else f"/{slug}/trang-{number}.html"

        body = self._page(
            "section.html",
            current_section=slug,
            section=section,
            articles=articles,
            page=page,
            pages=pages,
            page_path=page_path,
            latest=self.catalog.listing(None, 0, 5),
        )
        return html(body, last_modified=_newest(articles) or self.catalog.last_modified())

    def _article(self, slug_section: str, slug: str, article_id: int) -> Response | None:
        article = self.catalog.get(article_id)
        if article is None or article.slug != slug or article.section != slug_section:
            return None
        section = self._section(article.section) or Section(article.section, article.section)
        variant = article.index
        updated = (
            format_page_date(article.modified, "slash")
            if article.modified > article.published
            else ""
        )
        credit = article.source_credit if self.site.show_source_credit else ""
        if credit and article.body and credit in article.body[-1]:
            credit = ""  # the body already ends with its "(Theo ...)" / "Nguồn: ..." line
        body = self._page(
            "article.html",
            current_section=article.section,
            article=article,
            section=section,
            canonical=self.base + article.path,
            head_metadata=variant % 2 == 0,
            page_date=format_page_date(
                article.published, PAGE_DATE_STYLES[variant % len(PAGE_DATE_STYLES)]
            ),
            updated=updated,
            byline=self.site.byline_styles[variant % len(self.site.byline_styles)],
            reporter_line=_reporter_line(article.author),
            source_credit=credit,
            related=self._related(article),
            comments=comments_for(article),
            latest=[a for a in self.catalog.listing(None, 0, 6) if a.id != article.id][:5],
        )
        return html(body, last_modified=article.modified)

    def _related(self, article: Article) -> list[Article]:
        """Four other recent articles of the section, those sharing tags first."""
        pool = [a for a in self.catalog.listing(article.section, 0, 13) if a.id != article.id]
        if len(pool) < _RELATED:
            pool += [
                a for a in self.catalog.listing(None, 0, 13) if a.id != article.id and a not in pool
            ]
        tags = set(article.tags)

        def rank(other: Article) -> tuple[int, int]:
            shared = len(tags.intersection(other.tags))
            return (-shared, zlib.crc32(f"{article.slug}|{other.slug}".encode()))

        return sorted(pool, key=rank)[:_RELATED]

    def _search(self, query: dict[str, list[str]]) -> Response:
        words = (query.get("q") or [""])[0].strip()
        needle = fold_diacritics(words)
        results: list[Article] = []
        if needle:
            for article in self.catalog.listing(None, 0, 500):
                if needle in fold_diacritics(f"{article.title} {article.sapo} {article.tags}"):
                    results.append(article)
                    if len(results) >= _SEARCH_LIMIT:
                        break
        return html(self._page("search.html", query=words, results=results))

    def _admin(self, query: dict[str, list[str]]) -> Response:
        return html(self._page("admin.html"))

    # -- machine-readable -----------------------------------------------------------------

    def _robots(self, query: dict[str, list[str]]) -> Response:
        return text(robots_txt(self.base), "text/plain; charset=utf-8")

    def _feeds(self) -> list[FeedLink]:
        feeds = [FeedLink(f"/rss/{LATEST_FEED}.rss", "Tin mới nhất")]
        feeds += [
            FeedLink(f"/rss/{section.slug}.rss", section.name) for section in self.catalog.sections
        ]
        return feeds

    def _rss_index(self, query: dict[str, list[str]]) -> Response:
        return html(self._page("rss_index.html", feeds=self._feeds()))

    def _rss(self, feed: str) -> Response | None:
        if feed == LATEST_FEED:
            articles = self.catalog.listing(None, 0, RSS_LATEST)
            title, link = f"Tin mới nhất - {self.site.name}", f"{self.base}/"
        else:
            section = self._section(feed)
            if section is None:
                return None
            articles = self.catalog.listing(feed, 0, self.catalog.count(feed))
            title, link = f"{section.name} - {self.site.name}", f"{self.base}/{feed}/"
        body = rss_feed(
            title=title,
            link=link,
            description=self.site.tagline or self.site.name,
            articles=articles,
            base=self.base,
        )
        return text(body, _RSS_TYPE, last_modified=_newest(articles))

    def _sitemap_index(self, query: dict[str, list[str]]) -> Response:
        entries = []
        for section in self.catalog.sections:
            newest = _newest(self.catalog.listing(section.slug, 0, PAGE_SIZE))
            if newest is not None:
                entries.append(FeedLink(f"/sitemaps/{section.slug}.xml", section.name, newest))
        return text(sitemap_index(entries, self.base), _XML)

    def _urlset(self, slug: str) -> Response | None:
        if self._section(slug) is None or not self.catalog.count(slug):
            return None
        articles = self.catalog.listing(slug, 0, self.catalog.count(slug))
        return text(urlset(articles, self.base), _XML, last_modified=_newest(articles))


def _reporter_line(author: str) -> str:
    """``Phóng viên: X`` unless the author field already says it (``Phóng viên X``, ``Nhóm PV``)."""
    if _REPORTER.match(author):
        return author
    return f"Phóng viên: {author}"


def _newest(articles: list[Article]) -> datetime | None:
    return max((a.modified for a in articles), default=None)
