"""Article metadata in order of trust: JSON-LD, then ``article:``/``og:``/``itemprop`` tags,
then ``<time>`` and the byline near the headline, then the visible text.

Each reader returns what it found together with the elements it read, so the body can
leave the headline, byline and date line out of the text.

Size: headline, byline, dates and section are found by one walk over the same candidate
elements (each reader returns the elements it used, which the others and the body skip),
so they stay side by side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lxml.html import HtmlElement

from crawler.extract.authors import OrgNames, split_names
from crawler.extract.dates import ShownDate, parse_iso, parse_shown_date
from crawler.extract.html import (
    class_id,
    clean_text,
    host_of,
    is_hidden,
    link_ratio,
    text_of,
    token_overlap,
)
from crawler.extract.jsonld import LinkedData, unescape

__all__ = [
    "Dates",
    "Headline",
    "MetaTags",
    "find_authors",
    "find_dates",
    "find_headline",
    "find_section",
    "read_meta",
]

_TITLE_CLASS = re.compile(r"title|headline|tieu-?de|heading", re.I)
_LOGO = re.compile(r"logo|brand|site-?name|site-?title|masthead|modal|popup|overlay|hidden", re.I)
#: Words in a headline read off the page without the declared title's help.
_HEADLINE_WORDS = 5
_TITLE_SPLIT = re.compile(r"\s+[|\-–—:»]\s+")
_AUTHOR_CLASS = re.compile(
    r"author|byline|tac-?gia|writer|reporter|phong-?vien|nguoi-?viet|signature", re.I
)
#: A "source" block names the paper an article comes from; a person only as "Theo <name>".
_SOURCE_CLASS = re.compile(r"nguon|source", re.I)
_AUTHOR_HREF = re.compile(r"/(?:tac-?gia|author|authors|nguoi-?viet|phong-?vien|profile/)", re.I)
#: Sharing and reaction widgets that sit inside some bylines.
_SOCIAL = re.compile(r"share|social|mxh|react|star|vote|like|comment|follow", re.I)
_DATE_CLASS = re.compile(r"date|time|publish|ngay|thoi-?gian|post-?on|posted|dateline|meta", re.I)
_UPDATED = re.compile(r"cập nhật|update|sửa đổi|chỉnh sửa", re.I)
_CRUMB_CLASS = re.compile(r"bread|crumb|breakumb", re.I)
_CATEGORY_CLASS = re.compile(r"cate|chuyen-?muc|section|folder|channel|subject|kicker", re.I)
#: Zones whose dates and names belong to other articles or to readers.
_FOREIGN = re.compile(
    r"relat(?!ive)|lienquan|lien-quan|tinlq|same-?cat|cungchuyenmuc|comment|binhluan|binh-luan|"
    r"sidebar|footer|most-?read|docnhieu|xemnhieu|recommend|suggest|news-?list|list-?news|"
    r"box-news|item-news|trending|popular|menu|navbar|header-top|topbar|weather",
    re.I,
)
_ELSEWHERE = re.compile(
    r"relat(?!ive)|lienquan|lien-quan|same-?cat|cungchuyenmuc|comment|binhluan|sidebar|"
    r"footer|most-?read|docnhieu|xemnhieu|item-news|news-?list|list-?news",
    re.I,
)
_HOME = {"trang chủ", "trang chu", "home", "trang nhất", "homepage", "trang chính"}
_MAX_DATE_TEXT = 140
#: A structured date that is a whole number of hours off the printed one has a wrong zone.
_ZONE_SLIP = timedelta(hours=14)


@dataclass(slots=True)
class MetaTags:
    """``<meta>`` contents by lower-cased property/name/itemprop (first value wins)."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, *keys: str) -> str:
        for key in keys:
            value = self.values.get(key)
            if value:
                return value
        return ""


def read_meta(tree: HtmlElement) -> MetaTags:
    meta = MetaTags()
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop")
        content = element.get("content")
        if key and content and content.strip():
            meta.values.setdefault(key.strip().lower(), unescape(content))
    return meta


def _foreign(element: HtmlElement, stop: HtmlElement | None = None) -> bool:
    """Inside a zone of other articles, readers or site chrome (looking up to ``stop``)."""
    for node in (element, *element.iterancestors()):
        if node is stop:
            return False
        if node.tag in ("nav", "footer", "aside"):
            return True
        names = class_id(node)
        if names and _FOREIGN.search(names):
            return True
    return False


