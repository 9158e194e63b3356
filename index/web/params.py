"""Search state <-> URL query string, and the histogram roll-up.

Everything an analyst sets on the search page lives in the query string, so a result set is
a bookmarkable, shareable URL and the export link is the same URL on ``/export``. Pure
functions only (no request or store objects).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from urllib.parse import urlencode

from index.query import period_start
from index.store import Bucket, SearchRequest

__all__ = [
    "FILTER_FIELDS",
    "MAX_BARS",
    "PAGE_SIZE",
    "SORTS",
    "ParamError",
    "SearchParams",
    "roll_up",
]

#: Filters the page offers (all facet fields of every backend).
FILTER_FIELDS = ("source", "site", "kind", "flags", "review_status")
SORTS = ("relevance", "newest", "oldest", "score")
PAGE_SIZE = 20
#: Deepest page reachable by paging (export the rest).
MAX_PAGE = 500
#: Most bars the histogram draws before rolling days up to weeks, then months.
MAX_BARS = 62
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ParamError(ValueError):
    """A query-string value the page cannot use; the message is shown to the analyst."""


def _date_param(value: str, name: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if not _DATE.match(value):
        raise ParamError(f"{name} must be a date like 2026-11-25 (got {value!r})")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise ParamError(f"{name} is not a real date: {value!r}") from exc
    return value


@dataclass(frozen=True, slots=True)
class SearchParams:
    """What the search page shows: query text, filters, dates, sort and page."""

    q: str = ""
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    date_from: str | None = None
    date_to: str | None = None
    sort: str = "relevance"
    page: int = 1
    #: Show one hit per near-duplicate cluster ("+12 copies").
    collapse: bool = False

    @classmethod
    def from_query(cls, items: Iterable[tuple[str, str]]) -> SearchParams:
        """From ``request.query_params.multi_items()``; raises :class:`ParamError`."""
        q = ""
        filters: dict[str, list[str]] = {}
        date_from = date_to = None
        sort = "relevance"
        page = 1
        collapse = False
        for key, value in items:
            if key == "q":
                q = value
            elif key in FILTER_FIELDS:
                if value and value not in filters.setdefault(key, []):
                    filters[key].append(value)
            elif key == "from":
                date_from = _date_param(value, "from")
            elif key == "to":
                date_to = _date_param(value, "to")
            elif key == "sort":
                if value and value not in SORTS:
                    raise ParamError(f"sort must be one of {', '.join(SORTS)}")
                sort = value or "relevance"
            elif key == "collapse":
                collapse = value == "1"
            elif key == "page":
                try:
                    page = int(value or 1)
                except ValueError as exc:
                    raise ParamError("page must be a number") from exc
                if not 1 <= page <= MAX_PAGE:
                    raise ParamError(f"page must be between 1 and {MAX_PAGE} (export for more)")
        if date_from and date_to and date_from > date_to:
            raise ParamError("'from' is after 'to'")
        return cls(
            q=q,
            filters={key: tuple(values) for key, values in filters.items() if values},
            date_from=date_from,
            date_to=date_to,
            sort=sort,
            page=page,
            collapse=collapse,
        )

    # -- to the store ----------------------------------------------------------------------

    def request(
        self, *, limit: int = PAGE_SIZE, facets: bool = False, histogram: str | None = None
    ) -> SearchRequest:
        return SearchRequest(
            query=self.q,
            filters={key: list(values) for key, values in self.filters.items()},
            date_from=self.date_from,
            date_to=self.date_to,
            sort=self.sort,  # type: ignore[arg-type]
            offset=(self.page - 1) * limit,
            limit=limit,
            facets=facets,
            histogram=histogram,
        )

    # -- back to URLs ----------------------------------------------------------------------

    def items(self) -> list[tuple[str, str]]:
        """Query-string pairs in a stable order; defaults left out (short URLs)."""
        pairs: list[tuple[str, str]] = []
        if self.q:
            pairs.append(("q", self.q))
        for key in FILTER_FIELDS:
            pairs.extend((key, value) for value in self.filters.get(key, ()))
        if self.date_from:
            pairs.append(("from", self.date_from))
        if self.date_to:
            pairs.append(("to", self.date_to))
        if self.sort != "relevance":
            pairs.append(("sort", self.sort))
        if self.page != 1:
            pairs.append(("page", str(self.page)))
        if self.collapse:
            pairs.append(("collapse", "1"))
        return pairs

    def query_string(self) -> str:
        return urlencode(self.items())

    def url(self, path: str = "/") -> str:
        query = self.query_string()
        return f"{path}?{query}" if query else path

    def export_url(self, fmt: str) -> str:
        """``/export`` of the whole result set (every page) in ``fmt`` (csv, jsonl)."""
        return "/export?" + urlencode([*self.with_page(1).items(), ("format", fmt)])

    def has_filter(self, key: str, value: str) -> bool:
        return value in self.filters.get(key, ())

    def with_filter(self, key: str, value: str) -> SearchParams:
        """Add ``key=value`` (back to page 1)."""
        if self.has_filter(key, value):
            return replace(self, page=1)
        filters = dict(self.filters)
        filters[key] = (*filters.get(key, ()), value)
        return replace(self, filters=filters, page=1)

    def without_filter(self, key: str, value: str) -> SearchParams:
        filters = {
            k: tuple(v for v in vs if not (k == key and v == value))
            for k, vs in self.filters.items()
        }
        return replace(self, filters={k: v for k, v in filters.items() if v}, page=1)

    def with_dates(self, date_from: str | None, date_to: str | None) -> SearchParams:
        return replace(self, date_from=date_from, date_to=date_to, page=1)

    def with_sort(self, sort: str) -> SearchParams:
        return replace(self, sort=sort, page=1)

    def with_page(self, page: int) -> SearchParams:
        return replace(self, page=page)

    def with_collapse(self, collapse: bool) -> SearchParams:
        return replace(self, collapse=collapse)

    @property
    def active_filters(self) -> list[tuple[str, str]]:
        return [(key, value) for key in FILTER_FIELDS for value in self.filters.get(key, ())]


def _period_end(start: date, interval: str) -> date:
    if interval == "day":
        return start
    if interval == "week":
        return start + timedelta(days=6)
    following = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return following - timedelta(days=1)


def roll_up(
    buckets: list[Bucket], max_bars: int = MAX_BARS
) -> tuple[str, list[tuple[str, str, int]]]:
    """Daily buckets -> ``(interval, [(first_day, last_day, count)])`` with at most ``max_bars``.

    Days become weeks (starting Monday), then months, whichever first fits; so a narrow result
    set shows days and five years of posts show months, from one daily query.
    """
    if not buckets:
        return "day", []
    first, last = date.fromisoformat(buckets[0].key), date.fromisoformat(buckets[-1].key)
    # Pick the interval from the span alone, then fold only the days that have posts (the
    # store's daily histogram is filled with empty days: years of them on a wide search).
    fits = (name for name in ("day", "week") if _periods(first, last, name) <= max_bars)
    interval = next(fits, "month")
    merged: dict[date, int] = {}
    for bucket in buckets:
        if bucket.count:
            key = period_start(date.fromisoformat(bucket.key), interval)
            merged[key] = merged.get(key, 0) + bucket.count
    bars = []
    start = period_start(first, interval)
    while start <= last:
        end = _period_end(start, interval)
        bars.append((start.isoformat(), end.isoformat(), merged.get(start, 0)))
        start = end + timedelta(days=1)
    return interval, bars


def _periods(first: date, last: date, interval: str) -> int:
    """How many ``interval`` periods the days ``first`` to ``last`` touch."""
    if interval == "day":
        return (last - first).days + 1
    if interval == "week":
        return (period_start(last, "week") - period_start(first, "week")).days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1
