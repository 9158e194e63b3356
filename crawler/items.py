"""The item a spider yields for each post or article it collects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PostItem"]


@dataclass(slots=True)
class PostItem:
    """A collected post, before normalisation and analysis (see ``crawler.pipelines``)."""

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
    site_name: str = ""
    outlinks: list[str] = field(default_factory=list)
    engagement: dict[str, int] = field(default_factory=dict)
    #: Per-page newspaper-style signals (``analysis.site_style.page_signals``), as a dict.
    page_signals: dict[str, Any] = field(default_factory=dict)
    #: Filled by ``AnalysePipeline``: the JSON form of ``analysis.analyse``'s result.
    analysis: dict[str, Any] = field(default_factory=dict)
