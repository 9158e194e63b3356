"""Document stores: the embedded SQLite/FTS5 default and Elasticsearch."""

from index.documents import FACET_FIELDS, Document, document_id
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
    "Bucket",
    "BulkIndexError",
    "ConflictError",
    "Document",
    "Hit",
    "LeaseError",
    "NotFound",
    "QuerySyntaxError",
    "ReviewError",
    "SearchError",
    "SearchRequest",
    "SearchResponse",
    "Store",
    "StoreUnavailable",
    "UpsertResult",
    "document_id",
]
