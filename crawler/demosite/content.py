"""Content of the demo sites: JSONL loading and the in-memory catalogue pages are built from.

Articles get a stable numeric id derived from host and slug (not from line order), so URLs
stay the same when a content file grows. A catalogue is shared by the server's handler
threads; :meth:`ArticleCatalog.update` swaps whole :class:`Article` objects under a lock so
a reader never sees half an edit.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import unicodedata
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from crawler.demosite.model import Article, Section, SiteDef, SocialPost
from crawler.demosite.sites import known_section_name
from crawler.demosite.vndates import VN_TZ, parse_iso

__all__ = [
    "ArticleCatalog",
    "Catalog",
    "ContentError",
    "load_articles",
    "load_posts",
    "shift_posts",
]

_ARTICLE_KEYS = {
    "slug",
    "section",
    "title",
    "sapo",
    "author",
    "published",
    "body",
    "tags",
    "topic",
    "source_credit",
}
_POST_KEYS = {"id", "author", "posted", "text", "likes", "comments", "shares"}


class ContentError(ValueError):
    """A content file is malformed; the message names the file and line."""


class Catalog(Protocol):
    """What page rendering needs from a news-like site (in-memory or generated)."""

    site: SiteDef

    @property
    def sections(self) -> tuple[Section, ...]: ...

    def get(self, article_id: int) -> Article | None: ...

    def count(self, section: str | None = None) -> int: ...

    def listing(self, section: str | None, offset: int, limit: int) -> list[Article]: ...

    def last_modified(self) -> datetime: ...


def _nfc(value: Any) -> str:
    return unicodedata.normalize("NFC", str(value)) if value is not None else ""


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ContentError(f"{path}:{number}: not valid JSON: {exc}") from exc
            if not isinstance(row, dict):
                raise ContentError(f"{path}:{number}: expected a JSON object")
            rows.append((number, row))
    return rows


def stable_id(host: str, slug: str) -> int:
    """A seven-digit number from host and slug, like the ids real CMSs put in URLs."""
    return 1_000_000 + zlib.crc32(f"{host}/{slug}".encode()) % 9_000_000


def load_articles(path: Path, host: str) -> list[Article]:
    """Read one site's articles from JSONL, in file order, with ids assigned."""
    articles: list[Article] = []
    used: set[int] = set()
    slugs: set[str] = set()
    for number, row in _read_jsonl(path):
        where = f"{path}:{number}"
        missing = {"slug", "section", "title", "published", "body"} - set(row)
        if missing:
            raise ContentError(f"{where}: missing fields {sorted(missing)}")
        slug = str(row["slug"])
        if slug in slugs:
            raise ContentError(f"{where}: duplicate slug {slug!r}")
        slugs.add(slug)
        body = row["body"]
        if isinstance(body, str):
            body = [part for part in body.split("\n\n") if part.strip()]
        try:
            published = parse_iso(str(row["published"]))
        except ValueError as exc:
            raise ContentError(f"{where}: bad 'published' {row['published']!r}") from exc
        article_id = stable_id(host, slug)
        while article_id in used:
            article_id += 1
        used.add(article_id)
        articles.append(
            Article(
                id=article_id,
                index=len(articles),
                slug=slug,
                section=str(row["section"]),
                title=_nfc(row["title"]),
                sapo=_nfc(row.get("sapo")),
                author=_nfc(row.get("author")),
                published=published,
                modified=published,
                body=tuple(_nfc(paragraph) for paragraph in body),
                tags=tuple(_nfc(tag) for tag in row.get("tags") or ()),
                topic=str(row.get("topic") or ""),
                source_credit=_nfc(row.get("source_credit")),
                extra={key: value for key, value in row.items() if key not in _ARTICLE_KEYS},
            )
        )
    return articles


