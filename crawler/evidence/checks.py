"""Takedown checks: is a confirmed or watched post still online, changed, or gone?

:func:`classify` is pure: given what a re-fetch returned (or that it failed) and the text
captured when the post was flagged, it decides one of
:data:`~index.evidence.CHECK_STATUSES`:

* ``removed``: HTTP 404 or 410, or a page whose text says the content is not available
  (``evidence.removed_patterns``), or a redirect to a page that is no longer the post;
* ``unreachable``: no answer after the retries, or a server error (5xx) on the last try;
* ``online-unchanged`` / ``online-changed``: the post's text compared with the captured
  text (whitespace-insensitive); a change carries a unified diff.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.text import normalize_text
from index.evidence import text_diff, text_digest

__all__ = ["Verdict", "classify", "page_text"]


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    detail: str = ""
    diff: str = ""


def page_text(html: str, url: str) -> tuple[str, str]:
    """(article text, whole visible text) of a page, normalised as the crawl stores it."""
    from datetime import UTC, datetime

    from parsel import Selector

    from crawler.extract.article import extract_page

    page = extract_page(html, url, fetched_at=datetime.now(UTC), article_pattern=None)
    visible = " ".join(
        Selector(text=html or "<html></html>")
        .xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]")
        .getall()
    )
    return normalize_text(page.text or ""), normalize_text(" ".join(visible.split()))


def classify(
    *,
    http_status: int | None,
    html: str,
    url: str,
    captured_text: str,
    redirected: bool,
    removed_patterns: tuple[str, ...],
    error: str = "",
) -> Verdict:
    if http_status is None:
        return Verdict("unreachable", error or "no response")
    if http_status in (404, 410):
        return Verdict("removed", f"HTTP {http_status}")
    if http_status >= 500:
        return Verdict("unreachable", f"HTTP {http_status}")
    if http_status >= 400:
        return Verdict("removed", f"HTTP {http_status}")
    article, visible = page_text(html, url)
    lowered = visible.lower()
    captured = normalize_text(captured_text)
    for pattern in removed_patterns:
        if pattern and pattern in lowered and captured[:200].lower() not in lowered:
            return Verdict("removed", f"page says {pattern!r}")
    if text_digest(article) == text_digest(captured) or (
        captured and " ".join(captured.split()) in " ".join(visible.split())
    ):
        return Verdict("online-unchanged")
    if redirected and not article:
        return Verdict("removed", f"redirected to a page without the post ({url})")
    diff = text_diff(captured, article or visible)
    return Verdict("online-changed", "text differs from the captured text", diff)
