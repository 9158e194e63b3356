"""The first item pipeline: what a page says is checked before anything else sees it.

A page is hostile input. An item whose URL is not an http(s) URL on the source's own hosts
is dropped: a source writes only documents of its own site, so a social post linking a
newspaper's article can never overwrite that article's document. Every other bad value
costs only itself: a date outside 1990 to a day after the fetch is dropped, an absurd
engagement count too, an overlong title or author is cut; each is noted on the item
(``notes``, stored with the document's analysis), logged and counted as
``mm/boundary/<what>`` stats. The page itself is kept.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from crawler.extract.urls import site_of
from crawler.extract.validate import (
    EARLIEST_DATE,
    HostPolicy,
    is_web_url,
    sane_date,
)
from crawler.items import PostItem
from crawler.resources.sources import source_policy

__all__ = ["MAX_AUTHOR_CHARS", "MAX_COUNT", "MAX_TITLE_CHARS", "BoundaryPipeline"]

log = logging.getLogger(__name__)

#: Longest title kept (a headline is under 300 characters; the rest is noted and cut).
MAX_TITLE_CHARS = 1000
#: Longest author or section kept.
MAX_AUTHOR_CHARS = 200
#: Largest engagement count believed (more than the world's population of accounts).
MAX_COUNT = 10**11
#: Links kept per item.
MAX_OUTLINKS = 500


class BoundaryPipeline:
    """Drop items that are not the source's to write; drop or cut bad fields, with a note."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._policy: HostPolicy | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BoundaryPipeline:
        if not crawler.settings.getbool("MM_BOUNDARY_ENABLED"):
            raise NotConfigured("MM_BOUNDARY_ENABLED is off")
        return cls(crawler)

    def policy(self) -> HostPolicy | None:
        """The running spider's source's hosts (``None`` for a spider without a source)."""
        if self._policy is None:
            spider = self.crawler.spider
            source = getattr(spider, "source", None)
            if source is not None:
                self._policy = source_policy(source)
            elif getattr(spider, "allowed_domains", None):
                self._policy = HostPolicy.for_source(spider.allowed_domains)
        return self._policy

    def process_item(self, item: PostItem) -> PostItem:
        policy = self.policy()
        for name in ("url", "canonical_url"):
            value = getattr(item, name)
            if not is_web_url(value):
                self._count("not_web_url")
                raise DropItem(f"{name} {value[:200]!r} is not an http(s) URL")
        if policy is not None and not policy.owns(item.canonical_url):
            self._count("not_owned")
            log.warning(
                "dropped %s: not on the hosts of source %r (a page may not write another "
                "site's document)",
                item.canonical_url[:200],
                item.source,
            )
            raise DropItem(f"{item.canonical_url[:200]} is not on the source's hosts")
        item.site = site_of(item.canonical_url)
        self._check_dates(item)
        self._check_engagement(item)
        self._check_lengths(item)
        item.outlinks = [link for link in item.outlinks if is_web_url(link)][:MAX_OUTLINKS]
        return item

    def _note(self, item: PostItem, what: str, message: str) -> None:
        item.notes.append(message)
        self._count(what)
        log.info("%s: %s", item.canonical_url[:200], message)

    def _count(self, what: str) -> None:
        self.crawler.stats.inc_value(f"mm/boundary/{what}")

    def _check_dates(self, item: PostItem) -> None:
        if not item.published_at:
            return
        fetched = _parse(item.fetched_at) or datetime.now(UTC)
        published = _parse(item.published_at)
        if published is None or sane_date(published, now=fetched) is None:
            self._note(
                item,
                "published_at_dropped",
                f"published_at {item.published_at[:40]!r} dropped: not a date between "
                f"{EARLIEST_DATE.isoformat()} and a day after the fetch",
            )
            item.published_at = None

    def _check_engagement(self, item: PostItem) -> None:
        counts = item.engagement if isinstance(item.engagement, dict) else {}
        kept = {}
        for name, value in counts.items():
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
                kept[name] = value
            else:
                self._note(item, "engagement_dropped", f"engagement {name!r} dropped: {value!r}")
        item.engagement = kept

    def _check_lengths(self, item: PostItem) -> None:
        for name, limit in (
            ("title", MAX_TITLE_CHARS),
            ("author", MAX_AUTHOR_CHARS),
            ("section", MAX_AUTHOR_CHARS),
        ):
            value = getattr(item, name) or ""
            if len(value) > limit:
                setattr(item, name, value[:limit])
                self._note(item, f"{name}_cut", f"{name} cut to {limit} of {len(value)} characters")


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except (ValueError, TypeError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
