"""The bench site: many article pages generated on request from a small corpus.

Page ``i`` is a pure function of ``i`` and the corpus (a seeded ``random.Random``), so a
crawl of thousands of pages costs no start-up time or memory, and two runs see the same
site.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

from crawler.demosite.model import Article, Section, SiteDef
from crawler.demosite.vndates import VN_TZ

__all__ = ["BENCH_HOST", "BenchCatalog", "bench_site"]

BENCH_HOST = "bench.localhost"
_NEWEST = datetime(2026, 11, 28, 8, 0, tzinfo=VN_TZ)
_SPACING = timedelta(minutes=7)
_VARIANTS = ("Cập nhật", "Toàn cảnh", "Góc nhìn", "Diễn biến", "Tiêu điểm", "Nhìn lại")


def bench_site(sections: Sequence[Section]) -> SiteDef:
    """The bench site's definition; it borrows the corpus site's sections."""
    return SiteDef(
        host=BENCH_HOST,
        name="Báo Thử Tải",
        kind="news",
        tagline="Trang sinh tự động để đo tốc độ thu thập",
        footer_lines=(
            "Giấy phép hoạt động báo điện tử số 999/GP-BTTTT (trang thử nghiệm)",
            "Tòa soạn: 1 Đường Thử, Hà Nội",
        ),
        editor_in_chief="Tổng biên tập: Nguyễn Văn Thử",
        sections=tuple(sections),
        byline_styles=("author", "theo", "author"),
    )


class BenchCatalog:
    """``pages`` generated articles numbered 1..pages; ids are the numbers (newest is 1)."""

    def __init__(self, pages: int, corpus: Sequence[Article], sections: Sequence[Section]):
        if pages < 1:
            raise ValueError("bench_pages must be at least 1")
        if not corpus:
            raise ValueError("the bench site needs a corpus of articles to recombine")
        self.pages = pages
        self._corpus = tuple(corpus)
        self._paragraphs = tuple(p for article in corpus for p in article.body)
        self._sections = tuple(sections) or tuple(
            dict.fromkeys(Section(a.section, a.section) for a in corpus)
        )
        self.site = bench_site(self._sections)

    @property
    def sections(self) -> tuple[Section, ...]:
        return self._sections

    def _section_of(self, number: int) -> str:
        return self._sections[(number - 1) % len(self._sections)].slug

    def _numbers(self, section: str | None) -> range:
        if section is None:
            return range(1, self.pages + 1)
        slugs = [s.slug for s in self._sections]
        if section not in slugs:
            return range(0)
        return range(slugs.index(section) + 1, self.pages + 1, len(slugs))

    def get(self, article_id: int) -> Article | None:
        if not 1 <= article_id <= self.pages:
            return None
        return _generate(self, article_id)

    def count(self, section: str | None = None) -> int:
        return len(self._numbers(section))

    def listing(self, section: str | None, offset: int, limit: int) -> list[Article]:
        numbers = self._numbers(section)[offset : offset + limit]
        return [_generate(self, number) for number in numbers]

    def last_modified(self) -> datetime:
        return _NEWEST

    def build(self, number: int) -> Article:
        """Article ``number``: corpus article ``number % len`` with recombined paragraphs."""
        rng = random.Random(number)
        base = self._corpus[number % len(self._corpus)]
        variant = _VARIANTS[(number // len(self._corpus)) % len(_VARIANTS)]
        body = tuple(rng.sample(self._paragraphs, k=min(len(self._paragraphs), rng.randint(4, 7))))
        published = _NEWEST - _SPACING * (number - 1)
        return Article(
            id=number,
            index=number,
            slug=f"{base.slug}-{_ascii(variant)}",
            section=self._section_of(number),
            title=f"{variant}: {base.title} (số {number})",
            sapo=base.sapo,
            author=self._corpus[rng.randrange(len(self._corpus))].author,
            published=published,
            modified=published,
            body=body,
            tags=base.tags,
            topic=base.topic,
        )


_ASCII = {"Cập nhật": "cap-nhat", "Toàn cảnh": "toan-canh", "Góc nhìn": "goc-nhin"}
_ASCII |= {"Diễn biến": "dien-bien", "Tiêu điểm": "tieu-diem", "Nhìn lại": "nhin-lai"}


def _ascii(variant: str) -> str:
    return _ASCII[variant]


@lru_cache(maxsize=4096)
def _generate(catalog: BenchCatalog, number: int) -> Article:
    return catalog.build(number)
