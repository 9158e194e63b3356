"""Newspaper-style ("báo hóa") site scoring.

Vietnamese regulators call it *báo hóa* when a general-information site (licensed only as a
"trang thông tin điện tử tổng hợp", allowed to re-publish press articles with attribution) or a
social page behaves like a licensed newspaper: it names itself "Báo ...", "Tạp chí ...",
"... News"; prints "Tòa soạn" and "Tổng biên tập"; signs articles "Phóng viên ..."; runs
newspaper sections; and publishes reporting without "Nguồn: ..." credits.

The work is split in two so the crawler can do the expensive part once per page:

* :func:`page_signals` (HTML + URL) or :func:`signals_from_fields` (already extracted fields,
  e.g. a social post) turn one page into a small :class:`PageSignals` record, stored with the
  document (``PageSignals.to_dict()`` / ``PageSignals.from_dict()``).
* :func:`score_site` aggregates the pages of one site into a :class:`SiteStyleResult`: a score
  in [0, 1] that is a weighted sum of interpretable signals (see ``DEFAULT_WEIGHTS``), a flag,
  and evidence phrases an analyst can check. :func:`site_profile_from_pages` returns the dict the
  store keeps (``Store.upsert_site``).

The press register (:class:`PressRegister`) and the list of sites named by press reports
(:class:`FlaggedSites`) are built from rows the caller has read; this module does no I/O.
A licensed newspaper found in the register keeps a low score whatever it looks like, because
looking like a newspaper is exactly what a newspaper should do.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any, Generic, Self, TypeVar
from urllib.parse import urlsplit

from parsel import Selector

from analysis.text import fold_diacritics, normalize_text

__all__ = [
    "DEFAULT_PRESS_LICENCE_FACTOR",
    "DEFAULT_REGISTER_FACTOR",
    "DEFAULT_SOCIAL_HOSTS",
    "DEFAULT_THRESHOLD",
    "DEFAULT_WEIGHTS",
    "PRESS_KINDS",
    "TRUSTED_KINDS",
    "FlaggedEntry",
    "FlaggedSites",
    "PageSignals",
    "PressRegister",
    "RegisterEntry",
    "SiteStyleResult",
    "normalize_host",
    "page_signals",
    "score_site",
    "signals_from_fields",
    "site_profile_from_pages",
]

#: A site is flagged when its score reaches this (``analysis.site_threshold`` in settings.yaml).
DEFAULT_THRESHOLD = 0.5

#: Weight of each signal. Every signal is a share in [0, 1] (e.g. 10 of 12 pages -> 0.83), so a
#: weight is the most that signal can add to the score; the sum is clipped to 1.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        # the site calls itself "Báo ...", "Tạp chí ...", "... News" (title, og:site_name, logo)
        "press_name": 0.30,
        # masthead words outside the article body: "Tòa soạn", "Tổng biên tập"
        "masthead": 0.20,
        # articles signed by reporters: "Phóng viên Lê Hoàng", "Nhóm PV"
        "reporter_byline": 0.15,
        # articles without any "Nguồn: ..." / "(Theo ...)" credit
        "no_attribution": 0.15,
        # sections that imply own reporting: "Thời sự", "Pháp luật", "Điều tra"...
        "press_sections": 0.05,
        # the domain itself imitates a press agency: "bao...", "tapchi...", "...news"
        "press_domain": 0.10,
        # a general-information licence on a site presented as a newspaper (the core of báo hóa)
        "general_licence_as_press": 0.15,
        # a social page/group presenting itself as a newspaper (it can hold no press licence)
        "social_as_press": 0.15,
        # named by a press report as unlicensed or press-imitating (config/flagged_sites.csv)
        "flagged_report": 0.50,
    }
)

#: Score multiplier for a site found in the press register as licensed press or a state portal.
DEFAULT_REGISTER_FACTOR = 0.1

#: Score multiplier for a site whose footer states a press licence but that the (incomplete)
#: register does not list: probably a real newspaper we do not know yet; left for review.
DEFAULT_PRESS_LICENCE_FACTOR = 0.5

#: Hosts whose pages are social-network pages, never press agencies.
DEFAULT_SOCIAL_HOSTS = frozenset(
    {
        "facebook.com",
        "fb.com",
        "tiktok.com",
        "youtube.com",
        "zalo.me",
        "instagram.com",
        "x.com",
        "twitter.com",
        "threads.net",
        "lotus.vn",
        "gapo.vn",
    }
)

#: Register kinds that are licensed press.
PRESS_KINDS = frozenset({"newspaper", "magazine", "broadcaster"})
#: Register kinds whose newspaper-like look is legitimate.
TRUSTED_KINDS = PRESS_KINDS | {"government_portal"}

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
# "bao..." but not the many words/names that also start so (bảo hiểm, bảo vệ, Bảo Anh...).
_PRESS_DOMAIN = re.compile(
    r"^(?:bao(?!hiem|ve|an|tang|tri|duong|lanh|ngoc|minh|chau|long|son|khanh|nam|anh|linh|han|tram|ngan)"
    r"|tapchi|thoibao|nhatbao|tuanbao)[a-z0-9]|(?:news|times|press|magazine)(?:\d|$)"
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

# -- register --------------------------------------------------------------------------------


def normalize_host(site_or_url: str) -> str:
    """Host of a site key or URL, lower case, without port, trailing dot or leading ``www.``.

    ``"https://WWW.TuoiTre.vn:443/a"`` -> ``"tuoitre.vn"``; ``"facebook.com/groups/x"`` ->
    ``"facebook.com"``.
    """
    value = (site_or_url or "").strip()
    if "://" not in value:
        value = "//" + value
    host = (urlsplit(value).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.")


_SECOND_LEVEL = frozenset(
    {"com", "net", "org", "gov", "edu", "info", "biz", "name", "pro", "health", "int", "ac", "co"}
)


def _name_label(site: str, host: str, social: bool) -> str:
    """The label that names the site: ``tapchilamdep`` for ``www.tapchilamdep.com``,
    ``otofun`` for ``news.otofun.net``, ``baoabc`` for ``www.baoabc.com.vn``, and the page
    name for a social page (``facebook.com/tintuc24hnews`` -> ``tintuc24hnews``).
    """
    if social:
        path = site.split("://", 1)[-1].partition("/")[2]
        return path.split("/")[0].lower()
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


def _parents(host: str) -> Iterable[str]:
    """``a.b.tuoitre.vn`` -> ``a.b.tuoitre.vn``, ``b.tuoitre.vn``, ``tuoitre.vn``, ``vn``."""
    labels = host.split(".")
    for start in range(len(labels)):
        yield ".".join(labels[start:])


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """One row of ``config/press_register.csv``."""

    domain: str
    name: str
    kind: str
    note: str = ""

    @property
    def licensed(self) -> bool:
        return self.kind in PRESS_KINDS


_Entry = TypeVar("_Entry")  # an entry with a ``domain``


class _DomainTable(Generic[_Entry]):
    """Entries keyed by domain; a host matches its own entry or its nearest parent's."""

    def __init__(self, entries: Iterable[_Entry] = ()):
        self._by_domain = {normalize_host(entry.domain): entry for entry in entries}

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> Self:
        raise NotImplementedError

    @classmethod
    def from_csv_text(cls, text: str) -> Self:
        return cls.from_rows(csv.DictReader(io.StringIO(text)))

    def lookup(self, site_or_url: str) -> _Entry | None:
        """The entry for the host or its nearest listed parent domain, if any."""
        host = normalize_host(site_or_url)
        for candidate in _parents(host) if host else ():
            if candidate in self._by_domain:
                return self._by_domain[candidate]
        return None

    def __contains__(self, site_or_url: object) -> bool:
        return isinstance(site_or_url, str) and self.lookup(site_or_url) is not None

    def __len__(self) -> int:
        return len(self._by_domain)


