"""Small DOM helpers shared by the extraction modules (lxml trees, parsed once per page)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import SplitResult, urlsplit

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

__all__ = [
    "BLOCK_TAGS",
    "SKIP_TAGS",
    "class_id",
    "clean_text",
    "host_of",
    "is_clutter_class",
    "is_hidden",
    "link_ratio",
    "parse_html",
    "split_url",
    "text_of",
    "token_overlap",
]

#: Elements that start a new block of text.
BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "aside", "center",
        "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "table",
        "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "figure", "figcaption",
        "blockquote", "pre", "hr", "address", "details", "summary", "picture",
    }
)  # fmt: skip
#: Elements that never hold article text.
SKIP_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "iframe", "object", "embed", "form",
        "button", "input", "select", "textarea", "option", "svg", "canvas", "nav", "audio",
        "video", "map", "head", "link", "meta", "label", "dialog",
    }
)  # fmt: skip
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
#: Class or id fragments of blocks that are never the article's own text: related-news and
#: same-section teasers, comments, sharing, tags, ads, menus, bylines and date bars.
_CLUTTER = re.compile(
    r"relat(?!ive)|lienquan|lien-quan|lien_quan|tinlq|same-?cat|cungchuyenmuc|cung-chuyen-muc|"
    r"tincungmuc|tin-cung|comment|binhluan|binh-luan|social|newsletter|subscri|advert|"
    r"quangcao|quang-cao|sponsor|breadcrumb|read-?more|xemthem|xem-them|docthem|doc-them|"
    r"recommend|suggest|most-?read|most-?view|docnhieu|doc-nhieu|xemnhieu|xem-nhieu|trending|"
    r"popular|toolbar|reaction|paywall|share|sharing|banner|footer|sidebar|widget|navbar|"
    r"navigation|keyword|hashtag|tagdetail|tag-|-tag|_tag|tags|topic|author|byline|"
    r"dong-su-kien|chu-de|chude|rating|vote|poll|pagination|paging|login|modal|popup|"
    r"tinmoi|tin-moi|tindnd|dable|inread|print|font-?size|audio|player|bottom-info|"
    r"link-source|box-news|news-?list|list-?news|timeline|publish|post-?time|date|"
    r"datetime|tool|btn|button",
    re.I,
)
_CLUTTER_TOKENS = frozenset(
    {"ads", "ad", "adv", "qc", "tag", "nav", "menu", "meta", "time", "source", "like", "cmt"}
)
_TOKEN_SPLIT = re.compile(r"[\s_\-]+")


def parse_html(html: str) -> HtmlElement | None:
    """The page as an lxml tree (comments dropped), or ``None`` when there is no document."""
    if not html or not html.strip():
        return None
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        tree = lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError):
        return None
    return tree if isinstance(tree, HtmlElement) else None


def split_url(url: str) -> SplitResult | None:
    """``urlsplit``, or ``None`` for an address it rejects (a bad port or IPv6 literal):
    links on a page are hostile input too."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - a bad port only raises when read
    except ValueError:
        return None
    return parts


def host_of(url: str) -> str:
    """The host of ``url`` without ``www.``, empty when there is none or it is malformed."""
    parts = split_url(url)
    return ((parts.hostname or "") if parts else "").removeprefix("www.")


def clean_text(value: str) -> str:
    """NFC, whitespace collapsed, zero-width characters and BOMs dropped."""
    value = value.replace("\u200b", "").replace("\ufeff", "").replace("\xad", "")
    return " ".join(unicodedata.normalize("NFC", value).split())


def text_of(element: HtmlElement) -> str:
    return clean_text(element.text_content())


def class_id(element: HtmlElement) -> str:
    return f"{element.get('class') or ''} {element.get('id') or ''}".strip()


def is_clutter_class(element: HtmlElement) -> bool:
    names = class_id(element)
    if not names:
        return False
    if _CLUTTER.search(names):
        return True
    return any(token.lower() in _CLUTTER_TOKENS for token in _TOKEN_SPLIT.split(names))


def is_hidden(element: HtmlElement) -> bool:
    if element.get("hidden") is not None:
        return True
    style = element.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


def link_ratio(element: HtmlElement, total: int | None = None) -> tuple[float, int]:
    """Share of ``element``'s text inside links, and the number of links with text."""
    if total is None:
        total = len(text_of(element))
    if not total:
        return 0.0, 0
    linked = 0
    links = 0
    for anchor in element.iter("a"):
        length = len(text_of(anchor))
        if length:
            linked += length
            links += 1
    return min(linked / total, 1.0), links


def token_overlap(first: str, second: str) -> float:
    """Share of the shorter text's words found in the other (case-insensitive)."""
    a = set(first.lower().split())
    b = set(second.lower().split())
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
