"""Extraction on real Vietnamese news pages (tests/fixtures/realpages, sources in SOURCES.md).

Per page: title, authors (every person, nobody else), date to the minute, section, lead in
the body, body F1 and clutter; per site, body F1 against plain trafilatura on the same page;
the section fronts are not stored. The same pages are also read with their structured data
(JSON-LD, ``article:``/``og:type``/author meta) stripped, as older templates serve them, so
the visible-text path is held to the same fields.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trafilatura

from crawler.extract.article import ExtractedPage, extract_page
from crawler.extract.eval import Truth, body_f1, load_truths, read_negatives, read_page, score_page

ROOT = Path(__file__).parents[1] / "fixtures" / "realpages"
TRUTHS = load_truths(ROOT)
NEGATIVES = read_negatives(ROOT)
FETCHED_AT = datetime(2026, 3, 8, tzinfo=UTC)
#: Served from a local test server: the page's own address says nothing.
LOCAL = "http://127.0.0.1:8765/pages/{id}.html"
_STRUCTURED = (
    re.compile(r"<script[^>]*application/ld\+json[^>]*>.*?</script>", re.S | re.I),
    re.compile(
        r"<meta[^>]+(?:article:|og:type|pubdate|lastmod|datePublished|dateModified|"
        r"name=\"author\"|articleSection)[^>]*>",
        re.I,
    ),
)


def _extract(truth: Truth, *, strip: bool = False) -> ExtractedPage:
    html = read_page(ROOT, truth.id)
    if strip:
        for pattern in _STRUCTURED:
            html = pattern.sub("", html)
    return extract_page(html, LOCAL.format(id=truth.id), fetched_at=FETCHED_AT)


def _scores(truth: Truth, page: ExtractedPage):
    return score_page(
        truth,
        title=page.title,
        authors=page.authors,
        published=page.published_at,
        section=page.section,
        text=page.text,
    )


def test_the_fixture_set_is_complete():
    assert len(TRUTHS) == 13
    assert len({truth.site for truth in TRUTHS}) >= 9
    assert len(NEGATIVES) == 8


@pytest.mark.parametrize("truth", TRUTHS, ids=[t.id for t in TRUTHS])
def test_article_fields(truth: Truth):
    page = _extract(truth)
    scores = _scores(truth, page)
    assert page.is_article, page.evidence
    assert scores.title, page.title
    assert scores.authors_exact, (page.authors, truth.authors)
    assert scores.date, (page.published_at, truth.published)
    assert scores.section, (page.section, truth.section)
    assert scores.lead, page.text[:300]
    assert scores.f1 >= 0.97, scores.f1
    assert not scores.clutter


@pytest.mark.parametrize("truth", TRUTHS, ids=[t.id for t in TRUTHS])
def test_visible_text_alone_gives_the_same_fields(truth: Truth):
    """Without JSON-LD and article meta: the byline, date line and breadcrumb on the page."""
    page = _extract(truth, strip=True)
    scores = _scores(truth, page)
    assert page.is_article, page.evidence
    assert scores.title and scores.lead and not scores.clutter
    assert scores.authors_exact, (page.authors, truth.authors)
    assert scores.date, (page.published_at, truth.published)
    assert scores.section, (page.section, truth.section)
    assert scores.f1 >= 0.97


def test_body_at_least_as_good_as_plain_trafilatura_on_every_site():
    ours: dict[str, list[float]] = defaultdict(list)
    theirs: dict[str, list[float]] = defaultdict(list)
    for truth in TRUTHS:
        html = read_page(ROOT, truth.id)
        plain = trafilatura.bare_extraction(html, url=truth.url, with_metadata=True)
        ours[truth.site].append(_scores(truth, _extract(truth)).f1)
        theirs[truth.site].append(body_f1(plain.text or "", truth.body))
    mean = {site: sum(values) / len(values) for site, values in ours.items()}
    worse = {
        site: (round(mean[site], 3), round(sum(theirs[site]) / len(theirs[site]), 3))
        for site in ours
        if mean[site] < sum(theirs[site]) / len(theirs[site])
    }
    assert not worse
    assert sum(sum(v) for v in ours.values()) / len(TRUTHS) >= 0.97


def test_the_page_without_a_byline_gets_no_author():
    unsigned = [truth for truth in TRUTHS if not truth.authors]
    assert unsigned
    for truth in unsigned:
        assert _extract(truth).authors == []


def test_government_article_declared_website_is_kept():
    truth = next(t for t in TRUTHS if t.id == "baochinhphu-01")
    html = read_page(ROOT, truth.id)
    assert 'og:type" content="website"' in html
    assert _extract(truth).is_article


def test_header_date_bar_is_not_read_as_a_relative_date():
    """baodautu-01's header shows "Thứ Bảy, Ngày 07 tháng 03 năm 2026"; the article's own
    date is 07/03/2026 08:47, whatever the fetch time."""
    truth = next(t for t in TRUTHS if t.id == "baodautu-01")
    html = read_page(ROOT, truth.id)
    assert "Ngày 07 tháng 03 năm 2026" in html
    for fetched in (FETCHED_AT, datetime(2026, 11, 30, tzinfo=UTC)):
        page = extract_page(html, truth.url, fetched_at=fetched)
        assert page.published_at == truth.published


@pytest.mark.parametrize("name", sorted(NEGATIVES))
def test_section_fronts_are_not_articles(name: str):
    page = extract_page(
        NEGATIVES[name], f"http://127.0.0.1:8765/{name}.html", fetched_at=FETCHED_AT
    )
    assert not page.is_article, page.evidence
    assert len(page.outlinks) >= 20  # still followed for links
