"""Extraction on synthetic pages in the styles of other Vietnamese sites and older templates
(tests/fixtures/vnstyles, see its README): the generic rules must hold beyond the real pages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import trafilatura

from crawler.extract.article import extract_page
from crawler.extract.eval import body_f1, load_truths, read_negatives, read_page, score_page

ROOT = Path(__file__).parents[1] / "fixtures" / "vnstyles"
TRUTHS = load_truths(ROOT)
NEGATIVES = read_negatives(ROOT)
FETCHED_AT = datetime(2026, 3, 8, tzinfo=UTC)


def test_styles_cover_many_sites_and_years():
    assert len(TRUTHS) >= 12
    assert len({truth.site for truth in TRUTHS}) >= 12
    assert min(truth.published.year for truth in TRUTHS if truth.published) <= 2013


@pytest.mark.parametrize("truth", TRUTHS, ids=[t.id for t in TRUTHS])
def test_every_field_of_a_page_in_another_sites_style(truth):
    html = read_page(ROOT, truth.id)
    page = extract_page(html, f"http://127.0.0.1:8765/{truth.id}.html", fetched_at=FETCHED_AT)
    scores = score_page(
        truth,
        title=page.title,
        authors=page.authors,
        published=page.published_at,
        section=page.section,
        text=page.text,
    )
    assert page.is_article, page.evidence
    assert scores.title, page.title
    assert scores.authors_exact, (page.authors, truth.authors)
    assert scores.date, (page.published_at, truth.published)
    assert scores.section, (page.section, truth.section)
    assert scores.lead, page.text[:200]
    assert not scores.clutter, scores.clutter
    plain = trafilatura.bare_extraction(html, url=truth.url, with_metadata=True)
    assert scores.f1 >= max(0.97, body_f1(plain.text or "", truth.body))


@pytest.mark.parametrize("name", sorted(NEGATIVES))
def test_home_tag_gallery_video_and_section_pages_are_not_stored(name):
    page = extract_page(
        NEGATIVES[name], f"http://127.0.0.1:8765/{name}.html", fetched_at=FETCHED_AT
    )
    assert not page.is_article, page.evidence