class PressRegister(_DomainTable[RegisterEntry]):
    """Domains believed to be licensed press (and state portals), matched with subdomains.

    Not the official licence register: see ``config/press_register.md``. Build it from CSV rows
    the caller read (``from_rows``) or from the file's text (``from_csv_text``).
    """

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> PressRegister:
        return cls(
            RegisterEntry(
                domain=row["domain"],
                name=normalize_text(row.get("name") or row["domain"]),
                kind=(row.get("kind") or "newspaper").strip(),
                note=row.get("note") or "",
            )
            for row in rows
            if (row.get("domain") or "").strip()
        )


@dataclass(frozen=True, slots=True)
class FlaggedEntry:
    """One row of ``config/flagged_sites.csv``: a site a press report named, and the report."""

    domain: str
    reported: str
    report_url: str = ""


class FlaggedSites(_DomainTable[FlaggedEntry]):
    """Sites named by press reports as unlicensed or press-imitating (never licensed)."""

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> FlaggedSites:
        return cls(
            FlaggedEntry(
                domain=row["domain"],
                reported=row.get("reported") or row.get("what_was_reported") or "",
                report_url=row.get("report_url")
                or row.get("source_url_in_stored_pages_corpus")
                or "",
            )
            for row in rows
            if (row.get("domain") or "").strip()
        )


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