def _elsewhere(element: HtmlElement) -> bool:
    """Inside other articles' teasers, readers' comments or the footer (menus allowed)."""
    for node in (element, *element.iterancestors()):
        if node.tag in ("footer", "aside"):
            return True
        names = class_id(node)
        if names and _ELSEWHERE.search(names):
            return True
    return False


# -- headline ------------------------------------------------------------------------------
@dataclass(slots=True)
class Headline:
    text: str
    element: HtmlElement | None
    similarity: float


def _title_variants(linked: LinkedData, meta: MetaTags, tree: HtmlElement) -> list[str]:
    titles = [linked.text("headline"), meta.get("og:title", "twitter:title", "title")]
    page_title = tree.find(".//title")
    if page_title is not None and page_title.text:
        full = clean_text(page_title.text)
        titles.append(full)
        segments = [part for part in _TITLE_SPLIT.split(full) if part]
        if segments:
            titles.append(max(segments, key=len))
    return [clean_text(title) for title in titles if title and clean_text(title)]


def _similarity(text: str, titles: list[str]) -> float:
    best = 0.0
    for title in titles:
        shorter, longer = sorted((len(text), len(title)))
        if not longer:
            continue
        score = token_overlap(text, title) * min(1.0, 1.5 * shorter / longer)
        best = max(best, score)
    return best


def _logo(element: HtmlElement) -> bool:
    return any(
        _LOGO.search(class_id(node)) for node in (element, *list(element.iterancestors())[:3])
    )


def _fallback_heading(candidates: list[HtmlElement]) -> HtmlElement | None:
    """When no heading matches the declared title (a ``<title>`` that only names the site):
    the first ``h1`` that reads like a headline, else the first title-classed ``h2``/``h3``
    that does; not a logo, a pop-up or another article's link. A section front's "Kinh
    doanh" or a widget's "Ngoại tệ" is too short to be a headline."""
    for tags, words in ((("h1",), _HEADLINE_WORDS), (("h2", "h3"), _HEADLINE_WORDS + 1)):
        for element in candidates:
            if element.tag not in tags:
                continue
            if element.tag != "h1" and not _TITLE_CLASS.search(class_id(element)):
                continue
            text = text_of(element)
            if len(text.split()) < words or _logo(element) or _foreign(element):
                continue
            if link_ratio(element, len(text))[0] >= 0.9:
                continue  # a teaser's headline
            return element
    return None


def find_headline(tree: HtmlElement, linked: LinkedData, meta: MetaTags) -> Headline:
    """The displayed headline: the heading (h1, or h2/h3/"title" element on older templates)
    that matches the page's declared title; the declared title when none is shown."""
    titles = _title_variants(linked, meta, tree)
    body = tree.find("body")
    best: tuple[float, HtmlElement, str] | None = None
    candidates: list[HtmlElement] = []
    for element in (body if body is not None else tree).iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        heading = tag in ("h1", "h2", "h3")
        if not heading and not (
            tag in ("div", "p", "span", "strong", "a") and _TITLE_CLASS.search(class_id(element))
        ):
            continue
        text = text_of(element)
        if not 8 <= len(text) <= 300 or is_hidden(element):
            continue
        candidates.append(element)
        similarity = _similarity(text, titles) if titles else 0.0
        if similarity < 0.6:
            continue
        bonus = {"h1": 0.15, "h2": 0.05, "h3": 0.03}.get(tag, 0.0)
        if _foreign(element):
            bonus -= 0.3
        score = similarity + bonus
        if best is None or score > best[0]:
            best = (score, element, text)
    if best is not None:
        return Headline(best[2], best[1], _similarity(best[2], titles))
    if (fallback := _fallback_heading(candidates)) is not None:
        return Headline(text_of(fallback), fallback, 0.0)
    return Headline(titles[0] if titles else "", None, 0.0)


# -- the article's region -----------------------------------------------------------------
def article_region(
    headline: HtmlElement | None, container: HtmlElement | None
) -> HtmlElement | None:
    """The smallest element holding both the headline and the body (the article's header,
    byline, date line and body), bounded so a page-wide wrapper is not taken."""
    if headline is None:
        return container.getparent() if container is not None else None
    if container is None:
        region = headline
        for _ in range(3):
            parent = region.getparent()
            if parent is None or parent.tag in ("body", "html"):
                break
            region = parent
        return region
    ancestors = {*container.iterancestors(), container}
    for node in (headline, *headline.iterancestors()):
        if node in ancestors:
            return node if node.tag not in ("body", "html") else headline.getparent()
    return headline.getparent()


