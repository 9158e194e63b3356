"""Is this page one article? Decided by evidence, none of it required alone.

An article has a headline, a date and a body of real length; JSON-LD article types,
``og:type=article``, a lead and a byline add weight. Section fronts, tag pages and home
pages (teasers: a "body" of other articles' headline links, no headline or date of its
own; a canonical address at a site's root) and photo or video galleries (captions, little
prose) are followed for links but never stored. Some section fronts declare
``og:type=article`` and some government articles ``og:type=website``, so neither decides
alone. The address a page was fetched from is not evidence (beyond a site's root): a page
can be served from anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler.extract.html import split_url

__all__ = ["PageEvidence", "judge_page"]

#: Body characters (lead excluded) below which a page is never an article...
DEFAULT_MIN_BODY_CHARS = 200
#: ...and from which the body counts fully as evidence.
DEFAULT_FULL_BODY_CHARS = 600
#: A news brief: shorter, still an article when the rest agrees.
DEFAULT_SHORT_BODY_CHARS = 350
#: Evidence needed to be an article.
DEFAULT_THRESHOLD = 3.0
_HOME_PATH = re.compile(r"/?|/(?:index|default|home|trang-chu)\.\w+", re.I)
#: Teaser links per 1000 characters of body above which the body is a list of teasers.
DEFAULT_TEASER_DENSITY = 2.0


@dataclass(slots=True)
class PageEvidence:
    """What the extractor saw on the page."""

    url: str
    headline_matches_title: bool = False
    headline_element: bool = False
    has_date: bool = False
    body_chars: int = 0
    paragraphs: int = 0
    caption_chars: int = 0
    body_link_ratio: float = 0.0
    #: Links with a headline-like text (4+ words) inside the body element.
    teasers: int = 0
    #: The page's canonical or og:url is a site's root.
    declared_home: bool = False
    og_type: str = ""
    json_ld_article: bool = False
    json_ld_listing: bool = False
    json_ld_gallery: bool = False
    has_byline: bool = False
    has_lead: bool = False
    reasons: list[str] = field(default_factory=list)


def judge_page(evidence: PageEvidence) -> tuple[bool, float]:
    """``(is_article, score)``; ``evidence.reasons`` lists what counted."""
    reasons = evidence.reasons
    parts = split_url(evidence.url)
    path = (parts.path if parts else "") or "/"
    if _HOME_PATH.fullmatch(path):
        reasons.append("home page")
        return False, 0.0
    if evidence.body_chars < DEFAULT_MIN_BODY_CHARS:
        reasons.append(f"body {evidence.body_chars} chars")
        return False, 0.0
    score = 0.0

    def add(weight: float, reason: str) -> None:
        nonlocal score
        score += weight
        reasons.append(f"{reason} {weight:+g}")

    if evidence.body_chars >= DEFAULT_FULL_BODY_CHARS and evidence.paragraphs >= 2:
        add(1.5, "body")
    elif evidence.body_chars >= DEFAULT_SHORT_BODY_CHARS:
        add(1.0, "short body")
    else:
        add(0.5, "very short body")
    if evidence.headline_element and evidence.headline_matches_title:
        add(1.0, "headline")
    elif evidence.headline_element:
        add(0.5, "heading")
    if evidence.has_date:
        add(1.0, "date")
    if evidence.json_ld_article:
        add(1.0, "json-ld article")
    if evidence.og_type == "article":
        add(0.5, "og:type article")
    elif evidence.og_type.startswith(("video", "music")):
        add(-2.0, f"og:type {evidence.og_type}")
    if evidence.has_byline:
        add(0.5, "byline")
    if evidence.has_lead:
        add(0.5, "lead")
    if evidence.body_link_ratio >= 0.25:
        add(-2.0, f"body is {evidence.body_link_ratio:.0%} links")
    density = 1000 * evidence.teasers / max(evidence.body_chars, 1)
    if evidence.teasers >= 8 and density >= DEFAULT_TEASER_DENSITY:
        add(-2.5, f"{evidence.teasers} teaser links in the body")
    if evidence.declared_home:
        add(-2.0, "declares a home address")
    if evidence.json_ld_listing and not evidence.json_ld_article:
        add(-1.0, "json-ld listing")
    if evidence.json_ld_gallery and not evidence.json_ld_article:
        add(-1.0, "json-ld media")
    prose = evidence.body_chars - evidence.caption_chars
    if evidence.caption_chars > prose and (prose < 400 or evidence.paragraphs < 3):
        add(-2.0, "captions, little prose (gallery)")
    return score >= DEFAULT_THRESHOLD, score
