"""The store contract every backend implements (embedded SQLite, Elasticsearch).

Backends are picked by URI scheme through :func:`index.open_store`; callers depend on
:class:`Store` only. One contract test suite (``tests/test_store_contract.py``) runs
against each backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from index.documents import Document
from index.review import AuditEntry, ReviewItem

__all__ = [
    "Bucket",
    "Hit",
    "ReviewTransfer",
    "SearchRequest",
    "SearchResponse",
    "Store",
    "UpsertResult",
]

SortOrder = Literal["relevance", "newest", "oldest", "score"]


@dataclass(slots=True, kw_only=True)
class SearchRequest:
    """A search: query-language text plus structured filters.

    ``filters`` maps a facet field (see ``FACET_FIELDS``) to accepted values (OR within a
    field, AND across fields). ``date_from``/``date_to`` bound ``published_at`` (ISO dates,
    inclusive). ``histogram`` asks for a date histogram of ``published_at`` with that
    interval ("day", "week", "month"). ``ids`` (when not ``None``) keeps only those document
    ids (watch queries check just the documents a write stored).
    """

    query: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    date_from: str | None = None
    date_to: str | None = None
    sort: SortOrder = "relevance"
    offset: int = 0
    limit: int = 20
    facets: bool = False
    histogram: str | None = None
    highlight: bool = True
    ids: list[str] | None = None


@dataclass(slots=True)
class Hit:
    document: Document
    score: float = 0.0
    #: Highlighted snippet: a list of (text, is_match) pieces, never raw HTML.
    snippet: list[tuple[str, bool]] = field(default_factory=list)
    #: Documents in the hit's near-duplicate cluster (``document.cluster_id``), itself included.
    cluster_size: int = 1

    @property
    def snippet_text(self) -> str:
        return "".join(text for text, _ in self.snippet)


@dataclass(slots=True)
class Bucket:
    key: str
    count: int


@dataclass(slots=True)
class SearchResponse:
    total: int
    hits: list[Hit]
    facets: dict[str, list[Bucket]] = field(default_factory=dict)
    histogram: list[Bucket] = field(default_factory=list)


@dataclass(slots=True)
class UpsertResult:
    created: int = 0
    updated: int = 0
    #: Documents not written because the write would have moved them to another site
    #: (a document belongs to the site that served it; the store logs each refusal).
    refused: int = 0


@runtime_checkable
class Store(Protocol):
    """What the crawler, CLI and web UI need from a document store."""

    def upsert(self, documents: Iterable[Document]) -> UpsertResult:
        """Insert or replace documents by id, in bulk, and enqueue the flagged ones for review
        in the same write (the review step, :func:`index.review.review_items_for_documents`).

        A document already stored under another ``site`` is not replaced: the write is
        refused, logged and counted in ``UpsertResult.refused`` (whatever the spider, a
        page of one site never overwrites a document of another)."""
        ...

    def get(self, doc_id: str) -> Document | None: ...

    def content_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """Map each known id to its stored ``content_hash`` (unknown ids are absent)."""
        ...

    def search(self, request: SearchRequest) -> SearchResponse:
        """Run a query-language search; raises ``QuerySyntaxError`` on a bad query."""
        ...

    def scan(self, request: SearchRequest) -> Iterator[Document]:
        """Yield every matching document (no limit), in bounded memory."""
        ...

    def count(self) -> int: ...

    def counts_by(self, field_name: str) -> dict[str, int]:
        """Document counts per value of a facet field (e.g. documents per source)."""
        ...

    # -- site profiles -------------------------------------------------------------------
    def upsert_site(self, profile: dict[str, Any]) -> None:
        """Store a site profile; a flagged one is enqueued for review in the same write
        (:func:`index.review.review_items_for_site`)."""
        ...

    def get_site(self, site: str) -> dict[str, Any] | None: ...

    def list_sites(self) -> list[dict[str, Any]]: ...

    # -- review queues (rules and item life cycle: see index.review) -----------------------
    # Flagged documents and site profiles enter their queues automatically on upsert.

    def review_list(
        self, queue: str, *, status: str = "open", limit: int = 50, offset: int = 0
    ) -> list[ReviewItem]:
        """Items of ``queue`` ("covid", "claim", "site") with ``status`` ("open", "decided",
        "all"); open items highest priority first, decided ones latest first."""
        ...

    def review_counts(self) -> dict[str, dict[str, int]]:
        """``{queue: {"open": n, "decided": m}}``."""
        ...

    def review_get(self, item_id: str) -> ReviewItem:
        """The item; raises ``NotFound``."""
        ...

    def review_claim(
        self, item_id: str, user: str, *, lease_seconds: int = 900, now: datetime | None = None
    ) -> ReviewItem:
        """Lease the item to ``user``; ``LeaseError`` if someone else holds a live lease."""
        ...

    def review_decide(
        self,
        item_id: str,
        user: str,
        verdict: str,
        note: str = "",
        *,
        expected_version: str | int,
        now: datetime | None = None,
    ) -> ReviewItem:
        """Record a verdict; ``ConflictError`` if the item changed since ``expected_version``,
        ``ReviewError`` for a verdict the queue does not take."""
        ...

    def review_reopen(
        self,
        item_id: str,
        user: str,
        note: str = "",
        *,
        expected_version: str | int,
        now: datetime | None = None,
    ) -> ReviewItem:
        """Put a decided item back in its queue (the audit log keeps the old verdict)."""
        ...

    def review_history(self, item_id: str) -> list[AuditEntry]:
        """Every change to the item, oldest first (append-only)."""
        ...

    def drop(self) -> None:
        """Delete everything this store holds and close it (tests)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class ReviewTransfer(Protocol):
    """Optional migration hooks: raw export/import of review items and the audit log.

    Not part of the :class:`Store` contract (the crawler, CLI and web UI never call them);
    ``misinfo index migrate`` uses them to move the review state between backends as it
    is, which the review operations cannot do (they would re-stamp times and append new
    audit entries). Both built-in stores implement them.
    """

    def export_review_items(self) -> Iterator[ReviewItem]:
        """Every item as stored (``version`` is this store's token), least recently changed
        first."""
        ...

    def export_audit(self) -> Iterator[AuditEntry]:
        """Every audit entry in append order."""
        ...

    def import_review_items(self, items: Iterable[ReviewItem]) -> int:
        """Write items exactly as given (status, verdict, decision, lease, timestamps),
        replacing items with the same id; the target re-issues ``version`` (an optimistic
        concurrency token keeps its meaning: a version read before the import no longer
        matches). Targets' ``review_status`` follows. Returns the number written."""
        ...

    def import_audit(self, entries: Iterable[AuditEntry]) -> int:
        """Append entries in the given order (each item's history from its start), skipping
        entries an earlier import of the same stream wrote, so reruns are idempotent.
        Returns the number appended."""
        ...