# -- authors -------------------------------------------------------------------------------
@dataclass(slots=True)
class Byline:
    names: list[str]
    elements: list[HtmlElement]


def _byline_elements(region: HtmlElement) -> list[HtmlElement]:
    found: list[HtmlElement] = []
    for element in region.iter():
        if not isinstance(element.tag, str) or element.tag in ("script", "style", "meta"):
            continue
        names = class_id(element)
        href = element.get("href") or ""
        by_class = bool(names and _AUTHOR_CLASS.search(names)) or bool(
            names and _SOURCE_CLASS.search(names) and text_of(element).lower().startswith("theo ")
        )
        by_link = element.tag == "a" and bool(_AUTHOR_HREF.search(href))
        if (by_class or by_link or element.get("rel") == "author") and not _foreign(
            element, stop=region
        ):
            if any(element in set(other.iter()) for other in found):
                continue  # inside a byline already taken
            found.append(element)
    return found


def _up_to(element: HtmlElement, top: HtmlElement) -> list[HtmlElement]:
    """``element`` and its ancestors below ``top``."""
    chain = [element]
    for node in element.iterancestors():
        if node is top:
            break
        chain.append(node)
    return chain


def _names_in(element: HtmlElement, orgs: OrgNames) -> list[str]:
    """Names in a byline element: one per name-like child when there are several."""
    names: list[str] = []
    parts = [
        text_of(child)
        for child in element.iter("a", "span", "strong", "b", "p", "div")
        if child is not element
        and not len(child)
        and not any(_SOCIAL.search(class_id(node)) for node in _up_to(child, element))
    ]
    for part in [p for p in parts if p] or [text_of(element)]:
        for name in split_names(part, orgs):
            if name.casefold() not in {n.casefold() for n in names}:
                names.append(name)
    if not names and parts:
        names = split_names(text_of(element), orgs)
    return names


def find_authors(
    linked: LinkedData,
    meta: MetaTags,
    region: HtmlElement | None,
    orgs: OrgNames,
) -> Byline:
    """Every person credited, from the most trusted source that names one."""
    people = [name for raw in linked.people() for name in split_names(raw, orgs)]
    if people:
        return Byline(_dedupe(people), [])
    for key in ("article:author", "og:article:author", "author", "dc.creator", "sailthru.author"):
        value = meta.get(key)
        if value and not value.startswith("http"):
            names = split_names(value, orgs)
            if names:
                return Byline(names, [])
    if region is None:
        return Byline([], [])
    elements = _byline_elements(region)
    names: list[str] = []
    used: list[HtmlElement] = []
    for element in elements:
        found = _names_in(element, orgs)
        if found:
            used.append(element)
            names.extend(found)
    return Byline(_dedupe(names), used)


