"""Evidence metadata on Elasticsearch: the ``evidence``, ``checks`` and ``watches`` aliases.

Files and checks are written with ``op_type=create`` only (a file id recorded twice keeps
its first record: archived evidence is immutable); a watch is one document per document
id. Audit entries are created in the ``audit`` alias beside review history, under
:func:`~index.evidence.audit_item_id`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError, helpers

from index.elastic_client import mapped_errors
from index.elastic_schema import IndexNames
from index.errors import SearchError
from index.evidence import Check, EvidenceFile, WatchState, audit_item_id
from index.review import AuditEntry

__all__ = ["ElasticEvidence"]

#: Hits per search request (Elasticsearch's default result window).
_MAX_HITS = 10_000


class _Clock:
    """Strictly increasing nanosecond stamps: the audit log's ``seq`` in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return self._last


_CLOCK = _Clock()


class ElasticEvidence:
    """:class:`~index.evidence.EvidenceStore` for an :class:`~index.elastic.ElasticsearchStore`."""

    def __init__(
        self,
        client: Elasticsearch,
        names: IndexNames,
        refresh: bool | str,
        ensure: Callable[[], None],
    ) -> None:
        self.client = client
        self.names = names
        # Evidence is written rarely and read back at once (the post page after a capture).
        self.refresh = refresh or "wait_for"
        self._ensure = ensure

    def _search(self, kind: str, query: dict[str, Any], sort: list[Any]) -> list[dict[str, Any]]:
        """Every hit, in ``sort`` order (which ends with a unique field): pages of
        :data:`_MAX_HITS` one after another (``search_after``), so a year's removal checks
        or a long watch list is never cut at the result window."""
        sources: list[dict[str, Any]] = []
        after: list[Any] | None = None
        while True:
            page = {"search_after": after} if after is not None else {}
            response = self.client.search(
                index=self.names.alias(kind), query=query, sort=sort, size=_MAX_HITS, **page
            )
            hits = response["hits"]["hits"]
            sources += [hit["_source"] for hit in hits]
            if len(hits) < _MAX_HITS:
                return sources
            after = hits[-1]["sort"]

    # -- files -----------------------------------------------------------------------------
    def add_files(self, files: list[EvidenceFile]) -> int:
        if not files:
            return 0
        self._ensure()
        actions = [
            {
                "_op_type": "create",
                "_index": self.names.alias("evidence"),
                "_id": item.id,
                "_source": item.to_dict(),
            }
            for item in files
        ]
        added = 0
        with mapped_errors("evidence add_files"):
            for ok, result in helpers.streaming_bulk(
                self.client, actions, raise_on_error=False, max_retries=3, refresh=self.refresh
            ):
                outcome = result.get("create", {})
                if ok:
                    added += 1
                elif outcome.get("status") != 409:  # 409: recorded before, kept as it was
                    raise SearchError(f"could not record evidence {outcome.get('_id')}: {outcome}")
        return added

    def files(self, doc_id: str | None = None, *, limit: int = 1000) -> list[EvidenceFile]:
        self._ensure()
        query = {"match_all": {}} if doc_id is None else {"term": {"doc_id": doc_id}}
        with mapped_errors("evidence files"):
            response = self.client.search(
                index=self.names.alias("evidence"),
                query=query,
                sort=[{"captured_at": "asc"}, {"id": "asc"}],
                size=min(limit, _MAX_HITS),
            )
        return [EvidenceFile.from_dict(hit["_source"]) for hit in response["hits"]["hits"]]

    def get_file(self, file_id: str) -> EvidenceFile | None:
        self._ensure()
        with mapped_errors("evidence get_file"):
            try:
                hit = self.client.get(index=self.names.alias("evidence"), id=file_id)
            except NotFoundError:
                return None
        return EvidenceFile.from_dict(hit["_source"])

    def docs_with_files(self, doc_ids: list[str], kind: str) -> set[str]:
        if not doc_ids:
            return set()
        self._ensure()
        found: set[str] = set()
        with mapped_errors("evidence docs_with_files"):
            for start in range(0, len(doc_ids), 1000):
                chunk = doc_ids[start : start + 1000]
                response = self.client.search(
                    index=self.names.alias("evidence"),
                    size=0,
                    query={
                        "bool": {"filter": [{"term": {"kind": kind}}, {"terms": {"doc_id": chunk}}]}
                    },
                    aggs={"docs": {"terms": {"field": "doc_id", "size": len(chunk)}}},
                )
                found.update(b["key"] for b in response["aggregations"]["docs"]["buckets"])
        return found

    # -- checks ----------------------------------------------------------------------------
    def add_check(self, check: Check) -> None:
        self._ensure()
        with mapped_errors("evidence add_check"):
            self.client.create(
                index=self.names.alias("checks"),
                id=check.id,
                document=check.to_dict(),
                refresh=self.refresh,
            )

    def checks(self, doc_id: str) -> list[Check]:
        self._ensure()
        with mapped_errors("evidence checks"):
            sources = self._search(
                "checks", {"term": {"doc_id": doc_id}}, [{"checked_at": "asc"}, {"id": "asc"}]
            )
        return [Check.from_dict(source) for source in sources]

    def first_removals_between(self, since: str, until: str) -> list[str]:
        self._ensure()
        with mapped_errors("evidence first_removals_between"):
            removed = self._search(
                "checks",
                {
                    "bool": {
                        "filter": [
                            {"term": {"status": "removed"}},
                            {"range": {"checked_at": {"lt": until}}},
                        ]
                    }
                },
                [{"checked_at": "asc"}, {"id": "asc"}],
            )
        first: dict[str, dict[str, Any]] = {}
        for check in removed:
            first.setdefault(check["doc_id"], check)
        return [c["id"] for c in first.values() if since <= c["checked_at"] < until]

    def last_checks(self, doc_ids: list[str]) -> dict[str, str]:
        if not doc_ids:
            return {}
        self._ensure()
        found: dict[str, str] = {}
        with mapped_errors("evidence last_checks"):
            for start in range(0, len(doc_ids), 1000):
                chunk = doc_ids[start : start + 1000]
                response = self.client.search(
                    index=self.names.alias("checks"),
                    size=0,
                    query={"terms": {"doc_id": chunk}},
                    aggs={
                        "docs": {
                            "terms": {"field": "doc_id", "size": len(chunk)},
                            "aggs": {"last": {"max": {"field": "checked_at"}}},
                        }
                    },
                )
                for bucket in response["aggregations"]["docs"]["buckets"]:
                    found[bucket["key"]] = _iso(bucket["last"]["value_as_string"])
        return found

    # -- watches ---------------------------------------------------------------------------
    def set_watch(self, doc_id: str, watched: bool, *, user: str, reason: str, at: str) -> None:
        self._ensure()
        with mapped_errors("evidence set_watch"):
            self.client.index(
                index=self.names.alias("watches"),
                id=doc_id,
                document={
                    "doc_id": doc_id,
                    "watched": watched,
                    "reason": reason,
                    "since": at,
                    "by": user,
                },
                refresh=self.refresh,
            )

    def _states(self, sources: list[dict[str, Any]]) -> list[WatchState]:
        last = self.last_checks([source["doc_id"] for source in sources])
        return [
            WatchState(
                doc_id=source["doc_id"],
                watched=bool(source["watched"]),
                reason=source.get("reason", ""),
                since=source.get("since", ""),
                by=source.get("by", ""),
                last_checked_at=last.get(source["doc_id"]),
            )
            for source in sources
        ]

    def watches(self) -> list[WatchState]:
        self._ensure()
        with mapped_errors("evidence watches"):
            sources = self._search(
                "watches", {"term": {"watched": True}}, [{"since": "asc"}, {"doc_id": "asc"}]
            )
        return self._states(sources)

    def watch_state(self, doc_id: str) -> WatchState | None:
        self._ensure()
        with mapped_errors("evidence watch_state"):
            try:
                hit = self.client.get(index=self.names.alias("watches"), id=doc_id)
            except NotFoundError:
                return None
        return self._states([hit["_source"]])[0]

    # -- migration -------------------------------------------------------------------------
    def _scan(self, kind: str) -> Iterator[dict[str, Any]]:
        self._ensure()
        with mapped_errors(f"evidence export {kind}"):
            for hit in helpers.scan(
                self.client, index=self.names.alias(kind), query={"query": {"match_all": {}}}
            ):
                yield hit["_source"]

    def export_files(self) -> Iterator[EvidenceFile]:
        for source in self._scan("evidence"):
            yield EvidenceFile.from_dict(source)

    def export_checks(self) -> Iterator[Check]:
        for source in self._scan("checks"):
            yield Check.from_dict(source)

    def export_watches(self) -> list[WatchState]:
        return self._states(list(self._scan("watches")))

    def import_checks(self, checks: Iterable[Check]) -> int:
        self._ensure()
        actions = (
            {
                "_op_type": "create",
                "_index": self.names.alias("checks"),
                "_id": check.id,
                "_source": check.to_dict(),
            }
            for check in checks
        )
        added = 0
        with mapped_errors("evidence import_checks"):
            for ok, result in helpers.streaming_bulk(
                self.client, actions, raise_on_error=False, max_retries=3, refresh=self.refresh
            ):
                outcome = result.get("create", {})
                if ok:
                    added += 1
                elif outcome.get("status") != 409:
                    raise SearchError(f"could not import check {outcome.get('_id')}: {outcome}")
        return added

    # -- audit -----------------------------------------------------------------------------
    def audit(self, entry: AuditEntry) -> None:
        self._ensure()
        with mapped_errors("evidence audit"):
            self.client.index(
                index=self.names.alias("audit"),
                op_type="create",
                document={
                    "item_id": entry.item_id,
                    "seq": _CLOCK.next(),
                    "at": entry.at,
                    "user": entry.user,
                    "action": entry.action,
                    "note": entry.note,
                    "before": entry.before,
                    "after": entry.after,
                },
                refresh=self.refresh,
            )

    def audit_history(self, doc_id: str) -> list[AuditEntry]:
        self._ensure()
        with mapped_errors("evidence audit_history"):
            sources = self._search(
                "audit", {"term": {"item_id": audit_item_id(doc_id)}}, [{"seq": "asc"}]
            )
        entries = []
        for source in sources:
            source = dict(source)
            source.pop("seq", None)
            entries.append(AuditEntry(**source))
        return entries


def _iso(value: str) -> str:
    """Elasticsearch prints dates as ``...T...Z`` with milliseconds; the stores keep
    ``+00:00`` seconds (what :func:`index.review.format_time` writes)."""
    return value.replace(".000Z", "+00:00").replace("Z", "+00:00")