def _text_of(node: Any) -> str:
    """All text under ``node``, one line per text node (keeps footer lines apart)."""
    return "\n".join(part.strip() for part in node.xpath(".//text()").getall() if part.strip())


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
        paragraphs = [
            _clean(" ".join(node.xpath(".//text()").getall())) for node in selector.css(query)
        ]
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
    page_text = normalize_text("\n".join(_text_of(node) for node in selector.css("body")))
    masthead_source = normalize_text(
        "\n".join(_text_of(node) for node in selector.css(f"{_HEADER_CSS}, {_FOOTER_CSS}"))
    )
    if not masthead_source:
        for query in _BODY_CSS[:-1]:
            for node in selector.css(query):
                node.drop()
        masthead_source = normalize_text("\n".join(_text_of(node) for node in selector.css("body")))
    licence, licence_text = _licence(masthead_source)
    if not licence:  # a licence line is distinctive enough to be trusted anywhere on the page
        licence, licence_text = _licence(page_text)
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


# -- site score ------------------------------------------------------------------------------


@dataclass(slots=True)
class SiteStyleResult:
    """The newspaper-style verdict for one site, with the evidence behind it.

    ``signals`` holds each signal's share in [0, 1] before weighting, so the score can be
    recomputed by hand: ``score = clip(sum(weight * share)) * factor``.
    """

    site: str
    score: float
    flag: bool
    evidence: list[str] = field(default_factory=list)
    pages: int = 0
    #: found in the register as licensed press or a state portal (``TRUSTED_KINDS``)
    in_register: bool = False
    signals: dict[str, float] = field(default_factory=dict)

    def to_profile(self) -> dict[str, Any]:
        """The site-profile dict kept by the store (``Store.upsert_site``)."""
        return {
            "site": self.site,
            "score": self.score,
            "flag": self.flag,
            "evidence": list(self.evidence),
            "pages": self.pages,
        }


def _as_signals(page: PageSignals | Mapping[str, Any]) -> PageSignals:
    return page if isinstance(page, PageSignals) else PageSignals.from_dict(page)


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def _most_common(values: Iterable[str], limit: int = 3) -> list[str]:
    return [value for value, _ in Counter(v for v in values if v).most_common(limit)]


_WHERE = {"title": "trong tiêu đề", "site_name": "trong og:site_name", "logo": "ở logo"}


