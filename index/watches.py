"""Watch queries and the alerts they raise, for every store.

An analyst saves a query-language query as a :class:`Watch` ("nước muối chữa covid",
``flags:claim site:tinnong.vn``...). Each time documents are stored, the store runs every
enabled watch against just those documents (:func:`check_watches`, called from
:func:`index.spread.after_upsert`) and records one :class:`Alert` per watch and matching
document; a document re-crawled later does not alert that watch again. Alerts are listed
in the UI and by ``misinfo alerts``; the crawler delivers the pending ones to a webhook
(``crawler/alerts.py``): the store only records them, so a slow receiver never holds a
write transaction.

Stores implement :class:`WatchStore` (SQLite tables of migration 0015; Elasticsearch
indices ``<prefix>-watches`` and ``<prefix>-alerts``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from index.documents import Document
from index.errors import QuerySyntaxError, SearchError
from index.query import parse_query
from index.review import format_time, utcnow
from index.store import SearchRequest

__all__ = [
    "MAX_ATTEMPTS",
    "Alert",
    "Watch",
    "WatchStore",
    "alert_for",
    "check_watches",
    "new_watch",
]

log = logging.getLogger(__name__)

#: Deliveries tried per alert before it stays undelivered (listed with its last error).
MAX_ATTEMPTS = 10
MAX_NAME = 200
MAX_QUERY = 2000
#: Documents checked against a watch per search.
WATCH_CHUNK = 500


@dataclass(slots=True, kw_only=True)
class Watch:
    """A saved query whose new matches raise alerts."""

    id: str
    name: str
    query: str
    created_by: str
    created_at: str
    enabled: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True, kw_only=True)
class Alert:
    """A document that matched a watch when it was stored."""

    #: ``<watch id>:<document id>``: one alert per watch and document.
    id: str
    watch_id: str
    doc_id: str
    #: What the webhook receives (:func:`alert_for`), as stored when the alert was raised.
    payload: dict[str, Any]
    created_at: str
    delivered_at: str | None = None
    attempts: int = 0
    last_error: str | None = None

    @property
    def pending(self) -> bool:
        return self.delivered_at is None and self.attempts < MAX_ATTEMPTS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class WatchStore(Protocol):
    """Watch and alert storage both built-in stores provide."""

    def watch_save(self, watch: Watch) -> None: ...

    def watch_list(self) -> list[Watch]:
        """Every watch, oldest first."""
        ...

    def watch_delete(self, watch_id: str) -> None:
        """Remove a watch (its alerts stay); ``NotFound`` if there is none."""
        ...

    def alerts_add(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Record alerts, skipping (watch, document) pairs that alerted before; return the
        new ones."""
        ...

    def alerts_list(
        self, *, limit: int = 50, offset: int = 0, pending: bool = False
    ) -> list[Alert]:
        """Alerts, newest first; ``pending``: only those still to deliver, oldest first."""
        ...

    def alerts_mark(
        self, alert_ids: Sequence[str], *, delivered_at: str | None, error: str | None
    ) -> None:
        """Record a delivery attempt: delivered (``delivered_at``) or failed (``error``)."""
        ...


def new_watch(name: str, query: str, user: str, now: datetime | None = None) -> Watch:
    """A watch for ``query``; ``QuerySyntaxError`` for a query the stores cannot run."""
    name, query = name.strip(), query.strip()
    if not query:
        raise QuerySyntaxError("a watch needs a query")
    if len(query) > MAX_QUERY or len(name) > MAX_NAME:
        raise QuerySyntaxError(
            f"a watch query is at most {MAX_QUERY} characters, its name {MAX_NAME}"
        )
    parse_query(query)
    stamp = format_time(now or utcnow())
    digest = hashlib.sha256(f"{query}\x1f{user}\x1f{stamp}".encode()).hexdigest()[:12]
    return Watch(
        id=f"w{digest}", name=name or query, query=query, created_by=user, created_at=stamp
    )


def alert_for(watch: Watch, doc: Document, cluster_size: int, now: datetime) -> Alert:
    """The alert ``doc`` raises for ``watch``, with the webhook's JSON payload."""
    stamp = format_time(now)
    return Alert(
        id=f"{watch.id}:{doc.id}",
        watch_id=watch.id,
        doc_id=doc.id,
        created_at=stamp,
        payload={
            "alert": f"{watch.id}:{doc.id}",
            "raised_at": stamp,
            "watch": {"id": watch.id, "name": watch.name, "query": watch.query},
            "document": {
                "id": doc.id,
                "title": doc.title,
                "url": doc.url,
                "site": doc.site,
                "source": doc.source,
                "kind": doc.kind,
                "author": doc.author,
                "published_at": doc.published_at,
                "first_seen": doc.first_seen,
                "flags": doc.flags,
                "scores": doc.scores,
                "excerpt": doc.text[:300],
                "cluster_id": doc.cluster_id,
                "cluster_size": cluster_size,
            },
        },
    )


def check_watches(store: Any, doc_ids: Sequence[str], now: datetime | None = None) -> list[Alert]:
    """Run every enabled watch against the documents ``doc_ids`` (just stored); record and
    return the new alerts. A watch whose query no longer runs is logged and skipped."""
    if not doc_ids or not isinstance(store, WatchStore):
        return []
    watches = [watch for watch in store.watch_list() if watch.enabled]
    if not watches:
        return []
    visible = getattr(store, "make_visible", None)
    if visible is not None:
        visible()  # Elasticsearch crawls write without refresh
    now = now or utcnow()
    ids = list(dict.fromkeys(doc_ids))
    alerts: list[Alert] = []
    for watch in watches:
        try:
            # A bulk import writes any number of documents: a search per chunk stays within
            # SQLite's bound variables and Elasticsearch's result window.
            for start in range(0, len(ids), WATCH_CHUNK):
                chunk = ids[start : start + WATCH_CHUNK]
                response = store.search(
                    SearchRequest(query=watch.query, ids=chunk, limit=len(chunk), highlight=False)
                )
                alerts += [
                    alert_for(watch, hit.document, hit.cluster_size, now) for hit in response.hits
                ]
        except (QuerySyntaxError, SearchError) as exc:
            log.warning("watch %s (%r) not checked: %s", watch.id, watch.query, exc)
            continue
    return store.alerts_add(alerts) if alerts else []
