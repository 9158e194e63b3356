"""The post model: one definition of a collected post's fields, shared by every stage.

:class:`Post` holds what a spider collects (URL, source, text, dates, outlinks, engagement).
The crawler's item (``crawler.items.PostItem``) is a ``Post`` plus what the crawl adds on the
way (page signals, the analysis); the stored :class:`Document` is a ``Post`` plus what the
store keeps (id, first seen, flags, scores, review status). The analysis reads a post through
the few fields it needs (``analysis.analyse.PostLike``) and never imports this module.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FACET_FIELDS", "Document", "Post", "document_id", "post_fields"]

#: Fields that facet counts and filters work on, in every backend.
FACET_FIELDS = ("source", "site", "kind", "flags", "review_status", "lang", "section")


def document_id(canonical_url: str) -> str:
    """Stable id for a canonical URL: re-crawls update the same document."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:24]


@dataclass(slots=True)
class Post:
    """A collected post or article: the fields every stage shares.

    Dates are ISO 8601 strings with a UTC offset; ``kind`` is "news" or "social";
    ``engagement`` counts use the keys ``likes``, ``comments``, ``shares``.
    """

    url: str
    canonical_url: str
    source: str
    site: str
    kind: str = "news"
    title: str = ""
    text: str = ""
    author: str = ""
    section: str = ""
    published_at: str | None = None
    fetched_at: str | None = None
    outlinks: list[str] = field(default_factory=list)
    engagement: dict[str, int] = field(default_factory=dict)


#: The names of :class:`Post`'s fields, in order.
POST_FIELDS = tuple(name for name in Post.__dataclass_fields__)


def post_fields(post: Post) -> dict[str, Any]:
    """The :class:`Post` fields of ``post`` (any stage's type), to build the next stage's."""
    return {name: getattr(post, name) for name in POST_FIELDS}


@dataclass(slots=True, kw_only=True)
class Document(Post):
    """One stored post or article, with its analysis.

    Text fields hold normalised text (NFC, one tone-mark convention). ``analysis`` is the
    JSON form of :mod:`analysis` results (covid, claim, entities...), kept opaque here so the
    index does not depend on its shape.
    """

    id: str
    first_seen: str | None = None
    lang: str = "vi"
    content_hash: str = ""
    segmented: str = ""
    flags: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    analysis: dict[str, Any] = field(default_factory=dict)
    review_status: str = "none"
    cluster_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {name: data[name] for name in _DOCUMENT_ORDER}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})


#: Key order of :meth:`Document.to_dict` (JSON exports and search copies), id first as ever.
_DOCUMENT_ORDER = (
    "id", "url", "canonical_url", "source", "site", "kind", "title", "text", "author",
    "section", "published_at", "fetched_at", "first_seen", "lang", "content_hash", "segmented",
    "outlinks", "engagement", "flags", "scores", "analysis", "review_status", "cluster_id",
)  # fmt: skip