def score_site(
    pages: Sequence[PageSignals | Mapping[str, Any]],
    *,
    site: str,
    register: PressRegister,
    flagged: FlaggedSites | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    social_hosts: frozenset[str] = DEFAULT_SOCIAL_HOSTS,
) -> SiteStyleResult:
    """Score how much ``site`` behaves like a newspaper without being one.

    ``site`` is the site key ("doisongxanh.localhost", "www.example.vn", or
    "facebook.com/tintuc24hnews" for a social page); it is matched against ``register`` and
    ``flagged`` by host, subdomains included.
    """
    signals = [_as_signals(page) for page in pages]
    host = normalize_host(site)
    total = len(signals)
    articles = [page for page in signals if page.is_article]
    n_art = len(articles)
    entry = register.lookup(site)
    report = flagged.lookup(site) if flagged is not None else None
    is_social = any(host == h or host.endswith("." + h) for h in social_hosts) or (
        total > 0 and sum(page.kind in ("post", "social") for page in signals) * 2 > total
    )

    named = [page for page in signals if page.press_name]
    masthead = [page for page in signals if page.masthead_terms]
    general = [page for page in signals if page.licence == "general_info"]
    press_licence = [page for page in signals if page.licence == "press"]
    reporters = [page for page in articles if page.reporter_byline]
    credited = [page for page in articles if page.attribution]
    compiled = [page for page in articles if page.compiled_byline]
    sections = [page for page in signals if page.press_section]
    general_licence = bool(general) or (entry is not None and entry.kind == "general_info")
    name_label = _name_label(site, host, is_social) if host else ""
    press_domain = bool(_PRESS_DOMAIN.search(name_label)) and not (
        entry is not None and entry.kind in TRUSTED_KINDS
    )

    shares = {
        "press_name": _share(len(named), total),
        "masthead": _share(len(masthead), total),
        "reporter_byline": _share(len(reporters), n_art),
        "no_attribution": _share(n_art - len(credited), n_art),
        "press_sections": _share(len(sections), total),
        "press_domain": 1.0 if press_domain else 0.0,
        "general_licence_as_press": (
            max(_share(len(named), total), _share(len(masthead), total)) if general_licence else 0.0
        ),
        "social_as_press": _share(len(named), total) if is_social else 0.0,
        "flagged_report": 1.0 if report is not None else 0.0,
    }
    raw = min(1.0, sum(weights.get(name, 0.0) * share for name, share in shares.items()))

    evidence: list[str] = []
    if report is not None:
        evidence.append(f"bị báo chí nêu tên: {report.reported} ({report.report_url})")
    if named:
        name = _most_common(page.press_name for page in named)[0]
        where = _most_common(page.press_name_where for page in named)[0]
        label = "trang mạng xã hội tự xưng" if is_social else "tự xưng"
        evidence.append(f"{label} '{name}' {_WHERE.get(where, '')} ({len(named)}/{total} trang)")
    if general:
        evidence.append(
            f"footer: giấy phép trang thông tin điện tử tổng hợp ({len(general)}/{total} trang)"
        )
    if general_licence and (named or masthead):
        evidence.append("giấy phép trang tin tổng hợp nhưng trình bày như cơ quan báo chí")
    if press_licence:
        evidence.append(
            f"footer: giấy phép báo chí '{press_licence[0].licence_text}' "
            f"({len(press_licence)}/{total} trang)"
        )
    if masthead:
        terms = _most_common((t for page in masthead for t in page.masthead_terms), limit=4)
        quoted = ", ".join(f"'{term}'" for term in terms)
        evidence.append(f"có {quoted} ({len(masthead)}/{total} trang)")
    if n_art:
        parts = []
        if reporters:
            parts.append(f"bài viết có 'Phóng viên' ({len(reporters)}/{n_art})")
        if len(credited) < n_art:
            parts.append(f"không ghi nguồn ({n_art - len(credited)}/{n_art})")
        if credited:
            sources = ", ".join(_most_common((page.attribution for page in credited), limit=4))
            parts.append(f"ghi nguồn ({len(credited)}/{n_art}: {sources})")
        if compiled:
            parts.append(f"tác giả ghi 'tổng hợp'/'biên tập' ({len(compiled)}/{n_art})")
        evidence.append(", ".join(parts))
    if sections:
        names = ", ".join(_most_common((page.section for page in sections), limit=4))
        evidence.append(f"chuyên mục kiểu báo: {names} ({len(sections)}/{total} trang)")
    if press_domain:
        evidence.append(f"tên miền giống tên cơ quan báo chí ('{name_label}')")

    # A reason that lowers the score decides the verdict, so it goes first.
    factor = 1.0
    if entry is not None and entry.kind in TRUSTED_KINDS:
        factor = DEFAULT_REGISTER_FACTOR
        evidence.insert(
            0, f"có trong danh bạ báo chí: {entry.name} ({entry.kind}), điểm nhân {factor:g}"
        )
    elif entry is not None:
        evidence.append(f"danh bạ ghi là trang thông tin tổng hợp, không phải báo: {entry.name}")
    else:
        evidence.append("không có trong danh bạ báo chí")
        if press_licence and not general and len(press_licence) * 2 >= total:
            factor = DEFAULT_PRESS_LICENCE_FACTOR
            evidence.insert(
                0,
                f"khai giấy phép báo chí nhưng chưa có trong danh bạ: cần đối chiếu, điểm nhân {factor:g}",
            )
    if total == 0:
        evidence.append("chưa có trang nào được phân tích")

    score = round(raw * factor, 3)
    return SiteStyleResult(
        site=site,
        score=score,
        flag=score >= threshold,
        evidence=evidence,
        pages=total,
        in_register=entry is not None and entry.kind in TRUSTED_KINDS,
        signals={name: round(share, 3) for name, share in shares.items()},
    )


def site_profile_from_pages(
    pages: Sequence[PageSignals | Mapping[str, Any]],
    *,
    site: str,
    register: PressRegister,
    flagged: FlaggedSites | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """``{"site", "score", "flag", "evidence", "pages"}`` for ``Store.upsert_site``."""
    return score_site(
        pages, site=site, register=register, flagged=flagged, threshold=threshold
    ).to_profile()
