"""The document model shared by every store backend."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FACET_FIELDS", "Document", "document_id"]

#: Fields that facet counts and filters work on, in every backend.
FACET_FIELDS = ("source", "site", "kind", "flags", "review_status", "lang", "section")


def document_id(canonical_url: str) -> str:
    """Stable id for a canonical URL: re-crawls update the same document."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:24]


@dataclass(slots=True)
class Document:
    """One stored post or article, with its analysis.

    Text fields hold normalised text (NFC, one tone-mark convention). Dates are ISO 8601
    strings with a UTC offset. ``analysis`` is the JSON form of :mod:`analysis` results
    (covid, claim, entities...), kept opaque here so the index does not depend on its shape.
    """

    id: str
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
    first_seen: str | None = None
    lang: str = "vi"
    content_hash: str = ""
    segmented: str = ""
    outlinks: list[str] = field(default_factory=list)
    engagement: dict[str, int] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    analysis: dict[str, Any] = field(default_factory=dict)
    review_status: str = "none"
    cluster_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})
