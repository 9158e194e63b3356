"""Errors raised by the index layer.

Hierarchy::

    SearchError                  anything the index layer raises on purpose
    ├── QuerySyntaxError         a user query that cannot be parsed (message says where)
    │   └── QueryTooComplex      a query over the length, nesting or term limits
    ├── QueryTooExpensive        a search stopped at its time limit
    ├── StoreUnavailable         the backend cannot be reached (Elasticsearch down, file locked)
    ├── BulkIndexError           some documents of a bulk write were rejected (``errors`` lists them)
    ├── NotFound                 no document / review item with that id
    └── ReviewError              a review operation that is not allowed now
        ├── ConflictError        someone else changed the item first (optimistic concurrency)
        └── LeaseError           the item is claimed by someone else, or the lease expired
"""

from __future__ import annotations

__all__ = [
    "BulkIndexError",
    "ConflictError",
    "LeaseError",
    "NotFound",
    "QuerySyntaxError",
    "QueryTooComplex",
    "QueryTooExpensive",
    "ReviewError",
    "SearchError",
    "StoreUnavailable",
]


class SearchError(Exception):
    """Base of every error the index layer raises on purpose."""


class QuerySyntaxError(SearchError):
    """The query string is not valid query-language syntax."""


class QueryTooComplex(QuerySyntaxError):
    """The query is longer, nested deeper or holds more terms than a search may
    (:mod:`index.query_limits`)."""


class QueryTooExpensive(SearchError):
    """The search ran past its time limit and was stopped; a narrower query may pass."""


class StoreUnavailable(SearchError):
    """The store cannot be reached or opened."""


class BulkIndexError(SearchError):
    """Some documents in a bulk write were rejected; ``errors`` holds (doc id, reason) pairs."""

    def __init__(self, message: str, errors: list[tuple[str, str]]):
        super().__init__(message)
        self.errors = errors


class NotFound(SearchError):
    """No document or review item with that id."""


class ReviewError(SearchError):
    """A review operation that is not allowed in the item's current state."""


class ConflictError(ReviewError):
    """The item changed since it was read: another analyst acted first."""


class LeaseError(ReviewError):
    """The item is claimed by another analyst, or the caller's lease expired."""
