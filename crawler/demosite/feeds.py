"""Machine-readable files of a news site: RSS 2.0, sitemap index and urlsets, robots.txt.

Built with ElementTree so every title is escaped the XML way whatever it contains.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from crawler.demosite.model import Article
from crawler.demosite.vndates import rfc822

__all__ = [
    "DISALLOWED_PATHS",
    "FeedLink",
    "robots_txt",
    "rss_feed",
    "sitemap_index",
    "urlset",
]

#: Paths every news site forbids to crawlers; pages still link to them as bait.
DISALLOWED_PATHS = ("/tim-kiem", "/admin/")

_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


@dataclass(frozen=True, slots=True)
class FeedLink:
    """One entry of the RSS index page or sitemap index: a path and what it covers."""

    path: str
    name: str
    lastmod: datetime | None = None


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def rss_feed(
    *,
    title: str,
    link: str,
    description: str,
    articles: Sequence[Article],
    base: str,
) -> bytes:
    """An RSS 2.0 channel with one item per article (absolute links, RFC 822 dates)."""
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = link
    ET.SubElement(channel, "description").text = description
    ET.SubElement(channel, "language").text = "vi-VN"
    if articles:
        newest = max(article.modified for article in articles)
        ET.SubElement(channel, "lastBuildDate").text = rfc822(newest)
    for article in articles:
        item = ET.SubElement(channel, "item")
        url = base + article.path
        ET.SubElement(item, "title").text = article.title
        ET.SubElement(item, "link").text = url
        ET.SubElement(item, "guid", isPermaLink="true").text = url
        ET.SubElement(item, "pubDate").text = rfc822(article.published)
        ET.SubElement(item, "description").text = article.sapo
        if article.author:
            ET.SubElement(item, "author").text = article.author
    return _xml(rss)


def sitemap_index(entries: Iterable[FeedLink], base: str) -> bytes:
    """``<sitemapindex>`` pointing at one urlset per section."""
    root = ET.Element("sitemapindex", xmlns=_SITEMAP_NS)
    for entry in entries:
        sitemap = ET.SubElement(root, "sitemap")
        ET.SubElement(sitemap, "loc").text = base + entry.path
        if entry.lastmod is not None:
            ET.SubElement(sitemap, "lastmod").text = entry.lastmod.isoformat()
    return _xml(root)


def urlset(articles: Iterable[Article], base: str) -> bytes:
    """``<urlset>`` with every article's canonical URL and last modification."""
    root = ET.Element("urlset", xmlns=_SITEMAP_NS)
    for article in articles:
        url = ET.SubElement(root, "url")
        ET.SubElement(url, "loc").text = base + article.path
        ET.SubElement(url, "lastmod").text = article.modified.isoformat()
    return _xml(root)


def robots_txt(base: str, disallowed: Sequence[str] = DISALLOWED_PATHS) -> str:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in disallowed), ""]
    lines.append(f"Sitemap: {base}/sitemap.xml")
    return "\n".join(lines) + "\n"
