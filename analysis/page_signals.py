"""Newspaper-style signals of one page: what a page says about its site (press name,
masthead, reporter bylines, credits, licence lines), from its HTML or from fields already
extracted (a social post). The crawler computes them once per page and stores them with the
document; :mod:`analysis.site_style` scores a site from its pages' signals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector

from analysis.folding import fold_diacritics
from analysis.text import normalize_text

__all__ = ["PageSignals", "page_signals", "signals_from_fields"]

# -- lexicons (matched on folded text: lower case, no diacritics) ------------------------------

_MASTHEAD_TERMS = (
    ("pho tong bien tap", "Phó Tổng biên tập"),
    ("tong bien tap", "Tổng biên tập"),
    ("thu ky toa soan", "Thư ký tòa soạn"),
    ("toa soan", "Tòa soạn"),
)
_PRESS_SECTIONS = frozenset(
    {
        "thoi su",
        "phap luat",
        "the gioi",
        "quoc te",
        "chinh tri",
        "phong su",
        "dieu tra",
        "ban doc",
        "xa hoi",
        "kinh te",
    }
)
_LICENCE_GENERAL = re.compile(
    r"trang thong tin dien tu tong hop|trang ttdt tong hop|ttdt tong hop|gp-ttdt|gp-stttt"
)
_LICENCE_SOCIAL = re.compile(r"thiet lap mang xa hoi")
_LICENCE_PRESS = re.compile(
    r"giay phep[^.\n]{0,60}?(?:hoat dong|xuat ban)[^.\n]{0,20}?(?:bao|tap chi)"
    r"|giay phep[^.\n]{0,60}?(?:bao chi|bao dien tu|tap chi dien tu|bao in)"
)
_REPORTER = re.compile(r"^(?:nhom\s+)?(?:phong vien|pv|ptv|nha bao)\b")
_COMPILED = re.compile(r"\(?\b(?:tong hop|bien tap|st|suu tam)\b\)?")
# "Báo Đời Sống Xanh", "Tạp chí ...", "Thời báo ..." as a name, not "Cảnh báo"/"báo cáo".
_PRESS_NAME_VI = re.compile(
    r"(?<![^\W\d_])(?<!Cảnh )(?<!Thông )(?<!Dự )(?<!Tố )"
    r"(?:Báo|BÁO|Tạp [Cc]hí|TẠP CHÍ|Thời [Bb]áo|THỜI BÁO|Nhật [Bb]áo|Tuần [Bb]áo|Đặc san|Tuần san)"
    r"(?!\s+(?i:cáo|giá|động|thức|chí)\b)\s+[^\W\d_]"
)
_PRESS_NAME_EN = re.compile(
    r"\b(?:news|times|post|daily|press|magazine|tribune|journal|gazette|herald)\b", re.I
)
_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:]{1,2}\s+")
_CREDIT_LINE = re.compile(
    r"^\(?\s*(?:Nguồn|Nguồn tin|Nguồn bài|Nguồn tham khảo)\s*:\s*(?P<src>[^()\n]{2,80}?)\s*\)?\s*\.?$",
    re.I,
)
_THEO_LINE = re.compile(r"^\(?\s*Theo\s+(?!dõi)(?P<src>[^,;()\n]{2,60}?)\s*\)?\s*\.?$")
_TRAILING_CREDIT = re.compile(
    r"\((?:Theo|Nguồn\s*:?)\s+(?P<src>[^()]{2,60}?)\)\s*\.?$|(?:^|\s)Nguồn\s*:\s*(?P<src2>[^.()\n]{2,60}?)\s*\.?$"
)
_SIGN_OFF_MAX_WORDS = 12
_CREDIT_MAX_WORDS = 8

# -- per-page signals ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageSignals:
    """What one page tells about its site's style; small enough to store with the document.

    ``press_name`` is the site's own name when it is newspaper-like ("Báo Đời Sống Xanh",
    "Tin tức 24h News"), else empty; ``press_name_where`` says where it was seen ("title",
    "site_name", "logo"). ``licence`` is "press", "general_info", "social_network" or "" as
    stated on the page, ``licence_text`` the line as printed. ``attribution`` is the credited
    source ("VnExpress") or empty. Article-level fields only count when ``is_article``.
    """

    url: str = ""
    kind: str = "news"
    is_article: bool = False
    site_name: str = ""
    press_name: str = ""
    press_name_where: str = ""
    licence: str = ""
    licence_text: str = ""
    masthead_terms: tuple[str, ...] = ()
    author: str = ""
    reporter_byline: bool = False
    compiled_byline: bool = False
    section: str = ""
    press_section: bool = False
    attribution: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["masthead_terms"] = list(self.masthead_terms)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PageSignals:
        known = set(cls.__dataclass_fields__)
        values = {key: value for key, value in data.items() if key in known}
        values["masthead_terms"] = tuple(values.get("masthead_terms") or ())
        return cls(**values)


def _clean(text: str | None) -> str:
    return normalize_text(re.sub(r"\s+", " ", text or "")).strip()


def _press_name(name: str) -> bool:
    return bool(_PRESS_NAME_VI.search(name) or _PRESS_NAME_EN.search(name))


def _title_segments(title: str) -> list[str]:
    return [part.strip() for part in _TITLE_SEPARATORS.split(title) if part.strip()]


def _find_press_name(candidates: Sequence[tuple[str, str]]) -> tuple[str, str]:
    for where, name in candidates:
        if name and len(name) <= 80 and _press_name(name):
            return name, where
    return "", ""


def _licence(text: str) -> tuple[str, str]:
    """(kind, line as printed) of the licence statement in ``text``, or ("", "")."""
    lines = [line.strip() for line in re.split(r"[\n|]", text) if line.strip()]
    for kind, pattern in (
        ("general_info", _LICENCE_GENERAL),
        ("social_network", _LICENCE_SOCIAL),
        ("press", _LICENCE_PRESS),
    ):
        for line in lines:
            if pattern.search(fold_diacritics(line)):
                return kind, line[:200]
    return "", ""


def _masthead_terms(text: str) -> tuple[str, ...]:
    folded = fold_diacritics(text)
    found: list[str] = []
    for term, label in _MASTHEAD_TERMS:
        if re.search(rf"\b{term}\b", folded):
            found.append(label)
            folded = folded.replace(term, " ")
    return tuple(found)


def _section_is_press(section: str) -> bool:
    return fold_diacritics(section).replace("-", " ").strip() in _PRESS_SECTIONS


def _attribution(paragraphs: Sequence[str], extra: Sequence[str] = ()) -> str:
    """The credited source from the last paragraphs ("Nguồn: Tuổi Trẻ", "(Theo VnExpress)")."""
    for text in [*extra, *reversed(paragraphs[-3:])]:
        text = text.strip()
        if not text:
            continue
        for pattern in (_CREDIT_LINE, _THEO_LINE):
            match = pattern.match(text)
            if match and len(match.group("src").split()) <= _CREDIT_MAX_WORDS:
                return match.group("src").strip(" .")
        match = _TRAILING_CREDIT.search(text)
        if match:
            source = (match.group("src") or match.group("src2") or "").strip(" .")
            if source and len(source.split()) <= _CREDIT_MAX_WORDS:
                return source
    return ""


def _sign_off_is_reporter(paragraphs: Sequence[str]) -> bool:
    for text in paragraphs[-2:]:
        words = text.split()
        if words and len(words) <= _SIGN_OFF_MAX_WORDS and _REPORTER.match(fold_diacritics(text)):
            return True
    return False


def _section_from_url(url: str) -> str:
    parts = [part for part in urlsplit(url).path.split("/") if part]
    if len(parts) >= 2 and re.fullmatch(r"[a-z0-9-]+", parts[0]):
        return parts[0]
    return ""


def signals_from_fields(
    *,
    url: str,
    site_name: str = "",
    title: str = "",
    text: str = "",
    author: str = "",
    section: str = "",
    footer: str = "",
    kind: str = "post",
    is_article: bool = True,
) -> PageSignals:
    """Signals of a page or post whose fields are already extracted (e.g. a social post).

    ``site_name`` is the page/group name as shown ("Tin tức 24h News"), ``footer`` any
    masthead/about text, ``text`` the body with paragraphs separated by newlines.
    """
    site_name = _clean(site_name)
    segments = _title_segments(_clean(title))
    candidates = [("site_name", site_name)]
    if len(segments) > 1:
        candidates.append(("title", segments[-1]))
    press_name, where = _find_press_name(candidates)
    paragraphs = [_clean(line) for line in (text or "").splitlines() if line.strip()]
    author = _clean(author)
    footer = normalize_text(footer or "")
    licence, licence_text = _licence(footer)
    section = _clean(section) or _section_from_url(url)
    folded_author = fold_diacritics(author)
    return PageSignals(
        url=url,
        kind=kind,
        is_article=is_article,
        site_name=site_name or (segments[-1] if len(segments) > 1 else ""),
        press_name=press_name,
        press_name_where=where,
        licence=licence,
        licence_text=licence_text,
        masthead_terms=_masthead_terms(footer),
        author=author,
        reporter_byline=bool(_REPORTER.match(folded_author)) or _sign_off_is_reporter(paragraphs),
        compiled_byline=bool(_COMPILED.search(folded_author)),
        section=section,
        press_section=_section_is_press(section),
        attribution=_attribution(paragraphs) if is_article else "",
    )


_FOOTER_CSS = "footer, [role='contentinfo'], [class*='footer'], [id*='footer']"
_HEADER_CSS = "header, [role='banner'], [class*='masthead'], [class*='top-bar'], [class*='topbar']"
_LOGO_CSS = (
    "[class*='logo'] img::attr(alt), [id*='logo'] img::attr(alt), img[class*='logo']::attr(alt), "
    "[class*='logo']::text, [id*='logo']::text, [class*='site-name']::text, "
    "[class*='site-title']::text, [class*='brand']::text, header h1::text"
)
_BODY_CSS = (
    "[itemprop='articleBody'] p",
    "article p",
    "[class*='article-body'] p, [class*='article-content'] p, [class*='detail'] p, "
    "[class*='content'] p",
    "main p",
    "p",
)
_AUTHOR_META = (
    "meta[name='author']::attr(content)",
    "meta[property='article:author']::attr(content)",
)
#: Byline elements; their whole text counts ("<p class='author'><strong>Name</strong></p>").
_AUTHOR_ELEMENTS = (
    "[itemprop='author'] [itemprop='name']",
    "[itemprop='author']",
    "[rel='author']",
    "[class*='author']",
    "[class*='byline']",
    "[class*='reporter']",
)
_IN_COMMENTS = "ancestor-or-self::*[contains(@class, 'comment') or contains(@id, 'comment')]"
_CREDIT_CSS = "[class*='source']::text, [class*='nguon']::text, [class*='credit']::text"


def _texts(node: Any) -> list[str]:
    """The text nodes under a selector's element, read with lxml directly: parsel would
    wrap each one in a Selector first (most of this module's time on long pages)."""
    return node.root.xpath(".//text()")


def _text_of(node: Any) -> str:
    """All text under ``node``, one line per text node (keeps footer lines apart)."""
    return "\n".join(part.strip() for part in _texts(node) if part.strip())


def page_signals(html: str, url: str, *, kind: str = "news") -> PageSignals:
    """Signals of one fetched page: site name, licence and masthead, byline, section, credit.

    Pure: parses ``html`` (lxml through parsel) and looks at the page's own ``<title>``,
    ``og:site_name``, logo, header/footer and article paragraphs.
    """
    selector = Selector(text=html or "<html></html>")
    for junk in selector.css("script, style, noscript, template"):
        junk.drop()
    title = _clean(selector.css("title::text").get())
    og_site = _clean(selector.css("meta[property='og:site_name']::attr(content)").get())
    app_name = _clean(selector.css("meta[name='application-name']::attr(content)").get())
    logo = next((_clean(v) for v in selector.css(_LOGO_CSS).getall() if _clean(v)), "")
    og_type = (selector.css("meta[property='og:type']::attr(content)").get() or "").lower()

    paragraphs: list[str] = []
    for query in _BODY_CSS:
        paragraphs = [_clean(" ".join(_texts(node))) for node in selector.css(query)]
        paragraphs = [text for text in paragraphs if text]
        if paragraphs:
            break
    is_article = (
        og_type == "article"
        or bool(selector.css("meta[property='article:published_time']"))
        or (len(selector.css("article")) == 1 and len(paragraphs) >= 3)
    )

    segments = _title_segments(title)
    # The visible <title> first: it is what readers see, so it is the evidence to quote.
    candidates: list[tuple[str, str]] = []
    if len(segments) > 1:
        candidates.append(("title", segments[-1]))
    if segments and not is_article:
        candidates.append(("title", segments[0]))
    candidates += [("site_name", og_site), ("site_name", app_name), ("logo", logo)]
    press_name, where = _find_press_name(candidates)
    site_name = og_site or app_name or logo or (segments[-1] if len(segments) > 1 else "")

    author = next(
        (_clean(v) for v in selector.css(", ".join(_AUTHOR_META)).getall() if _clean(v)), ""
    )
    for query in () if author else _AUTHOR_ELEMENTS:
        author = next(
            (
                _clean(node.xpath("string()").get())
                for node in selector.css(query)
                if not node.xpath(_IN_COMMENTS)  # "comment-author" is a reader, not the byline
            ),
            "",
        )
        if author:
            break
    if author.lower().startswith("theo "):  # "Theo Hải Yến (tổng hợp)": a byline, not a credit
        author = author[5:].strip()
    section = _clean(selector.css("meta[property='article:section']::attr(content)").get())
    if not section:
        crumbs = [
            _clean(text)
            for text in selector.css(
                "[class*='breadcrumb'] a::text, [itemtype*='BreadcrumbList'] [itemprop='name']::text"
            ).getall()
        ]
        crumbs = [c for c in crumbs if c and fold_diacritics(c) not in ("trang chu", "home")]
        section = crumbs[0] if crumbs else _section_from_url(url)
    credits = [_clean(t) for t in selector.css(_CREDIT_CSS).getall() if _clean(t)]

    # Masthead words count in the header/footer only: "liên hệ tòa soạn" inside an article is
    # not a masthead. Without header/footer, take the page minus its article paragraphs.
    def body_text() -> str:
        return normalize_text("\n".join(_text_of(node) for node in selector.css("body")))

    # The whole page's text is only read when the masthead has no licence line.
    page_text: str | None = None
    masthead_source = normalize_text(
        "\n".join(_text_of(node) for node in selector.css(f"{_HEADER_CSS}, {_FOOTER_CSS}"))
    )
    if not masthead_source:
        page_text = body_text()  # before the article paragraphs are dropped
        for query in _BODY_CSS[:-1]:
            for node in selector.css(query):
                node.drop()
        masthead_source = body_text()
    licence, licence_text = _licence(masthead_source)
    if not licence:  # a licence line is distinctive enough to be trusted anywhere on the page
        licence, licence_text = _licence(body_text() if page_text is None else page_text)
    folded_author = fold_diacritics(author)
    return PageSignals(
        url=url,
        kind=kind,
        is_article=is_article,
        site_name=site_name,
        press_name=press_name,
        press_name_where=where,
        licence=licence,
        licence_text=licence_text,
        masthead_terms=_masthead_terms(masthead_source),
        author=author,
        reporter_byline=bool(_REPORTER.match(folded_author))
        or (is_article and _sign_off_is_reporter(paragraphs)),
        compiled_byline=bool(_COMPILED.search(folded_author)),
        section=section,
        press_section=_section_is_press(section),
        attribution=_attribution(paragraphs, credits) if is_article else "",
    )