def _dedupe(names: list[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for name in names:
        if name.casefold() not in seen:
            seen.add(name.casefold())
            result.append(name)
    return result


# -- dates ---------------------------------------------------------------------------------
@dataclass(slots=True)
class Dates:
    published: datetime | None = None
    modified: datetime | None = None
    elements: list[HtmlElement] = field(default_factory=list)
    source: str = ""


_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "article.published",
    "dc.date.issued",
    "dc.date",
    "date",
    "sailthru.date",
    "parsely-pub-date",
)
_MODIFIED_META = ("article:modified_time", "og:updated_time", "datemodified", "lastmod")


def _structured(
    linked: LinkedData, meta: MetaTags, tree: HtmlElement, now: datetime
) -> tuple[datetime | None, str]:
    for value, source in (
        (linked.text("datePublished"), "json-ld"),
        (meta.get(*_PUBLISHED_META), "meta"),
    ):
        if value and (parsed := parse_iso(value, now=now) or _shown_absolute(value, now)):
            return parsed, source
    for element in tree.iter():
        if isinstance(element.tag, str) and element.get("itemprop") == "datePublished":
            value = element.get("content") or element.get("datetime") or text_of(element)
            if value and (parsed := parse_iso(value, now=now) or _shown_absolute(value, now)):
                return parsed, "itemprop"
    return None, ""


def _shown_absolute(value: str, now: datetime) -> datetime | None:
    shown = parse_shown_date(value, now=now)
    return shown.value if shown is not None and not shown.relative else None


_WEEKDAY = re.compile(
    r"thứ\s*(?:hai|ba|tư|năm|sáu|bảy|2|3|4|5|6|7)|chủ\s*nhật|ngày|tháng|năm|lúc|gmt|utc|"
    r"cập nhật|đăng|xuất bản|ngày đăng|am|pm|sa|ch|\(|\)|[\d:/.,|+\-–]",
    re.I,
)
#: Characters of its own text that make an element a paragraph of the body.
_PARAGRAPH = 100
#: Words left beside the date in a date line ("Nguyên Minh - 07/03/2026 08:47").
_DATE_LINE_REST = 45


def _date_line(text: str) -> bool:
    """Mostly a date: what is left without digits, weekdays and labels is short."""
    return len(_WEEKDAY.sub("", text).strip()) <= _DATE_LINE_REST


def _body_text_nodes(body: HtmlElement) -> set[HtmlElement]:
    """The body element's nodes from its first real paragraph on (a table layout's body
    cell can also hold the headline and the date line above the text)."""
    nodes = [node for node in body.iter() if isinstance(node.tag, str)]
    for index, node in enumerate(nodes):
        own = clean_text(" ".join([node.text or ""] + [child.tail or "" for child in node]))
        if len(own) >= _PARAGRAPH:
            return set(nodes[index:])
    return set(nodes)


def _visible_dates(
    region: HtmlElement,
    headline: HtmlElement,
    body: HtmlElement | None,
    now: datetime,
) -> list[tuple[float, ShownDate, HtmlElement]]:
    """Date lines of the article's header (not its body, not other articles' teasers),
    scored: a time of day, a date-like class and nearness to the headline count; an
    "updated" label and a relative age count against."""
    candidates: list[tuple[float, ShownDate, HtmlElement]] = []
    inside_body = _body_text_nodes(body) if body is not None else set()
    elements = [e for e in region.iter() if isinstance(e.tag, str)]
    start = elements.index(headline) if headline in elements else 0
    for position, element in enumerate(elements):
        distance = abs(position - start)
        if element in inside_body or element.tag in ("script", "style") or is_hidden(element):
            continue
        attribute = element.get("datetime") if element.tag == "time" else None
        own = bool(clean_text(element.text or "")) or any(
            child.tail and child.tail.strip() for child in element
        )
        if not own and not attribute:
            continue
        text = text_of(element)
        if not attribute and (not text or len(text) > _MAX_DATE_TEXT or not _date_line(text)):
            continue
        if _foreign(element, stop=region):
            continue
        shown = parse_shown_date(text, now=now) if text else None
        if attribute and (value := parse_iso(attribute, now=now)):
            structured = ShownDate(value, has_time="T" in attribute or ":" in attribute)
            if shown is None or shown.relative or (structured.has_time and not shown.has_time):
                shown = structured
        if shown is None:
            continue
        score = 2.0 if shown.has_time else 0.0
        if element.tag == "time" or _DATE_CLASS.search(class_id(element)):
            score += 1.0
        if _UPDATED.search(text):
            score -= 1.5
        if shown.relative:
            score -= 2.5
        score -= min(distance, 400) / 200
        candidates.append((score, shown, element))
    return sorted(candidates, key=lambda item: -item[0])


def find_dates(
    linked: LinkedData,
    meta: MetaTags,
    tree: HtmlElement,
    region: HtmlElement | None,
    headline: HtmlElement | None,
    body: HtmlElement | None,
    now: datetime,
) -> Dates:
    """Published (and modified) time: structured data first; the printed date line corrects
    a structured date whose zone is wrong, and stands in when there is none."""
    published, source = _structured(linked, meta, tree, now)
    modified_raw = linked.text("dateModified") or meta.get(*_MODIFIED_META)
    modified = parse_iso(modified_raw, now=now) if modified_raw else None
    # Without a headline there is no article header: dates on the page are other articles'.
    visible = (
        _visible_dates(region, headline, body, now)
        if region is not None and headline is not None
        else []
    )
    dates = Dates(published, modified, [], source)
    if visible:
        _, shown, element = visible[0]
        dates.elements = [element]
        if published is None and (not shown.relative or not _prints_absolute(visible)):
            dates.published, dates.source = shown.value, "visible"
        elif published is not None and shown.has_time and not shown.relative:
            gap = abs(shown.value - published)
            slipped = gap.total_seconds() % 3600 == 0 and timedelta(0) < gap <= _ZONE_SLIP
            if slipped and shown.value.replace(second=0) != published.replace(second=0):
                dates.published, dates.source = shown.value, "visible"
    return dates


def _prints_absolute(visible: list[tuple[float, ShownDate, HtmlElement]]) -> bool:
    return any(not shown.relative for _, shown, _ in visible)


# -- section -------------------------------------------------------------------------------
def _first_label(labels: list[str], site_names: OrgNames) -> str:
    for label in labels:
        label = clean_text(label)
        if not label or label.lower() in _HOME or site_names.is_named(label) or len(label) > 60:
            continue
        return label
    return ""


def _crumb_like(element: HtmlElement) -> bool:
    if "BreadcrumbList" in (element.get("itemtype") or ""):
        return True
    # class, id, aria-label or a data-* attribute ("article-breadcrumb") naming a breadcrumb
    return any(
        _CRUMB_CLASS.search(value)
        for name, value in element.attrib.items()
        if name in ("class", "id", "aria-label") or name.startswith("data-")
    )


def _crumb_labels(element: HtmlElement) -> list[str]:
    """The labels of a breadcrumb, from its list or block (a crumb link climbs to it)."""
    trail = element
    if element.tag in ("a", "li", "span"):
        for node in element.iterancestors():
            if node.tag in ("ul", "ol", "nav", "div", "p"):
                trail = node
                break
    items = [text_of(a) for a in trail.iter("a")]
    if not items:
        items = [text_of(li) for li in trail.iter("li")] or [text_of(trail)]
    return items


def find_section(
    tree: HtmlElement,
    linked: LinkedData,
    meta: MetaTags,
    headline: HtmlElement | None,
    site_names: OrgNames,
    hosts: set[str],
) -> tuple[str, list[HtmlElement]]:
    """The first breadcrumb or category label (JSON-LD BreadcrumbList, ``article:section``,
    the visible breadcrumb, a category link by the headline). ``hosts`` are the page's own
    (fetched and declared) hosts, for telling a category link from a link elsewhere."""
    if label := _first_label(linked.breadcrumb, site_names):
        return label, []
    for value in (meta.get("article:section"), linked.text("articleSection")):
        if label := _first_label(value.split(","), site_names):
            return label, []
    body = tree.find("body")
    for element in (body if body is not None else tree).iter():
        if (
            isinstance(element.tag, str)
            and _crumb_like(element)
            and (label := _first_label(_crumb_labels(element), site_names))
        ):
            return label, [element]
    if headline is not None:
        return _category_near(headline, site_names, hosts)
    return "", []


def _category_near(
    headline: HtmlElement, site_names: OrgNames, hosts: set[str]
) -> tuple[str, list[HtmlElement]]:
    """A short same-site link by the headline: a category label above it ("Đầu tư tài
    chính" over the title; hinted by its class or standing alone in its block), or one in
    the date line under it hinted by its class ("07-03-2026 - 09:40 | Bất động sản")."""
    scope = headline
    for _ in range(3):
        parent = scope.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        scope = parent
    elements = [e for e in scope.iter() if isinstance(e.tag, str)]
    index = elements.index(headline)
    ancestors = set(headline.iterancestors())
    inside = set(headline.iter())
    before = list(reversed(elements[max(0, index - 40) : index]))
    after = [e for e in elements[index + 1 : index + 25] if e not in inside]
    for anchor, needs_hint in [(e, False) for e in before] + [(e, True) for e in after]:
        if anchor.tag != "a" or anchor in ancestors or _elsewhere(anchor):
            continue
        text = text_of(anchor)
        href = (anchor.get("href") or "").strip()
        if not text or len(text.split()) > 6 or not href or href.startswith(("#", "javascript:")):
            continue
        target = host_of(href)
        if target and target not in hosts:
            continue
        parent = anchor.getparent()
        hinted = any(
            _CATEGORY_CLASS.search(class_id(node))
            for node in (anchor, *list(anchor.iterancestors())[:2])
        )
        alone = parent is not None and text_of(parent) == text and not needs_hint
        if (hinted or alone) and (label := _first_label([text], site_names)):
            return label, [anchor]
    return "", []
