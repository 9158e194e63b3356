"""The item a spider yields for each post or article it collects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from index.documents import Post

__all__ = ["PostItem"]


@dataclass(slots=True, kw_only=True)
class PostItem(Post):
    """A collected :class:`~index.documents.Post` on its way through the pipelines
    (``crawler.pipelines``): normalised, analysed, then stored as a ``Document``."""

    #: The site's own name (``og:site_name``, the page's heading), for the site profile.
    site_name: str = ""
    #: Per-page newspaper-style signals (``analysis.page_signals.page_signals``), as a dict.
    page_signals: dict[str, Any] = field(default_factory=dict)
    #: Filled by ``AnalysePipeline``: the JSON form of ``analysis.analyse``'s result.
    analysis: dict[str, Any] = field(default_factory=dict)
