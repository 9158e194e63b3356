"""Document stores: the embedded SQLite/FTS5 default and Elasticsearch."""

from index.documents import FACET_FIELDS, Document, Post, document_id
from index.errors import (
    BulkIndexError,
    ConflictError,
    LeaseError,
    NotFound,
    QuerySyntaxError,
    ReviewError,
    SearchError,
    StoreUnavailable,
)
from index.store import Bucket, Hit, SearchRequest, SearchResponse, Store, UpsertResult

__all__ = [
    "FACET_FIELDS",
    "STORE_SCHEMES",
    "Bucket",
    "BulkIndexError",
    "ConflictError",
    "Document",
    "Hit",
    "LeaseError",
    "NotFound",
    "Post",
    "QuerySyntaxError",
    "ReviewError",
    "SearchError",
    "SearchRequest",
    "SearchResponse",
    "Store",
    "StoreUnavailable",
    "UpsertResult",
    "document_id",
    "open_store",
]


#: URI scheme -> "module:Class" of the backend that serves it.
STORE_SCHEMES = {
    "sqlite": "index.sqlite:SqliteStore",
    "elasticsearch": "index.elastic:ElasticsearchStore",
}


def open_store(uri: str, **options: object) -> Store:
    """Open the store a URI names: ``sqlite:///path/index.db`` or ``elasticsearch+http://host:9200``.

    The scheme picks the backend (see ``STORE_SCHEMES``), so adding one never touches callers.
    """
    import importlib

    scheme, _, rest = uri.partition(":")
    backend, _, transport = scheme.partition("+")
    target = STORE_SCHEMES.get(backend)
    if target is None:
        raise StoreUnavailable(
            f"unknown store scheme {backend!r} in {uri!r} (known: {', '.join(STORE_SCHEMES)})"
        )
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if backend == "sqlite":
        return cls(rest.removeprefix("//") or ":memory:", **options)
    return cls(f"{transport or 'http'}:{rest}", **options)
