"""Turn one fetched HTML page into the fields of a post.

The page is parsed once. trafilatura locates the body (``extract_body``), which is then
read block by block with the lead (``extract_lead``) in front; metadata comes in order of
trust (``extract_meta``): JSON-LD, ``article:``/``og:``/``itemprop`` tags, ``<time>`` and the
byline near the headline, the visible text. Whether the page is an article is judged from
all of it (``extract_pagetype``). Per-site rules from the sources file (``extract_rules``)
replace a field's generic reading where a site needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.authors import OrgNames, split_names
from crawler.extract.body import Block, Located, locate_body, read_body
from crawler.extract.dates import parse_iso, parse_shown_date
from crawler.extract.html import clean_text, host_of, parse_html, split_url
from crawler.extract.jsonld import GALLERY_TYPES, LISTING_TYPES, read_linked_data
from crawler.extract.lead import find_lead
from crawler.extract.meta import (
    MetaTags,
    article_region,
    find_authors,
    find_dates,
    find_headline,
    find_section,
    read_meta,
)
from crawler.extract.pagetype import PageEvidence, judge_page
from crawler.extract.rules import SiteRules, select_elements, select_texts
from crawler.extract.urls import canonical_url, site_of

__all__ = ["ExtractedPage", "extract_page"]

_MAX_OUTLINKS = 500
_TITLE_SUFFIX = re.compile(r"\s+[|\-–—]\s+[^|\-–—]{2,60}$")
#: A closing block this short that only names people is the byline, not article text.
_SIGN_OFF_MAX = 80


@dataclass(slots=True)
class ExtractedPage:
    url: str
    canonical_url: str
    site: str
    title: str = ""
    #: Lead and body, one block per line.
    text: str = ""
    #: Every credited person, joined with ", " (``authors`` holds them apart).
    author: str = ""
    authors: list[str] = field(default_factory=list)
    lead: str = ""
    section: str = ""
    published_at: datetime | None = None
    modified_at: datetime | None = None
    site_name: str = ""
    is_article: bool = False
    #: Why the page was (not) judged an article: the evidence and its weights.
    evidence: list[str] = field(default_factory=list)
    outlinks: list[str] = field(default_factory=list)


def _outlinks(tree: HtmlElement, base: str) -> list[str]:
    links: dict[str, None] = {}
    seen: set[str] = set()
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if (
            not href
            or href in seen
            or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:"))
        ):
            continue
        seen.add(href)
        try:
            absolute = canonical_url(href, base=base)
        except ValueError:  # a malformed URL (bad port, bad IPv6) is not a link
            continue
        if absolute.startswith(("http://", "https://")):
            links[absolute] = None
        if len(links) >= _MAX_OUTLINKS:
            break
    return list(links)


def _canonical(tree: HtmlElement, url: str) -> str:
    canonical = canonical_url(url)
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            try:
                candidate = canonical_url(link.get("href"), base=url)
            except ValueError:
                break
            # A canonical link to another site is a syndication hint, not this page's identity.
            if site_of(candidate) == site_of(url):
                canonical = candidate
            break
    return canonical


def _drop(tree: HtmlElement, rules: SiteRules) -> None:
    for element in select_elements(tree, rules.drop):
        if element.getparent() is not None:
            element.drop_tree()


def _sign_off(blocks: list[Block], orgs: OrgNames) -> tuple[list[Block], list[str]]:
    """Closing blocks that only name the author(s) ("Lê Phương", "Hà Thu (tổng hợp)")."""
    names: list[str] = []
    while blocks:
        last = blocks[-1].text
        if len(last) > _SIGN_OFF_MAX or last.endswith(("!", "?", ":")) or last.count(".") > 2:
            break
        found = split_names(last, orgs)
        if not found or sum(len(n) for n in found) < 0.5 * len(re.sub(r"\(.*?\)", "", last)):
            break
        names = found + names
        blocks = blocks[:-1]
    return blocks, names


def _declared(tree: HtmlElement, meta: MetaTags) -> list[str]:
    """The addresses the page gives itself: ``og:url`` and ``<link rel=canonical>``."""
    addresses = [meta.get("og:url")]
    addresses += [
        link.get("href") or ""
        for link in tree.iter("link")
        if "canonical" in (link.get("rel") or "").lower().split()
    ]
    return [address.strip() for address in addresses if address and address.strip()]


def _own_hosts(tree: HtmlElement, meta: MetaTags, url: str) -> set[str]:
    """Hosts the page belongs to: where it was fetched from and where it says it lives."""
    hosts = {site_of(url)}
    for address in _declared(tree, meta):
        if host := host_of(address):
            hosts.add(host)
    return hosts


def _declares_home(tree: HtmlElement, meta: MetaTags) -> bool:
    """The page names a site root as its own address (canonical or og:url)."""
    for address in _declared(tree, meta):
        parts = split_url(address)
        if (
            parts
            and parts.scheme in ("http", "https")
            and parts.path in ("", "/")
            and not parts.query
        ):
            return True
    return False


def _rule_date(value: str, now: datetime) -> datetime | None:
    """A date a site rule selected: ISO (an attribute) or as printed."""
    if (iso := parse_iso(value, now=now)) is not None:
        return iso
    shown = parse_shown_date(value, now=now)
    return shown.value if shown is not None else None


def _inside(element: HtmlElement, containers: list[HtmlElement]) -> bool:
    ancestors = {*element.iterancestors(), element}
    return any(container in ancestors for container in containers)


def extract_page(
    html: str,
    url: str,
    *,
    fetched_at: datetime,
    article_pattern: re.Pattern[str] | None = None,
    rules: SiteRules | None = None,
) -> ExtractedPage:
    """Extract title, text, authors, dates, section and links from ``html`` fetched at ``url``."""
    tree = parse_html(html)
    if tree is None:
        return ExtractedPage(url=url, canonical_url=canonical_url(url), site=site_of(url))
    canonical = _canonical(tree, url)
    linked = read_linked_data(tree)
    meta = read_meta(tree)
    outlinks = _outlinks(tree, url)
    rules = rules or SiteRules()
    if rules.drop:
        _drop(tree, rules)
    etree.strip_elements(tree, "script", "style", "noscript", "template", with_tail=False)

    site_name = meta.get("og:site_name", "application-name")
    orgs = OrgNames(
        [site_name, *linked.organisations, meta.get("copyright"), meta.get("publisher")],
        site_of(canonical),
    )
    headline = find_headline(tree, linked, meta)
    title = headline.text
    if headline.element is None and headline.text and site_name:
        title = _TITLE_SUFFIX.sub("", title) if title.endswith(site_name) else title
    if rule_title := select_texts(tree, rules.title):
        title = rule_title[0]

    rule_body = select_elements(tree, rules.body)
    located = Located(rule_body, []) if rule_body else locate_body(tree, url=url)
    container = located.containers[0] if located.containers else None
    region = article_region(headline.element, container)

    byline = find_authors(linked, meta, region, orgs)
    authors = byline.names
    if rule_authors := select_texts(tree, rules.author):
        authors = [name for text in rule_authors for name in split_names(text, orgs)]
    dates = find_dates(linked, meta, tree, region, headline.element, container, fetched_at)
    published = dates.published
    if rule_dates := select_texts(tree, rules.published):
        published = _rule_date(rule_dates[0], fetched_at) or published
    section, section_elements = find_section(
        tree, linked, meta, headline.element, orgs, _own_hosts(tree, meta, url)
    )
    if rule_section := select_texts(tree, rules.section):
        section = rule_section[0]

    skip = {*byline.elements, *dates.elements, *section_elements}
    if headline.element is not None:
        skip.add(headline.element)
    descriptions = [
        meta.get("og:description"),
        meta.get("description"),
        meta.get("twitter:description"),
        linked.text("description"),
    ]
    lead = find_lead(headline.element, container, descriptions, skip)
    lead_text = lead.text if lead is not None else ""
    lead_element = lead.element if lead is not None else None
    if rule_lead := select_elements(tree, rules.lead):
        lead_element, lead_text = rule_lead[0], clean_text(rule_lead[0].text_content())
    if (
        lead_element is not None
        and located.containers
        and not _inside(lead_element, located.containers)
    ):
        skip.add(lead_element)

    body = read_body(located, skip=skip)
    blocks, signed = _sign_off(body.blocks, orgs)
    if not authors:
        authors = signed
    body_text = "\n".join(block.text for block in blocks)
    if lead_text and lead_text not in body_text:
        body_text = f"{lead_text}\n{body_text}" if body_text else lead_text
    prose_chars = sum(len(b.text) for b in blocks if b.text != lead_text)

    og_type = meta.get("og:type").lower()
    evidence = PageEvidence(
        url=canonical,
        headline_matches_title=headline.similarity >= 0.6,
        headline_element=headline.element is not None,
        has_date=published is not None,
        body_chars=prose_chars,
        paragraphs=sum(1 for b in blocks if b.kind == "p" and len(b.text) >= 40),
        caption_chars=sum(len(b.text) for b in blocks if b.kind == "caption"),
        body_link_ratio=body.link_ratio,
        teasers=body.teasers,
        declared_home=_declares_home(tree, meta),
        og_type=og_type,
        json_ld_article=linked.is_article,
        json_ld_listing=bool(linked.types & LISTING_TYPES),
        json_ld_gallery=bool(linked.types & GALLERY_TYPES),
        has_byline=bool(authors),
        has_lead=bool(lead_text),
    )
    is_article, _ = judge_page(evidence)
    if article_pattern is not None:
        is_article = bool(article_pattern.search(url))
    return ExtractedPage(
        url=url,
        canonical_url=canonical,
        site=site_of(canonical),
        title=clean_text(title),
        text=body_text.strip(),
        author=", ".join(authors),
        authors=authors,
        lead=lead_text,
        section=section,
        published_at=published,
        modified_at=dates.modified,
        site_name=site_name,
        is_article=is_article,
        evidence=evidence.reasons,
        outlinks=outlinks,
    )
