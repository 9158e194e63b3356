"""Newspaper-style ("báo hóa") site scoring.

Vietnamese regulators call it *báo hóa* when a general-information site (licensed only as a
"trang thông tin điện tử tổng hợp", allowed to re-publish press articles with attribution) or a
social page behaves like a licensed newspaper: it names itself "Báo ...", "Tạp chí ...",
"... News"; prints "Tòa soạn" and "Tổng biên tập"; signs articles "Phóng viên ..."; runs
newspaper sections; and publishes reporting without "Nguồn: ..." credits.

The work is split in two so the crawler can do the expensive part once per page (the page
signals live in :mod:`analysis.page_signals`, the register in :mod:`analysis.press_register`;
their names are re-exported here):

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

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from analysis.page_signals import PageSignals, page_signals, signals_from_fields
from analysis.press_register import (
    DEFAULT_SOCIAL_HOSTS,
    PRESS_KINDS,
    TRUSTED_KINDS,
    FlaggedEntry,
    FlaggedSites,
    PressRegister,
    RegisterEntry,
    name_label,
    normalize_host,
)

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

# "bao..." but not the many words/names that also start so (bảo hiểm, bảo vệ, Bảo Anh...).
_PRESS_DOMAIN = re.compile(
    r"^(?:bao(?!hiem|ve|an|tang|tri|duong|lanh|ngoc|minh|chau|long|son|khanh|nam|anh|linh|han|tram|ngan)"
    r"|tapchi|thoibao|nhatbao|tuanbao)[a-z0-9]|(?:news|times|press|magazine)(?:\d|$)"
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


_WHERE = {"title": "trong tiêu đề", "site_name": "trong og:site_name", "logo": "ở logo"}


@dataclass(slots=True)
class _Tally:
    """What :func:`score_site` needs of a site's pages, counted in one pass: a site's pages
    are streamed from the store, never held all at once (a site can have 100,000 pages)."""

    total: int = 0
    articles: int = 0
    social: int = 0
    named: int = 0
    press_names: Counter[str] = field(default_factory=Counter)
    name_places: Counter[str] = field(default_factory=Counter)
    masthead: int = 0
    masthead_terms: Counter[str] = field(default_factory=Counter)
    general: int = 0
    press_licence: int = 0
    first_press_licence: str = ""
    reporters: int = 0
    credited: int = 0
    attributions: Counter[str] = field(default_factory=Counter)
    compiled: int = 0
    sections: int = 0
    section_names: Counter[str] = field(default_factory=Counter)

    def add(self, page: PageSignals) -> None:
        # Counters keep first-seen order among equal counts, as the lists they replace did.
        self.total += 1
        self.social += page.kind in ("post", "social")
        if page.press_name:
            self.named += 1
            self.press_names[page.press_name] += 1
            if page.press_name_where:
                self.name_places[page.press_name_where] += 1
        if page.masthead_terms:
            self.masthead += 1
            self.masthead_terms.update(term for term in page.masthead_terms if term)
        if page.licence == "general_info":
            self.general += 1
        if page.licence == "press":
            if not self.press_licence:
                self.first_press_licence = page.licence_text
            self.press_licence += 1
        if page.press_section:
            self.sections += 1
            if page.section:
                self.section_names[page.section] += 1
        if not page.is_article:
            return
        self.articles += 1
        self.reporters += page.reporter_byline
        self.compiled += page.compiled_byline
        if page.attribution:
            self.credited += 1
            self.attributions[page.attribution] += 1


def _top(counts: Counter[str], limit: int = 3) -> list[str]:
    return [value for value, _ in counts.most_common(limit)]


def score_site(
    pages: Iterable[PageSignals | Mapping[str, Any]],
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
    ``flagged`` by host, subdomains included. ``pages`` are read once, in one pass.
    """
    tally = _Tally()
    for page in pages:
        tally.add(_as_signals(page))
    host = normalize_host(site)
    total = tally.total
    n_art = tally.articles
    entry = register.lookup(site)
    report = flagged.lookup(site) if flagged is not None else None
    is_social = any(host == h or host.endswith("." + h) for h in social_hosts) or (
        total > 0 and tally.social * 2 > total
    )

    named, masthead, general = tally.named, tally.masthead, tally.general
    press_licence, reporters = tally.press_licence, tally.reporters
    credited, compiled, sections = tally.credited, tally.compiled, tally.sections
    general_licence = bool(general) or (entry is not None and entry.kind == "general_info")
    label = name_label(site, host, is_social) if host else ""
    press_domain = bool(_PRESS_DOMAIN.search(label)) and not (
        entry is not None and entry.kind in TRUSTED_KINDS
    )

    shares = {
        "press_name": _share(named, total),
        "masthead": _share(masthead, total),
        "reporter_byline": _share(reporters, n_art),
        "no_attribution": _share(n_art - credited, n_art),
        "press_sections": _share(sections, total),
        "press_domain": 1.0 if press_domain else 0.0,
        "general_licence_as_press": (
            max(_share(named, total), _share(masthead, total)) if general_licence else 0.0
        ),
        "social_as_press": _share(named, total) if is_social else 0.0,
        "flagged_report": 1.0 if report is not None else 0.0,
    }
    raw = min(1.0, sum(weights.get(name, 0.0) * share for name, share in shares.items()))

    evidence: list[str] = []
    if report is not None:
        evidence.append(f"bị báo chí nêu tên: {report.reported} ({report.report_url})")
    if named:
        name = _top(tally.press_names)[0]
        where = _top(tally.name_places)[0]
        label = "trang mạng xã hội tự xưng" if is_social else "tự xưng"
        evidence.append(f"{label} '{name}' {_WHERE.get(where, '')} ({named}/{total} trang)")
    if general:
        evidence.append(
            f"footer: giấy phép trang thông tin điện tử tổng hợp ({general}/{total} trang)"
        )
    if general_licence and (named or masthead):
        evidence.append("giấy phép trang tin tổng hợp nhưng trình bày như cơ quan báo chí")
    if press_licence:
        evidence.append(
            f"footer: giấy phép báo chí '{tally.first_press_licence}' "
            f"({press_licence}/{total} trang)"
        )
    if masthead:
        terms = _top(tally.masthead_terms, limit=4)
        quoted = ", ".join(f"'{term}'" for term in terms)
        evidence.append(f"có {quoted} ({masthead}/{total} trang)")
    if n_art:
        parts = []
        if reporters:
            parts.append(f"bài viết có 'Phóng viên' ({reporters}/{n_art})")
        if credited < n_art:
            parts.append(f"không ghi nguồn ({n_art - credited}/{n_art})")
        if credited:
            sources = ", ".join(_top(tally.attributions, limit=4))
            parts.append(f"ghi nguồn ({credited}/{n_art}: {sources})")
        if compiled:
            parts.append(f"tác giả ghi 'tổng hợp'/'biên tập' ({compiled}/{n_art})")
        evidence.append(", ".join(parts))
    if sections:
        names = ", ".join(_top(tally.section_names, limit=4))
        evidence.append(f"chuyên mục kiểu báo: {names} ({sections}/{total} trang)")
    if press_domain:
        evidence.append(f"tên miền giống tên cơ quan báo chí ('{label}')")

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
        if press_licence and not general and press_licence * 2 >= total:
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
    pages: Iterable[PageSignals | Mapping[str, Any]],
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