class ArticleCatalog:
    """The articles of one news site, newest first, editable at run time."""

    def __init__(self, site: SiteDef, articles: Sequence[Article]) -> None:
        self.site = site
        self._lock = threading.Lock()
        self._by_id = {article.id: article for article in articles}
        self._by_slug = {article.slug: article.id for article in articles}
        ordered = sorted(articles, key=lambda a: (a.published, a.id), reverse=True)
        self._order = [article.id for article in ordered]
        self._section_order: dict[str, list[int]] = {}
        for article in ordered:
            self._section_order.setdefault(article.section, []).append(article.id)
        listed = {section.slug for section in site.sections}
        extra = [slug for slug in self._section_order if slug not in listed]
        self._sections = site.sections + tuple(
            Section(slug, known_section_name(slug)) for slug in extra
        )

    @property
    def sections(self) -> tuple[Section, ...]:
        return self._sections

    def get(self, article_id: int) -> Article | None:
        with self._lock:
            return self._by_id.get(article_id)

    def by_slug(self, slug: str) -> Article | None:
        with self._lock:
            article_id = self._by_slug.get(slug)
            return self._by_id.get(article_id) if article_id is not None else None

    def count(self, section: str | None = None) -> int:
        if section is None:
            return len(self._order)
        return len(self._section_order.get(section, ()))

    def listing(self, section: str | None, offset: int, limit: int) -> list[Article]:
        ids = self._order if section is None else self._section_order.get(section, [])
        with self._lock:
            return [self._by_id[i] for i in ids[offset : offset + limit]]

    def all(self) -> list[Article]:
        """Every article in content-file order."""
        with self._lock:
            return sorted(self._by_id.values(), key=lambda a: a.index)

    def last_modified(self) -> datetime:
        with self._lock:
            return max((a.modified for a in self._by_id.values()), default=_EPOCH)

    def update(
        self,
        slug: str,
        *,
        title: str | None = None,
        body: Sequence[str] | str | None = None,
        now: datetime | None = None,
    ) -> Article:
        """Change an article's title and/or body; its modified time becomes ``now``."""
        with self._lock:
            article_id = self._by_slug.get(slug)
            if article_id is None:
                raise KeyError(f"{self.site.host} has no article {slug!r}")
            old = self._by_id[article_id]
            changes: dict[str, Any] = {"modified": now or datetime.now(VN_TZ)}
            if title is not None:
                changes["title"] = _nfc(title)
            if body is not None:
                paragraphs = body.split("\n\n") if isinstance(body, str) else body
                changes["body"] = tuple(_nfc(p) for p in paragraphs if p.strip())
            new = dataclasses.replace(old, **changes)
            self._by_id[article_id] = new
            return new


_EPOCH = datetime(2020, 1, 1, tzinfo=VN_TZ)


def load_posts(path: Path) -> list[SocialPost]:
    """Read the social feed's posts from JSONL, in file order."""
    posts: list[SocialPost] = []
    seen: set[str] = set()
    for number, row in _read_jsonl(path):
        where = f"{path}:{number}"
        missing = {"id", "author", "posted", "text"} - set(row)
        if missing:
            raise ContentError(f"{where}: missing fields {sorted(missing)}")
        post_id = str(row["id"])
        if post_id in seen:
            raise ContentError(f"{where}: duplicate id {post_id!r}")
        seen.add(post_id)
        try:
            posted = parse_iso(str(row["posted"]))
        except ValueError as exc:
            raise ContentError(f"{where}: bad 'posted' {row['posted']!r}") from exc
        posts.append(
            SocialPost(
                id=post_id,
                author=_nfc(row["author"]),
                posted=posted,
                text=_nfc(row["text"]),
                likes=int(row.get("likes") or 0),
                comments=int(row.get("comments") or 0),
                shares=int(row.get("shares") or 0),
                extra={key: value for key, value in row.items() if key not in _POST_KEYS},
            )
        )
    return posts


def shift_posts(
    posts: Sequence[SocialPost], anchor: datetime, lead: timedelta = timedelta(minutes=10)
) -> list[SocialPost]:
    """Move all posts in time so the newest is ``lead`` before ``anchor``; newest first.

    Relative times in the feed ("5 phút trước") then mean something whenever the demo runs,
    while the spacing between posts stays as written.
    """
    if not posts:
        return []
    delta = (anchor - lead) - max(post.posted for post in posts)
    shifted = [
        dataclasses.replace(
            post, posted=(post.posted + delta).astimezone(VN_TZ).replace(microsecond=0)
        )
        for post in posts
    ]
    return sorted(shifted, key=lambda p: p.posted, reverse=True)
