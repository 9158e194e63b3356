"""JSON-LD (schema.org) blocks of a page: the article node, its people and the breadcrumb.

Pages are hostile input: a block may be invalid JSON, a bare number, an ``@graph`` that is
not a list, or strings HTML-escaped once or twice ("NH&amp;#7852;T XUÂN"). Whatever is wrong
loses that field, never the page.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement

__all__ = ["ARTICLE_TYPES", "LinkedData", "read_linked_data", "unescape"]

#: schema.org types whose node is the page's article.
ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "BlogPosting",
        "LiveBlogPosting",
        "Report",
        "TechArticle",
    }
)
#: Types that describe a listing or a media page rather than one article.
LISTING_TYPES = frozenset({"CollectionPage", "ItemList", "SearchResultsPage", "ProfilePage"})
GALLERY_TYPES = frozenset({"ImageGallery", "MediaGallery", "VideoGallery", "VideoObject"})
_MAX_DEPTH = 6
_MAX_NODES = 500


def unescape(value: str) -> str:
    """HTML-unescape until stable (CMSs escape names once or twice), whitespace collapsed."""
    for _ in range(3):
        unescaped = html.unescape(value)
        if unescaped == value:
            break
        value = unescaped
    return " ".join(value.split())


@dataclass(slots=True)
class LinkedData:
    """What the page's JSON-LD says, each field empty when absent or malformed."""

    types: set[str] = field(default_factory=set)
    article: dict[str, Any] | None = None
    breadcrumb: list[str] = field(default_factory=list)
    organisations: set[str] = field(default_factory=set)

    def text(self, key: str) -> str:
        """A string property of the article node ("headline", "description"...)."""
        value = (self.article or {}).get(key)
        if isinstance(value, list):
            value = next((item for item in value if isinstance(item, str)), "")
        return unescape(value) if isinstance(value, str) else ""

    def people(self) -> list[str]:
        """The article's author names, persons only (an Organization is a publisher)."""
        authors = (self.article or {}).get("author")
        names: list[str] = []
        for author in authors if isinstance(authors, list) else [authors]:
            if isinstance(author, str):
                names.append(unescape(author))
            elif isinstance(author, dict) and "Organization" not in _types(author):
                name = author.get("name")
                if isinstance(name, str):
                    names.append(unescape(name))
        return [name for name in names if name]

    @property
    def is_article(self) -> bool:
        return self.article is not None


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    if isinstance(kind, str):
        return {kind.rsplit("/", 1)[-1]}
    if isinstance(kind, list):
        return {item.rsplit("/", 1)[-1] for item in kind if isinstance(item, str)}
    return set()


def _nodes(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Top-level nodes: a list, an ``@graph`` (possibly nested lists), or one object."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            yield from _nodes(item, depth + 1)
    elif isinstance(data, dict):
        graph = data.get("@graph")
        if isinstance(graph, (list, dict)):
            yield from _nodes(graph, depth + 1)
        if "@type" in data or not isinstance(graph, (list, dict)):
            yield data
        main = data.get("mainEntity")
        if isinstance(main, dict) and main is not data:  # WebPage -> mainEntity: NewsArticle
            yield from _nodes(main, depth + 1)


def _crumb_names(node: dict[str, Any]) -> list[str]:
    items = node.get("itemListElement")
    flat: list[Any] = []
    for item in items if isinstance(items, list) else []:
        # Some CMSs wrap each ListItem in its own list.
        flat.extend(item if isinstance(item, list) else [item])
    crumbs: list[tuple[float, str]] = []
    for index, item in enumerate(flat):
        if not isinstance(item, dict):
            continue
        name = item.get("name")
        inner = item.get("item")
        if not isinstance(name, str) and isinstance(inner, dict):
            name = inner.get("name")
        position = item.get("position")
        order = float(position) if isinstance(position, (int, float)) else float(index)
        if isinstance(name, str) and unescape(name):
            crumbs.append((order, unescape(name)))
    return [name for _, name in sorted(crumbs, key=lambda pair: pair[0])]


def read_linked_data(tree: HtmlElement) -> LinkedData:
    """Parse every ``application/ld+json`` block of ``tree``; bad blocks are skipped."""
    result = LinkedData()
    seen = 0
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except RecursionError:
            continue  # nested past any real document: a hostile page
        except ValueError:
            try:  # a trailing comma or a stray control character is the usual mistake
                data = json.loads(re.sub(r",\s*([}\]])", r"\1", raw), strict=False)
            except (ValueError, RecursionError):
                continue
        for node in _nodes(data):
            seen += 1
            if seen > _MAX_NODES:
                return result
            kinds = _types(node)
            result.types |= kinds
            if kinds & ARTICLE_TYPES and result.article is None:
                result.article = node
            elif "BreadcrumbList" in kinds and not result.breadcrumb:
                result.breadcrumb = _crumb_names(node)
            if kinds & {"Organization", "NewsMediaOrganization"}:
                name = node.get("name")
                if isinstance(name, str) and unescape(name):
                    result.organisations.add(unescape(name))
            if result.article is not None and result.article is node:
                publisher = node.get("publisher")
                if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
                    result.organisations.add(unescape(publisher["name"]))
    return result
