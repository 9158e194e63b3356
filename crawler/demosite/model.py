"""Value objects of the demo sites: site definitions, articles and social posts.

They are plain dataclasses so that site definitions stay data (YAML) and the ground truth
that tests compare crawl results against is easy to inspect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["Article", "Section", "SiteDef", "SocialPost"]

SiteKind = Literal["news", "social", "bench"]


@dataclass(frozen=True, slots=True)
class Section:
    """One menu section: its URL slug (``thoi-su``) and display name (``Thời sự``)."""

    slug: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteDef:
    """Everything that makes one demo site look like itself; loaded from ``sites.yaml``.

    ``footer_lines`` carry the licence, address and responsible-person lines a Vietnamese
    site prints at the bottom; ``editor_in_chief`` is its own line (``None`` when the site
    names no editor). ``byline_styles`` cycle over the articles (``author``, ``theo``,
    ``phong-vien``) so bylines do not all look alike.
    """

    host: str
    name: str
    kind: SiteKind = "news"
    tagline: str = ""
    footer_lines: tuple[str, ...] = ()
    editor_in_chief: str | None = None
    sections: tuple[Section, ...] = ()
    content_file: str = ""
    byline_styles: tuple[str, ...] = ("author",)
    show_source_credit: bool = False

    def section_name(self, slug: str) -> str:
        for section in self.sections:
            if section.slug == slug:
                return section.name
        return slug.replace("-", " ").capitalize()


@dataclass(slots=True, kw_only=True)
class Article:
    """One article as the site serves it.

    ``id`` is the stable number in the URL (``/<section>/<slug>-<id>.html``); ``index`` is
    the position in the content file and picks the presentation variant (date format,
    metadata in ``<head>`` or not, byline style). ``url`` is filled in by the server with
    the absolute canonical URL when the article is handed to callers.
    """

    id: int
    index: int
    slug: str
    section: str
    title: str
    sapo: str
    author: str
    published: datetime
    modified: datetime
    body: tuple[str, ...]
    tags: tuple[str, ...] = ()
    topic: str = ""
    source_credit: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    url: str = ""

    @property
    def path(self) -> str:
        return f"/{self.section}/{self.slug}-{self.id}.html"


@dataclass(slots=True, kw_only=True)
class SocialPost:
    """One post of the social feed, with its timestamp shifted to just before server start."""

    id: str
    author: str
    posted: datetime
    text: str
    likes: int
    comments: int
    shares: int
    extra: dict[str, Any] = field(default_factory=dict)
    url: str = ""

    @property
    def path(self) -> str:
        return f"/posts/{self.id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author": self.author,
            "posted": self.posted.isoformat(),
            "text": self.text,
            "likes": self.likes,
            "comments": self.comments,
            "shares": self.shares,
            "url": self.path,
        }
